/**
 * A cancel published while the worker's subscription is down is lost; once the subscription is
 * back the worker reads the records of what it runs and aborts the tasks cancelled meanwhile. The
 * loss is staged at the subscription itself (the cancel message is dropped, then the restore is
 * reported), so the test does not depend on when a reconnection happens; the restore report
 * itself is tested over a real dropped connection in tests/storage/redis_resubscribe_test.ts.
 */

import assert from "node:assert/strict";
import { task, Worker } from "../../mod.ts";
import { cancelMissed } from "../../src/worker/missed_cancels.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";

type Subscribe = (
  channel: string,
  listener: (message: string) => void,
  onRestored?: () => void,
) => Promise<() => Promise<void>>;

for (const kind of BACKENDS) {
  Deno.test(`a cancel missed while the subscription was down aborts the run once it is back [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const outcomes: string[] = [];
    const patient = task({
      name: "patient",
      async run(_p: Record<string, never>, ctx) {
        started();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        outcomes.push(String(ctx.signal.reason?.name));
      },
    });
    docket.register(patient);
    const backend = docket.backend as unknown as { subscribe: Subscribe };
    const subscribe = backend.subscribe.bind(backend);
    let restore: (() => void) | undefined;
    let dropped = 0;
    backend.subscribe = (channel, listener, onRestored) => {
      if (channel !== docket.keys.cancelChannel) return subscribe(channel, listener, onRestored);
      restore = onRestored;
      // The connection is down: the cancel message never arrives.
      return subscribe(channel, () => dropped++, onRestored);
    };
    const execution = await docket.add(patient)({});
    // Were the run not aborted, the stop would cut it off (WorkerShutdown) after this long.
    const worker = new Worker(docket, { ...FAST, shutdownTimeout: 10_000 });
    const done = worker.runForever();
    await running;
    await docket.cancel(execution.key);
    await execution.sync();
    assert.equal(execution.state, "cancelled");
    assert.ok(restore, "the worker asked to hear of a restored subscription");
    restore();
    await worker.stop();
    await done;
    assert.deepEqual(outcomes, ["CancelledByRequest"], "the run was aborted as cancelled");
    assert.equal(dropped, 1, "the cancel message was published, and lost");
  });
}

Deno.test("only runs whose own record says cancelled are aborted", async () => {
  const delivery = (key: string, generation: number) => ({
    delivery: { message: { key, generation } },
  });
  const running = new Map([
    ["a", delivery("a", 1)],
    ["b", delivery("b", 1)],
    ["c", delivery("c", 1)],
    ["d", delivery("d", 1)],
  ]) as unknown as Parameters<typeof cancelMissed>[1];
  const records: Record<string, unknown> = {
    a: { state: "cancelled", generation: 1 },
    b: { state: "running", generation: 1 },
    c: { state: "cancelled", generation: 2 }, // another run under the key
  };
  const backend = { readRun: (key: string) => Promise.resolve(records[key]) } as never;
  const cancelled: string[] = [];
  await cancelMissed(backend, running, (key) => cancelled.push(key), () => {});
  assert.deepEqual(cancelled, ["a"]);
  const warnings: string[] = [];
  const failing = { readRun: () => Promise.reject(new Error("down")) } as never;
  await cancelMissed(failing, running, (key) => cancelled.push(key), (m) => warnings.push(m));
  assert.equal(warnings.length, 1, "a failed look is reported, not thrown");
});
