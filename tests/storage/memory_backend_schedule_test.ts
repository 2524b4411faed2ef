/**
 * MemoryBackend scheduling and claiming: dedup and generations, queued and parked tasks, due
 * order, moveDue, claims (gated, blocked, woken, closed, timed out), redelivery and reschedule.
 */

import assert from "node:assert/strict";
import { decodeValue } from "../../src/codec.ts";
import { claimAll, collect, fresh, keys, request, settle, silent } from "./_memory.ts";

Deno.test("add dedups live keys; replace and re-add bump the generation", async () => {
  const backend = fresh();
  assert.deepEqual(await backend.schedule([request("a")], 1_000), ["scheduled"]);
  assert.deepEqual(await backend.schedule([request("a")], 1_000), ["exists"]);
  assert.equal((await backend.readRun("a"))?.generation, 1);

  await backend.schedule([request("a", { mode: "replace", when: 5_000 })], 1_000);
  const replaced = await backend.readRun("a");
  assert.equal(replaced?.generation, 2);
  assert.equal(replaced?.state, "scheduled");
  // The queued copy of generation 1 was removed; only the parked future copy remains.
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 1 });

  await backend.cancel("a", 1_000, 60_000);
  assert.deepEqual(await backend.schedule([request("a")], 1_000), ["scheduled"]);
  assert.equal((await backend.readRun("a"))?.generation, 3, "a terminal key can be added again");
  await backend.close();
});

Deno.test("immediate tasks are queued, future ones parked; moveDue moves at most limit", async () => {
  const backend = fresh();
  const states = await collect(backend, keys.stateChannel("later-1"));
  await backend.schedule([
    request("now"),
    request("later-1", { when: 3_000 }),
    request("later-2", { when: 3_000 }),
    request("later-3", { when: 9_000 }),
  ], 1_000);
  assert.equal((await backend.readRun("now"))?.state, "queued");
  assert.equal((await backend.readRun("later-1"))?.state, "scheduled");
  assert.deepEqual(await backend.counts(), { stream: 1, queue: 3 });

  assert.equal(await backend.moveDue(2_999, 10), 0);
  assert.equal(await backend.moveDue(3_000, 1), 1);
  assert.equal(await backend.moveDue(5_000, 10), 1);
  assert.deepEqual(await backend.counts(), { stream: 3, queue: 1 });
  assert.equal((await backend.readRun("later-1"))?.state, "queued");
  await settle();
  assert.deepEqual(states.messages, [
    { type: "state", key: "later-1", state: "scheduled", when: 3_000 },
    { type: "state", key: "later-1", state: "queued", when: 3_000 },
  ]);
  await states.stop();
  await backend.close();
});

Deno.test("claim marks a run running and publishes the running event", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const states = await collect(backend, keys.stateChannel("a"));
  const consumer = await backend.consumer("worker-1", silent);
  // Runs are stamped with the later of the caller's clock and the backend's (a claim that
  // waited stamps the time the message arrived); a clock ahead of now shows the caller's wins.
  const claimAt = Date.now() + 60_000;
  const claiming = claimAll(consumer, claimAt);
  // The claim happened inside the call; its event is only queued, never delivered inside it.
  assert.equal(states.messages.length, 0);
  const [delivery, ...rest] = await claiming;
  assert.equal(rest.length, 0);
  assert.equal(delivery.redelivered, false);
  assert.equal(delivery.message.key, "a");
  assert.equal(delivery.message.generation, 1);
  assert.deepEqual(decodeValue(delivery.message.data), { args: ["a"] });

  const run = await backend.readRun("a");
  assert.equal(run?.state, "running");
  assert.equal(run?.worker, "worker-1");
  assert.equal(run?.startedAt, claimAt);
  await settle();
  assert.deepEqual(states.messages, [
    {
      type: "state",
      key: "a",
      state: "running",
      worker: "worker-1",
      startedAt: claimAt,
      when: 1_000,
    },
  ]);
  const pending = await backend.pending(10);
  assert.equal(pending.stream[0].consumer, "worker-1");
  assert.equal(typeof pending.stream[0].deliveredAt, "number");
  await states.stop();
  await backend.close();
});

Deno.test("a gated message is delivered but not marked running", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  const deliveries = await consumer.claim({
    count: 10,
    blockMs: 0,
    now: 2_000,
    gated: (task) => task === "greet",
  });
  assert.equal(deliveries.length, 1);
  assert.equal((await backend.readRun("a"))?.state, "queued");
  await backend.close();
});

Deno.test("stale, cancelled and untracked-after-tombstone messages are dropped at claim", async () => {
  const backend = fresh();
  const untracked = { tracked: false };
  await backend.schedule([request("free", untracked), request("doomed", untracked)], 1_000);
  await backend.cancel("doomed", 1_000, 0); // no record: leaves a tombstone
  const consumer = await backend.consumer("worker-1", silent);
  const deliveries = await claimAll(consumer);
  assert.deepEqual(deliveries.map((d) => [d.message.key, d.message.generation]), [["free", 0]]);
  assert.equal(await backend.readRun("free"), undefined, "untracked tasks keep no record");
  assert.equal((await backend.readRun("doomed"))?.state, "cancelled");
  assert.deepEqual(await backend.counts(), { stream: 1, queue: 0 }, "dropped ones are deleted");
  await backend.close();
});

Deno.test("a blocked claim is woken at once by a schedule", async () => {
  const backend = fresh();
  const consumer = await backend.consumer("worker-1", silent);
  const started = Date.now();
  const claiming = consumer.claim({ count: 1, blockMs: 5_000, now: Date.now() });
  setTimeout(() => backend.schedule([request("a", { when: 0 })], Date.now()), 50);
  const deliveries = await claiming;
  const elapsed = Date.now() - started;
  assert.equal(deliveries.length, 1);
  assert.equal(deliveries[0].message.key, "a");
  assert.ok(elapsed < 1_000, `woke after ${elapsed} ms`);
  await backend.close();
});

Deno.test("a blocked claim is woken by moveDue and by reschedule", async () => {
  const backend = fresh();
  const consumer = await backend.consumer("worker-1", silent);
  await backend.schedule([request("a", { when: 3_000 })], 1_000);
  let claiming = consumer.claim({ count: 1, blockMs: 5_000, now: 4_000 });
  await backend.moveDue(3_000, 10);
  const [first] = await claiming;
  assert.equal(first.message.key, "a");

  claiming = consumer.claim({ count: 1, blockMs: 5_000, now: 4_000 });
  await backend.reschedule({ ...request("a"), id: first.id, when: 0, attempt: 2 }, 4_000);
  const [second] = await claiming;
  assert.equal(second.message.attempt, 2);
  assert.equal(second.message.generation, 2);
  assert.deepEqual(await backend.counts(), { stream: 1, queue: 0 }, "the first attempt was acked");
  await backend.close();
});

Deno.test("with several consumers blocked, each new entry goes to exactly one", async () => {
  const backend = fresh();
  const consumers = await Promise.all(
    ["w1", "w2", "w3"].map((name) => backend.consumer(name, silent)),
  );
  const claims = consumers.map((consumer) =>
    consumer.claim({ count: 1, blockMs: 5_000, now: 2_000 })
  );
  await backend.schedule([request("a"), request("b")], 1_000);
  const started = Date.now();
  const settled = await Promise.race([
    Promise.all(claims.slice(0, 2)),
    new Promise<"late">((resolve) => setTimeout(() => resolve("late"), 1_000)),
  ]);
  assert.notEqual(settled, "late", "two consumers should each take one entry at once");
  const taken = (settled as { message: { key: string } }[][]).flat().map((d) => d.message.key);
  assert.deepEqual(taken.sort(), ["a", "b"]);
  assert.ok(Date.now() - started < 1_000);
  // The third is still waiting, and is woken by the next entry.
  await backend.schedule([request("c")], 1_000);
  const [third] = await claims[2];
  assert.equal(third.message.key, "c");
  await backend.close();
});

Deno.test("closing a consumer ends its blocked claim", async () => {
  const backend = fresh();
  const consumer = await backend.consumer("worker-1", silent);
  const started = Date.now();
  const claiming = consumer.claim({ count: 1, blockMs: 5_000, now: 2_000 });
  await consumer.close();
  assert.deepEqual(await claiming, []);
  assert.ok(Date.now() - started < 1_000);
  await backend.schedule([request("a")], 1_000);
  // It takes nothing, and says so: answering "no work" at once would let a worker still running
  // on it claim again without ever yielding.
  await assert.rejects(claimAll(consumer), /the memory consumer is closed/);
  const other = await backend.consumer("worker-2", silent);
  assert.equal((await claimAll(other)).length, 1, "the message is still there for others");
  await backend.close();
});

Deno.test("a blocked claim times out after blockMs", async () => {
  const backend = fresh();
  const consumer = await backend.consumer("worker-1", silent);
  const started = Date.now();
  assert.deepEqual(await consumer.claim({ count: 1, blockMs: 60, now: 2_000 }), []);
  assert.ok(Date.now() - started >= 55);
  await backend.close();
});

Deno.test("entries idle longer than reclaimIdleMs are redelivered to another worker", async () => {
  const backend = fresh();
  await backend.schedule([request("a"), request("b")], 1_000);
  const dead = await backend.consumer("dead", silent);
  const alive = await backend.consumer("alive", silent);
  assert.equal((await claimAll(dead)).length, 2);
  assert.deepEqual(await claimAll(alive, 2_000, 1_000), [], "nothing is idle yet");

  await new Promise((resolve) => setTimeout(resolve, 60));
  const renewed = (await backend.pending(10)).stream[1].id;
  await dead.renew([renewed]); // b's lease is renewed; a's is not
  const taken = await claimAll(alive, 2_000, 50);
  assert.deepEqual(taken.map((d) => [d.message.key, d.redelivered]), [["a", true]]);
  const holders = (await backend.pending(10)).stream.map((entry) => entry.consumer);
  assert.deepEqual(holders, ["alive", "dead"]);
  await backend.close();
});

Deno.test("replacing a running task supersedes it; the old copy stays with its worker", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  const [old] = await claimAll(consumer);
  await backend.schedule([request("a", { mode: "replace" })], 1_500);
  assert.equal((await backend.readRun("a"))?.state, "queued");
  const [next] = await claimAll(consumer);
  assert.equal(next.message.generation, 2);
  assert.notEqual(next.id, old.id);
  // A reclaim of the old copy now finds it stale and drops it.
  const other = await backend.consumer("worker-2", silent);
  assert.deepEqual(
    (await claimAll(other, 3_000, 0)).map((d) => d.message.generation),
    [2],
    "generation 1 is dropped; generation 2 is still live and is taken over",
  );
  assert.deepEqual(await backend.counts(), { stream: 1, queue: 0 });
  await backend.close();
});

Deno.test("a reschedule to a later time parks the next attempt", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const [delivery] = await claimAll(await backend.consumer("w", silent));
  await backend.reschedule({ ...request("a"), id: delivery.id, when: 5_000, attempt: 2 }, 2_000);
  const run = await backend.readRun("a");
  assert.equal(run?.state, "scheduled");
  assert.equal(run?.attempt, 2);
  assert.equal(run?.generation, 2);
  const pending = await backend.pending(10);
  assert.deepEqual(pending.stream, []);
  assert.deepEqual(pending.queue.map((m) => [m.key, m.when, m.attempt]), [["a", 5_000, 2]]);
  await backend.close();
});

Deno.test("future tasks wait in due order, ties broken by key", async () => {
  const backend = fresh();
  await backend.schedule([
    request("c", { when: 5_000 }),
    request("b", { when: 3_000 }),
    request("a", { when: 5_000 }),
    request("d", { when: 4_000.4 }),
  ], 1_000);
  const queue = (await backend.pending(10)).queue;
  assert.deepEqual(queue.map((m) => [m.key, m.when]), [
    ["b", 3_000],
    ["d", 4_000],
    ["a", 5_000],
    ["c", 5_000],
  ]);
  assert.deepEqual((await backend.pending(2)).queue.map((m) => m.key), ["b", "d"]);
  await backend.close();
});
