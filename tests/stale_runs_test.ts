/**
 * A run that no longer owns its key (replaced or cancelled while it ran) neither retries nor
 * perpetuates: the write is conditional on its generation, in the same atomic step.
 */

import assert from "node:assert/strict";
import { Perpetual, Retry, task, Worker } from "../mod.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";

for (const kind of BACKENDS) {
  Deno.test(`a run replaced while it ran is not retried [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const calls: string[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const flaky = task({
      name: "flaky",
      retry: Retry({ attempts: 3 }),
      async run({ version }: { version: string }) {
        calls.push(version);
        if (version === "old") {
          started();
          await gate;
          throw new Error("old version fails");
        }
      },
    });
    docket.register(flaky);
    await docket.add(flaky, { key: "k" })({ version: "old" });
    const worker = new Worker(docket, FAST);
    const done = worker.runUntilFinished();
    await running;
    await docket.replace(flaky, { key: "k" })({ version: "new" });
    release();
    await done;
    assert.deepEqual(calls.sort(), ["new", "old"], "the old run was not retried");
  });

  Deno.test(`a perpetual run cancelled while it ran writes no successor [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const tick = task({
      name: "tick",
      perpetual: Perpetual({ every: 10 }),
      async run() {
        runs++;
        started();
        await gate; // ignores its signal on purpose
      },
    });
    docket.register(tick);
    await docket.add(tick, { key: "tick" })({});
    const worker = new Worker(docket, FAST);
    const done = worker.runUntilFinished();
    await running;
    await docket.cancel("tick");
    release();
    await done;
    assert.equal(runs, 1);
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
  });
}
