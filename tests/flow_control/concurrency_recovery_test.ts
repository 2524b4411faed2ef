/**
 * ConcurrencyLimit recovery: slots freed however a run ends, leases and dead holders taken over
 * on redelivery or by the stale-slot safeguard.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, Retry, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { redisKeys, sleep } from "./_support.ts";
import { admitOnDead, withWorker } from "./_concurrency.ts";

for (const kind of BACKENDS) {
  Deno.test(`concurrency [${kind}]: slots are freed however a run ends`, async () => {
    await using docket = await connectDocket(kind);
    const attempts = new Map<string, number>();
    const job = task({
      name: "ends",
      concurrency: ConcurrencyLimit({ max: 1 }),
      retry: Retry({ attempts: 2 }),
      timeout: 300,
      async run({ how }: { how: string }, ctx) {
        attempts.set(how, (attempts.get(how) ?? 0) + 1);
        if (how === "fail" || (how === "retry" && ctx.attempt === 1)) throw new Error(how);
        if (how === "timeout" && ctx.attempt === 1) await sleep(1_000);
        if (how === "cancel") {
          await docket.cancel(ctx.key);
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        }
        return how;
      },
    });
    docket.register(job);
    const hows = ["complete", "fail", "retry", "timeout", "cancel", "last"];
    const executions = await docket.addMany(job)(hows.map((how) => ({ how })));
    // With the default 5-minute lease, any slot left held would stall the rest.
    await new Worker(docket, { ...FAST, concurrency: 4 }).runUntilFinished();
    const states = await Promise.all(executions.map(async (e) => (await e.sync(), e.state)));
    assert.deepEqual(states, [
      "completed",
      "failed",
      "completed",
      "completed",
      "cancelled",
      "completed",
    ]);
    assert.equal(attempts.get("fail"), 2);
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: a dead holder's task is taken over on redelivery`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "taken_over",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      run: (_p: { resource: string }, ctx) => void ran.push(ctx.key),
    });
    docket.register(job);
    await docket.add(job, { key: "holder" })({ resource: "x" });
    // A worker that claims and admits the holder, then dies without releasing anything.
    const dead = await docket.backend.consumer("dead", () => {});
    const admitted = await admitOnDead(docket, dead, "concurrency:resource:x", 1, 300);
    assert.equal(admitted.outcome, "admitted");
    await dead.close();
    await docket.add(job, { key: "w1" })({ resource: "x" });
    await docket.add(job, { key: "w2" })({ resource: "x" });
    await new Worker(docket, { ...FAST, redeliveryTimeout: 300 }).runUntilFinished();
    assert.deepEqual([...ran].sort(), ["holder", "w1", "w2"]);
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: with no new arrivals the safeguard frees a dead slot`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "rescued",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      run: (_p: { resource: string }, ctx) => void ran.push(ctx.key),
    });
    docket.register(job);
    await docket.add(job, { key: "holder" })({ resource: "x" });
    const dead = await docket.backend.consumer("dead", () => {});
    await admitOnDead(docket, dead, "concurrency:resource:x", 1, 400);
    await dead.close();
    // Its record is gone too (cancelled): its redelivered message is dropped, so nothing
    // releases the slot; only the safeguard can.
    await docket.cancel("holder");
    await docket.add(job, { key: "w1" })({ resource: "x" });
    await docket.add(job, { key: "w2" })({ resource: "x" });
    const started = Date.now();
    await new Worker(docket, { ...FAST, redeliveryTimeout: 400 }).runUntilFinished();
    assert.deepEqual(ran, ["w1", "w2"]);
    assert.ok(Date.now() - started >= 250, "they waited for the slot to go stale");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: stale slots do not block a new arrival`, async () => {
    await using docket = await connectDocket(kind);
    let ran = 0;
    const job = task({
      name: "after_stale",
      concurrency: ConcurrencyLimit({ max: 2 }),
      run: () => void ran++,
    });
    docket.register(job);
    const dead = await docket.backend.consumer("dead", () => {});
    for (const key of ["d1", "d2"]) {
      await docket.add(job, { key })({});
      await admitOnDead(docket, dead, "concurrency:after_stale", 2, 300);
      await docket.cancel(key);
    }
    await dead.close();
    await sleep(350);
    await withWorker(docket, { redeliveryTimeout: 300 }, async () => {
      const added = Date.now();
      await (await docket.add(job)({})).getResult({ timeout: 5_000 });
      assert.ok(Date.now() - added < 2_000, "it ran at once");
    });
    assert.equal(ran, 1);
  });
}
