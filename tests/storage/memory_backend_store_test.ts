/**
 * MemoryBackend store: shared and isolated URLs, strikes, locks, the worker registry, stored
 * bytes as copies, and bad input refused.
 */

import assert from "node:assert/strict";
import { clearMemoryStores, MemoryBackend } from "../../src/storage/memory/backend.ts";
import { decodeValue, encodeValue } from "../../src/codec.ts";
import { claimAll, fresh, request, silent } from "./_memory.ts";

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

Deno.test("bad input is refused before anything is written", async () => {
  const backend = fresh();
  await assert.rejects(backend.schedule([request("a", { when: NaN })], 1_000), RangeError);
  assert.equal(await backend.readRun("a"), undefined);
  await assert.rejects(backend.tryLock("seed", "w", 0), RangeError);
  await assert.rejects(backend.readStrikes("not-an-id", 0), TypeError);
  await backend.close();
});
