/**
 * Perpetual: a chain whose worker process is SIGKILLed mid-run resumes on another worker, with
 * exactly one successor and nothing of the killed run left pending (Redis only).
 */

import assert from "node:assert/strict";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";
import { crashChain, crashKeys } from "../fixtures/perpetual_crash_tasks.ts";
import { Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST, waitUntil } from "../_harness.ts";
import { startWorkerProcess } from "../_processes.ts";
import { record, signal, waitingCopies, within } from "./_support.ts";

Deno.test({
  name: "a perpetual whose worker is SIGKILLed mid-run resumes elsewhere, one successor [redis]",
  ignore: !BACKENDS.includes("redis"),
  async fn() {
    await using docket = await connectDocket("redis");
    const backend = docket.backend as RedisBackend;
    docket.register(crashChain);
    const keys = crashKeys(docket.name);
    const announced = signal<string>();
    const unsubscribe = await backend.subscribe(keys.running, (who) => announced.resolve(who));
    await docket.add(crashChain, { key: "chain" })({ n: 1 });

    const doomed = startWorkerProcess({
      docket,
      tasks: "tests/fixtures/perpetual_crash_tasks.ts",
      name: "doomed",
      args: ["--redelivery-timeout", "1s", "--log-level", "warn"],
    });
    try {
      const who = await within(announced.promise, 60_000, "the first run to start").catch(
        (error) => {
          throw new Error(`${error.message}; worker output:\n${doomed.output()}`);
        },
      );
      assert.equal(who, "doomed");
      doomed.kill("SIGKILL");
      assert.equal(await doomed.exited, 137, "killed by SIGKILL");

      // The run is orphaned: still recorded as running on the dead worker, its message pending.
      const orphan = await record(docket, "chain");
      assert.equal(orphan?.state, "running");
      assert.equal(orphan?.worker, "doomed");
      const generation = orphan!.generation!;

      const rescuer = new Worker(docket, { ...FAST, redeliveryTimeout: 1_000, name: "rescuer" });
      const running = rescuer.runForever();
      await waitUntil(
        async () => Number(await backend.send(["LLEN", keys.runs])) >= 5,
        20_000,
        "the chain to continue on the second worker",
      );
      await rescuer.stop();
      await running;

      const runs = (await backend.send(["LRANGE", keys.runs, "0", "-1"]) as string[])
        .map((entry) => JSON.parse(String(entry)));
      // The killed run, then the same message redelivered, then one run per generation.
      assert.deepEqual(runs[0], { n: 1, generation, attempt: 1, worker: "doomed" });
      assert.deepEqual(runs[1], { n: 1, generation, attempt: 1, worker: "rescuer" });
      runs.slice(2).forEach((run, i) => {
        assert.deepEqual(run, {
          n: i + 2,
          generation: generation + i + 1,
          attempt: 1,
          worker: "rescuer",
        });
      });
      // Exactly one successor waits, the next generation; nothing of the killed run is left.
      assert.equal(await waitingCopies(docket, "chain"), 1);
      const next = await record(docket, "chain");
      assert.equal(next?.generation, runs[runs.length - 1].generation + 1);
      assert.ok(next?.state === "scheduled" || next?.state === "queued", next?.state);
      const pending = await backend.send(["XPENDING", docket.keys.stream, docket.keys.group]);
      assert.equal(Number((pending as unknown[])[0]), 0, "no message is left pending");
    } finally {
      await doomed.stop("SIGKILL");
      await unsubscribe();
    }
  },
});
