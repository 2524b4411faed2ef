/**
 * ConcurrencyLimit waiters: woken in arrival order without polling, never shown RUNNING early,
 * cancelled, deduplicated, struck, listed by snapshot and dropped by clear.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, type ExecutionEvent, ExecutionState, task } from "../../mod.ts";
import { BACKENDS, connectDocket, waitUntil } from "../_harness.ts";
import { Gate, redisKeys, sleep, waitForState } from "./_support.ts";
import { heldByFirst, heldByKey, withWorker } from "./_concurrency.ts";

for (const kind of BACKENDS) {
  Deno.test(`concurrency [${kind}]: waiters are woken in arrival order`, async () => {
    await using docket = await connectDocket(kind);
    const { job, gate, started, ran: order } = heldByFirst(docket, "ordered");
    await withWorker(docket, { concurrency: 10 }, async () => {
      await docket.add(job, { key: "w0" })({ resource: "db", n: 0 });
      await started.opened;
      for (let n = 1; n <= 5; n++) {
        await docket.add(job, { key: `w${n}` })({ resource: "db", n });
        await waitForState(docket, `w${n}`, "scheduled");
      }
      // Parked: acknowledged off the stream, counted as waiting, never polling.
      assert.deepEqual(await docket.backend.counts(), { stream: 1, queue: 5 });
      gate.open();
      await waitUntil(() => order.length === 6, 10_000, "every task to run");
    });
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  Deno.test(`concurrency [${kind}]: a held-back task never shows RUNNING before it runs`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    let holderEnded = 0;
    let bodyStarted = 0;
    const job = task({
      name: "observed",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run(_p: { resource: string }, ctx) {
        if (ctx.key === "holder") {
          started.open();
          await gate.opened;
          holderEnded = Date.now();
        } else {
          bodyStarted = Date.now();
        }
      },
    });
    docket.register(job);
    await withWorker(docket, {}, async () => {
      await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      const blocked = await docket.add(job, { key: "blocked" })({ resource: "x" });
      const events: ExecutionEvent[] = [];
      const watching = (async () => {
        for await (const event of blocked.subscribe()) {
          events.push(event);
          if (event.type === "state" && event.state === "completed") break;
        }
      })();
      await waitForState(docket, "blocked", "scheduled");
      await sleep(100);
      const states = () =>
        events.flatMap((event) => event.type === "state" ? [event.state as string] : []);
      assert.ok(!states().includes("running"), `no running event yet: ${states()}`);
      gate.open();
      await watching;
      assert.equal(states().filter((s) => s === "running").length, 1, states().join(","));
      assert.deepEqual(states().slice(states().indexOf("running")), ["running", "completed"]);
      const running = events.find((e) => e.type === "state" && e.state === "running");
      assert.ok(running?.type === "state" && running.startedAt);
      assert.ok(running.startedAt.getTime() >= holderEnded, "running only after the holder ended");
      assert.ok(running.startedAt.getTime() <= bodyStarted, "running before the body starts");
    });
  });

  Deno.test(`concurrency [${kind}]: a waiting task can be cancelled and never runs`, async () => {
    await using docket = await connectDocket(kind);
    const { job, gate, started, ran } = heldByKey(docket, "cancellable");
    await withWorker(docket, {}, async () => {
      const holder = await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      const waiting = await docket.add(job, { key: "waiting" })({ resource: "x" });
      await waitForState(docket, "waiting", "scheduled");
      // While it waits, adding its key again is deduplicated.
      const again = await docket.add(job, { key: "waiting" })({ resource: "x" });
      assert.equal(again.disposition, "already_scheduled");
      await docket.cancel("waiting");
      await assert.rejects(waiting.getResult({ timeout: 2_000 }), {
        name: "ExecutionCancelledError",
      });
      gate.open();
      await holder.getResult({ timeout: 5_000 });
      await waitUntil(async () => (await docket.backend.counts()).queue === 0, 5_000, "drain");
      await sleep(50);
    });
    assert.deepEqual(ran, ["holder"]);
    assert.equal((await docket.backend.readRun("waiting"))?.state, ExecutionState.CANCELLED);
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: a woken waiter that is struck gives its slot on`, async () => {
    await using docket = await connectDocket(kind);
    const { job, gate, started, ran } = heldByFirst(docket, "strikeable");
    // The default lease (5 min): a reservation left behind would stall the last waiter.
    await withWorker(docket, {}, async () => {
      await docket.add(job, { key: "w0" })({ resource: "x", n: 0 });
      await started.opened;
      for (const n of [1, 2]) {
        await docket.add(job, { key: `w${n}` })({ resource: "x", n });
        await waitForState(docket, `w${n}`, "scheduled");
      }
      await docket.strike(job, "n", "==", 1);
      await waitUntil(() => docket.isStruck("strikeable", "w1", { resource: "x", n: 1 }));
      gate.open();
      await (await docket.getExecution("w2"))!.getResult({ timeout: 5_000 });
    });
    assert.deepEqual(ran, [0, 2]);
    assert.equal((await docket.backend.readRun("w1"))?.state, "cancelled");
  });

  Deno.test(`concurrency [${kind}]: snapshot lists parked tasks; clear drops them`, async () => {
    await using docket = await connectDocket(kind);
    const { job, gate, started, ran } = heldByKey(docket, "clearable");
    await withWorker(docket, {}, async () => {
      const holder = await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      for (const key of ["p1", "p2"]) {
        await docket.add(job, { key })({ resource: "x" });
        await waitForState(docket, key, "scheduled");
      }
      const snapshot = await docket.snapshot();
      assert.deepEqual(snapshot.future.map((e) => e.key).sort(), ["p1", "p2"]);
      assert.equal(snapshot.totalTasks, 3);
      assert.equal(await docket.clear(), 2);
      gate.open();
      await holder.getResult({ timeout: 5_000 });
    });
    assert.deepEqual(ran, ["holder"]);
    assert.equal((await docket.backend.readRun("p1"))?.state, "cancelled");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });
}
