/**
 * The redelivery cap: a task whose workers vanished (stopped renewing its lease) more than
 * `maxRedeliveries` times is not run again; it ends FAILED as abandoned, naming those workers.
 * Vanished workers are played by consumers that claim the task and then go silent.
 */

import assert from "node:assert/strict";
import { type Docket, ExecutionState, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";

const LEASE = 150;

let ran = 0;
const victim = task({
  name: "victim",
  run: () => {
    ran++;
    return "ran";
  },
});
const ordinary = task({ name: "ordinary", run: ({ n }: { n: number }) => n });

/** `count` workers take the task over one after another and vanish without a trace. */
async function vanish(docket: Docket, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const ghost = await docket.backend.consumer(`ghost-${i}`, () => {});
    try {
      let taken = 0;
      while (taken === 0) {
        // The first takes it from the stream, the others from the one before (idle past the lease).
        const deliveries = await ghost.claim({
          count: 1,
          blockMs: 0,
          reclaimIdleMs: i === 1 ? undefined : LEASE,
          now: Date.now(),
        });
        taken = deliveries.length;
        if (taken === 0) await new Promise((resolve) => setTimeout(resolve, LEASE / 3));
      }
    } finally {
      await ghost.close();
    }
  }
}

for (const kind of BACKENDS) {
  Deno.test(`redelivery cap [${kind}]: abandoned past the cap, FAILED, workers named`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(victim);
    docket.register(ordinary);
    const execution = await docket.add(victim, { key: "doomed" })();
    await vanish(docket, 3);
    const others = await docket.addMany(ordinary)([{ n: 1 }, { n: 2 }]);
    ran = 0;
    const worker = new Worker(docket, { ...FAST, redeliveryTimeout: LEASE, maxRedeliveries: 2 });
    await worker.runUntilFinished();
    await assert.rejects(() => execution.getResult({ timeout: 5_000 }), (error: Error) => {
      assert.equal(error.name, "AbandonedTaskError");
      assert.match(error.message, /task doomed was abandoned 3 times by its workers/);
      assert.match(error.message, /\(ghost-1, ghost-2, ghost-3\)/);
      return true;
    });
    await execution.sync();
    assert.equal(execution.state, ExecutionState.FAILED);
    assert.equal(ran, 0, "an abandoned task is not run again");
    const { items } = await docket.failed();
    const kept = items.find((item) => item.key === "doomed");
    assert.ok(kept, "the abandoned task is in the dead-letter set");
    assert.match(JSON.stringify(kept), /AbandonedTaskError/);
    for (const other of others) assert.ok(await other.getResult({ timeout: 5_000 }));
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
  });

  Deno.test(`redelivery cap [${kind}]: up to the cap the task still runs`, async () => {
    await using docket = await connectDocket(kind, { maxRedeliveries: 2 });
    docket.register(victim);
    const execution = await docket.add(victim, { key: "survivor" })();
    await vanish(docket, 2);
    ran = 0;
    const worker = new Worker(docket, { ...FAST, redeliveryTimeout: LEASE });
    assert.equal(worker.maxRedeliveries, 2, "the docket's cap is the worker's default");
    await worker.runUntilFinished();
    assert.equal(await execution.getResult({ timeout: 5_000 }), "ran");
    assert.equal(ran, 1);
  });
}

Deno.test("maxRedeliveries: a negative or fractional cap is refused, naming the option", async () => {
  await using docket = await connectDocket("memory");
  assert.equal(new Worker(docket).maxRedeliveries, 3, "default 3");
  assert.throws(() => new Worker(docket, { maxRedeliveries: -1 }), /maxRedeliveries/);
  assert.throws(() => new Worker(docket, { maxRedeliveries: 1.5 }), /maxRedeliveries/);
  await assert.rejects(() => connectDocket("memory", { maxRedeliveries: -2 }), /maxRedeliveries/);
});
