import assert from "node:assert/strict";
import { clearMemoryStores, MemoryBackend } from "../../src/storage/memory/backend.ts";
import type { Consumer, ScheduleRequest } from "../../src/storage/backend.ts";
import { DocketKeys } from "../../src/keys.ts";
import { decodeValue, encodeValue } from "../../src/codec.ts";

const keys = new DocketKeys("tests");
const silent = () => {};

let urlCount = 0;
/** A backend on a URL no other test uses, so tests never see each other's data. */
function fresh(name = "tests"): MemoryBackend {
  return MemoryBackend.forUrl(`memory://test-${++urlCount}`, name);
}

function request(key: string, overrides: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    mode: "add",
    key,
    task: "greet",
    data: encodeValue({ args: [key] }),
    when: 1_000,
    attempt: 1,
    tracked: true,
    ...overrides,
  };
}

/** Lets queued microtasks (pub/sub deliveries) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Subscribes and collects parsed JSON messages (or raw strings for the cancel channel). */
async function collect(backend: MemoryBackend, channel: string, raw = false) {
  const messages: any[] = [];
  const stop = await backend.subscribe(
    channel,
    (message) => messages.push(raw ? message : JSON.parse(message)),
  );
  return { messages, stop };
}

async function claimAll(consumer: Consumer, now = 2_000, reclaimIdleMs?: number) {
  return await consumer.claim({ count: 10, blockMs: 0, now, reclaimIdleMs });
}

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
  assert.deepEqual(await claimAll(consumer), [], "a closed consumer takes nothing");
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

Deno.test("cancel removes a future task and publishes cancelled", async () => {
  const backend = fresh();
  await backend.schedule([request("a", { when: 5_000 })], 1_000);
  const states = await collect(backend, keys.stateChannel("a"));
  const cancels = await collect(backend, keys.cancelChannel, true);
  await backend.cancel("a", 2_000, 60_000);
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 0 });
  assert.deepEqual(await backend.pending(10), { stream: [], queue: [] });
  const run = await backend.readRun("a");
  assert.equal(run?.state, "cancelled");
  assert.equal(run?.completedAt, 2_000);
  assert.equal(await backend.moveDue(10_000, 10), 0, "nothing left to come due");
  await settle();
  assert.deepEqual(states.messages, [
    { type: "state", key: "a", state: "cancelled", completedAt: 2_000 },
  ]);
  assert.deepEqual(cancels.messages, ["a"]);
  await backend.close();
});

Deno.test("cancel removes a queued task, also one that came due via moveDue", async () => {
  const backend = fresh();
  await backend.schedule([request("queued"), request("due", { when: 3_000 })], 1_000);
  assert.equal(await backend.moveDue(3_000, 10), 1);
  assert.deepEqual(await backend.counts(), { stream: 2, queue: 0 });
  await backend.cancel("queued", 4_000, 0);
  await backend.cancel("due", 4_000, 0);
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 0 });
  assert.equal(await backend.readRun("queued"), undefined, "ttl 0 keeps no record");
  const consumer = await backend.consumer("worker-1", silent);
  assert.deepEqual(await claimAll(consumer), []);
  await backend.close();
});

Deno.test("cancelling a running task announces it on the cancel channel only", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  const [delivery] = await claimAll(consumer);
  const states = await collect(backend, keys.stateChannel("a"));
  const cancels = await collect(backend, keys.cancelChannel, true);
  await backend.writeProgress("a", 1, { increment: 1 }, 2_000);
  await backend.cancel("a", 3_000, 60_000);
  assert.equal((await backend.readRun("a"))?.state, "cancelled");
  assert.equal(await backend.readProgress("a"), undefined);
  // The running entry stays held by its worker until the worker finishes it.
  assert.equal((await backend.pending(10)).stream[0].id, delivery.id);
  await settle();
  assert.deepEqual(cancels.messages, ["a"]);
  assert.deepEqual(states.messages, [], "the worker publishes the terminal event itself");
  await backend.close();
});

Deno.test("cancelling an unknown key leaves a tombstone that expires", async () => {
  const backend = fresh();
  await backend.cancel("ghost", 1_000, 30);
  assert.equal((await backend.readRun("ghost"))?.state, "cancelled");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await backend.readRun("ghost"), undefined);
  await backend.close();
});

Deno.test("finish with ttl 0 deletes the record; with ttl > 0 keeps state and result", async () => {
  const backend = fresh();
  await backend.schedule([request("gone"), request("kept"), request("failed")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  const byKey = new Map((await claimAll(consumer)).map((d) => [d.message.key, d]));
  await backend.writeProgress("kept", 1, { total: 10, increment: 10 }, 1_500);
  const states = await collect(backend, keys.stateChannel("failed"));

  await backend.finish(
    [{ id: byKey.get("gone")!.id, key: "gone", generation: 1, state: "completed" }],
    2_000,
    0,
  );
  assert.equal(await backend.readRun("gone"), undefined);

  const result = encodeValue({ total: 42 });
  await backend.finish(
    [
      { id: byKey.get("kept")!.id, key: "kept", generation: 1, state: "completed", result },
      {
        id: byKey.get("failed")!.id,
        key: "failed",
        generation: 1,
        state: "failed",
        error: "Error: boom",
        failure: encodeValue({ name: "Error", message: "boom" }),
      },
    ],
    2_000,
    60_000,
  );
  const kept = await backend.readRun("kept");
  assert.equal(kept?.state, "completed");
  assert.equal(kept?.completedAt, 2_000);
  assert.equal(kept?.worker, "worker-1");
  assert.deepEqual(decodeValue(kept!.result!), { total: 42 });
  assert.equal(await backend.readProgress("kept"), undefined, "progress ends with the run");
  const failed = await backend.readRun("failed");
  assert.equal(failed?.error, "Error: boom");
  assert.deepEqual(decodeValue(failed!.failure!), { name: "Error", message: "boom" });
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 0 }, "finished entries are acked");
  await settle();
  assert.deepEqual(states.messages, [
    { type: "state", key: "failed", state: "failed", completedAt: 2_000, error: "Error: boom" },
  ]);
  await backend.close();
});

Deno.test("a superseded finish publishes its event but leaves the new record alone", async () => {
  const backend = fresh();
  await backend.schedule([request("a")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  const [old] = await claimAll(consumer);
  await backend.schedule([request("a", { mode: "replace", when: 9_000 })], 1_500);
  await backend.writeProgress("a", 2, { increment: 3 }, 1_600);
  const states = await collect(backend, keys.stateChannel("a"));
  await backend.finish(
    [{
      id: old.id,
      key: "a",
      generation: 1,
      state: "completed",
      result: encodeValue("old"),
    }],
    2_000,
    60_000,
  );
  const run = await backend.readRun("a");
  assert.equal(run?.state, "scheduled");
  assert.equal(run?.generation, 2);
  assert.equal(run?.result, undefined);
  assert.equal((await backend.readProgress("a"))?.current, 3, "the newer run's progress stays");
  await settle();
  assert.deepEqual(states.messages, [
    { type: "state", key: "a", state: "completed", completedAt: 2_000 },
  ]);
  await backend.close();
});

Deno.test("dockets on one URL share data; other URLs and docket names are isolated", async () => {
  clearMemoryStores();
  const producer = MemoryBackend.forUrl("memory://shared", "tests");
  const worker = MemoryBackend.forUrl("memory://shared", "tests");
  const otherName = MemoryBackend.forUrl("memory://shared", "other");
  const otherUrls = [
    MemoryBackend.forUrl("memory://", "tests"),
    MemoryBackend.forUrl("memory://b", "tests"),
  ];
  await producer.schedule([request("a")], 1_000);
  await producer.close();
  assert.equal((await worker.readRun("a"))?.state, "queued", "closing one leaves the data");
  const [delivery] = await claimAll(await worker.consumer("w", silent));
  assert.equal(delivery.message.key, "a");
  assert.equal(await otherName.readRun("a"), undefined);
  for (const other of otherUrls) assert.deepEqual(await other.counts(), { stream: 0, queue: 0 });
  await Promise.all([worker, otherName, ...otherUrls].map((backend) => backend.close()));

  clearMemoryStores();
  const after = MemoryBackend.forUrl("memory://shared", "tests");
  assert.equal(await after.readRun("a"), undefined, "clearMemoryStores forgets everything");
  await after.close();
  assert.throws(() => MemoryBackend.forUrl("redis://localhost", "tests"), TypeError);
});

Deno.test("progress increments are exact under 30 concurrent writers", async () => {
  const backend = fresh();
  const events = await collect(backend, keys.progressChannel("a"));
  await backend.writeProgress("a", 1, { total: 30, message: "starting" }, 1_000);
  await Promise.all(
    Array.from(
      { length: 30 },
      (_, i) => backend.writeProgress("a", 1, { increment: 1 }, 1_001 + i),
    ),
  );
  const progress = await backend.readProgress("a");
  assert.deepEqual(progress, { current: 30, total: 30, message: "starting", updatedAt: 1_030 });
  await settle();
  assert.equal(events.messages.length, 31);
  assert.deepEqual(
    events.messages.map((event) => event.current),
    Array.from({ length: 31 }, (_, i) => i),
  );
  assert.deepEqual(events.messages[0], {
    type: "progress",
    key: "a",
    current: 0,
    total: 30,
    updatedAt: 1_000,
    message: "starting",
  });
  const cleared = await backend.writeProgress("a", 1, { message: null }, 2_000);
  assert.deepEqual(cleared, { current: 30, total: 30, message: undefined, updatedAt: 2_000 });
  await assert.rejects(backend.writeProgress("a", 1, { increment: 0.5 }, 2_000), RangeError);
  await backend.close();
});

Deno.test("strikes are read from 0-0 and a blocked reader is woken by an append", async () => {
  const backend = fresh();
  assert.deepEqual(await backend.readStrikes("0-0", 0), []);
  const first = await backend.appendStrike(encodeValue({ action: "strike", task: "greet" }));
  const all = await backend.readStrikes("0-0", 0);
  assert.deepEqual(all.map((entry) => entry.id), [first]);
  assert.deepEqual(decodeValue(all[0].instruction), { action: "strike", task: "greet" });

  const started = Date.now();
  const reading = backend.readStrikes(first, 5_000);
  setTimeout(() => backend.appendStrike(encodeValue({ action: "restore" })), 20);
  const next = await reading;
  assert.ok(Date.now() - started < 1_000);
  assert.equal(next.length, 1);
  assert.deepEqual(decodeValue(next[0].instruction), { action: "restore" });
  assert.notEqual(next[0].id, first);
  assert.deepEqual(await backend.readStrikes(next[0].id, 0), [], "nothing after the newest");

  const blocked = backend.readStrikes(next[0].id, 5_000);
  await backend.close();
  assert.deepEqual(await blocked, [], "closing ends a blocked read");
});

Deno.test("tryLock is held until its ttl passes", async () => {
  const backend = fresh();
  assert.equal(await backend.tryLock("seed", "w1", 40), true);
  assert.equal(await backend.tryLock("seed", "w2", 40), false);
  assert.equal(await backend.tryLock("other", "w2", 40), true);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(await backend.tryLock("seed", "w2", 40), true);
  await backend.close();
});

Deno.test("clear drops waiting tasks but leaves delivered ones", async () => {
  const backend = fresh();
  await backend.schedule([request("running")], 1_000);
  const consumer = await backend.consumer("worker-1", silent);
  await claimAll(consumer);
  await backend.schedule([request("queued"), request("future", { when: 9_000 })], 1_000);
  assert.equal(await backend.clear(60_000), 2);
  assert.deepEqual(await backend.counts(), { stream: 1, queue: 0 });
  assert.equal((await backend.readRun("running"))?.state, "running");
  assert.equal((await backend.readRun("queued"))?.state, "cancelled");
  assert.equal((await backend.readRun("future"))?.state, "cancelled");
  await backend.close();
});

Deno.test("heartbeats register workers; stale ones are pruned", async () => {
  const backend = fresh();
  await backend.heartbeat("w1", ["b", "a"], 1_000, 500);
  await backend.heartbeat("w2", ["a"], 1_200, 500);
  assert.deepEqual(await backend.workers(1_300, 500), [
    { name: "w1", lastSeen: 1_000, tasks: ["a", "b"] },
    { name: "w2", lastSeen: 1_200, tasks: ["a"] },
  ]);
  assert.deepEqual((await backend.workers(1_300, 500, "b")).map((w) => w.name), ["w1"]);
  assert.deepEqual((await backend.workers(1_600, 500)).map((w) => w.name), ["w2"]);
  await backend.removeWorker("w2", ["a"]);
  assert.deepEqual(await backend.workers(1_600, 500), []);
  assert.deepEqual(await backend.workers(1_600, 500, "a"), []);
  await backend.close();
});

Deno.test("stored bytes are copies: callers cannot change them", async () => {
  const backend = fresh();
  const data = encodeValue("original");
  await backend.schedule([request("a", { data })], 1_000);
  data.fill(0);
  const run = await backend.readRun("a");
  run!.data!.fill(0);
  assert.equal(decodeValue((await backend.readRun("a"))!.data!), "original");
  const [delivery] = await claimAll(await backend.consumer("w", silent));
  assert.equal(decodeValue(delivery.message.data), "original");
  await backend.close();
});

Deno.test("a closed backend refuses further use and drops its subscriptions", async () => {
  const url = `memory://test-${++urlCount}`;
  const backend = MemoryBackend.forUrl(url, "tests");
  const other = MemoryBackend.forUrl(url, "tests");
  const states = await collect(backend, keys.stateChannel("a"));
  await backend.close();
  await backend.close();
  await other.schedule([request("a")], 1_000);
  await settle();
  assert.deepEqual(states.messages, []);
  await assert.rejects(backend.counts(), /closed/);
  await states.stop();
  await other.close();
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

Deno.test("finishing an untracked run only acknowledges it", async () => {
  const backend = fresh();
  await backend.schedule([request("free", { tracked: false })], 1_000);
  const states = await collect(backend, keys.stateChannel("free"));
  const [delivery] = await claimAll(await backend.consumer("w", silent));
  await backend.finish(
    [{ id: delivery.id, key: "free", generation: 0, state: "completed" }],
    2_000,
    60_000,
  );
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 0 });
  assert.equal(await backend.readRun("free"), undefined);
  await settle();
  assert.deepEqual(states.messages, []);
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

Deno.test("a subscriber that throws is reported to warn and keeps listening", async () => {
  const warnings: string[] = [];
  const backend = MemoryBackend.forUrl(`memory://test-${++urlCount}`, "tests", (message) => {
    warnings.push(message);
  });
  let heard = 0;
  await backend.subscribe(keys.stateChannel("a"), () => {
    heard++;
    throw new Error("listener bug");
  });
  await backend.schedule([request("a")], 1_000);
  await backend.cancel("a", 1_000, 0);
  await settle();
  assert.equal(heard, 2);
  assert.equal(warnings.length, 2);
  await backend.close();
});

Deno.test("bad input is refused before anything is written", async () => {
  const backend = fresh();
  await assert.rejects(backend.schedule([request("a", { when: NaN })], 1_000), RangeError);
  assert.equal(await backend.readRun("a"), undefined);
  await assert.rejects(backend.tryLock("seed", "w", 0), RangeError);
  await assert.rejects(backend.readStrikes("not-an-id", 0), TypeError);
  await backend.close();
});
