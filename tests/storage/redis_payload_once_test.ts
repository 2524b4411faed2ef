/**
 * A tracked task's payload is stored once, in its runs record: its stream message carries no
 * payload field, and the claim (read_claim on the hot path, claim on the blocking and takeover
 * paths) hands the record's payload to the worker. Messages that still carry their payload, and
 * untracked messages (which always carry it), keep working, cancellation tombstones included.
 */

import assert from "node:assert/strict";
import { decodeValue, encodeValue, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";

const seen: unknown[] = [];
const echo = task({
  name: "echo",
  run: (payload: { text: string }) => {
    seen.push(payload.text);
    return payload.text;
  },
});

/** The field names of every message on the docket's stream. */
async function streamFields(backend: RedisBackend): Promise<string[][]> {
  const entries = await backend.send(["XRANGE", backend.keys.stream, "-", "+"]) as [
    string,
    string[],
  ][];
  return entries.map(([, flat]) => flat.filter((_, i) => i % 2 === 0));
}

for (const kind of BACKENDS) {
  Deno.test(`payload once [${kind}]: tracked tasks run with their payloads`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(echo);
    seen.length = 0;
    const one = await docket.add(echo, { key: "one" })({ text: "first" });
    await docket.addMany(echo)([{ text: "second" }, { text: "third" }]);
    await docket.add(echo, { key: "now", when: new Date(Date.now() - 10) })({ text: "fourth" });
    await new Worker(docket, { ...FAST, concurrency: 2 }).runUntilFinished();
    assert.deepEqual([...seen].sort(), ["first", "fourth", "second", "third"]);
    assert.equal(await one.getResult({ timeout: 5_000 }), "first");
  });
}

Deno.test("payload once [redis]: messages of tracked tasks carry no payload field", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  const big = "x".repeat(4096);
  await docket.add(echo, { key: "a" })({ text: big });
  await docket.addMany(echo)([{ text: big }]);
  await docket.add(echo, { key: "b", when: new Date(Date.now() - 10) })({ text: big });
  const fields = await streamFields(backend);
  assert.equal(fields.length, 3);
  for (const names of fields) assert.deepEqual(names, ["k", "t", "w", "a", "g"]);
  // The payload is in the runs record, once.
  const data = await backend.send(["HGET", backend.keys.runs("a"), "data"], true) as Uint8Array;
  assert.deepEqual(decodeValue(data), { text: big });
  // Listings still show it.
  const pending = await backend.pending(10);
  assert.equal(pending.stream.length, 3);
  for (const { message } of pending.stream) {
    assert.deepEqual(decodeValue(message.data), { text: big });
  }
});

Deno.test("payload once [redis]: the blocking read's claim fills the payload too", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  await docket.add(echo, { key: "k1" })({ text: "blocking" });
  const consumer = await docket.backend.consumer("reader", () => {});
  try {
    const deliveries = await consumer.claim({ count: 5, blockMs: 50, now: Date.now() });
    assert.equal(deliveries.length, 1);
    assert.deepEqual(decodeValue(deliveries[0].message.data), { text: "blocking" });
    const run = await docket.backend.readRun("k1");
    assert.equal(run?.state, "running");
  } finally {
    await consumer.close();
  }
});

Deno.test("payload once [redis]: a tracked message that still carries its payload runs", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  const keys = backend.keys;
  await backend.ensureGroup();
  // As older versions wrote it: the payload in the message and in the record.
  const data = encodeValue({ text: "old" });
  const when = String(Date.now());
  const id = await backend.send(
    ["XADD", keys.stream, "*", "k", "old", "t", "echo", "d", data, "w", when, "a", "1", "g", "1"],
  );
  await backend.send([
    "HSET",
    keys.runs("old"),
    "state",
    "queued",
    "key",
    "old",
    "task",
    "echo",
    "data",
    data,
    "when",
    when,
    "attempt",
    "1",
    "gen",
    "1",
    "sid",
    String(id),
  ]);
  seen.length = 0;
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(seen, ["old"]);
});

Deno.test("read_claim [redis]: tombstones stop untracked messages, in a mixed batch", async () => {
  await using docket = await connectDocket("redis", { executionTtl: 0 });
  await using tracked = await connectDocket("redis", { name: docket.name });
  docket.register(echo);
  tracked.register(echo);
  await docket.add(echo, { key: "ff-1" })({ text: "ff-1" });
  await docket.add(echo, { key: "ff-2" })({ text: "ff-2" });
  await tracked.add(echo, { key: "kept" })({ text: "kept" });
  await docket.cancel("ff-1");
  const consumer = await docket.backend.consumer("reader", () => {});
  try {
    // Work is waiting: a non-blocking claim, read and claimed in one call.
    const deliveries = await consumer.claim({ count: 10, blockMs: 0, now: Date.now() });
    const got = deliveries.map((d) => [d.message.key, decodeValue(d.message.data)]);
    assert.deepEqual(got.sort(), [["ff-2", { text: "ff-2" }], ["kept", { text: "kept" }]]);
    assert.equal((await docket.backend.readRun("kept"))?.state, "running");
    // The cancelled message was acknowledged and deleted.
    assert.equal((await docket.backend.counts()).stream, 2);
  } finally {
    await consumer.close();
  }
});

Deno.test("read_claim [redis]: gated tasks are not marked running before admission", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  await docket.add(echo, { key: "g1" })({ text: "g1" });
  await docket.add(echo, { key: "g2" })({ text: "g2" });
  const consumer = await docket.backend.consumer("reader", () => {});
  try {
    const gated = () => true;
    // The first sight of a task name goes through the claim script, the next through read_claim.
    const first = await consumer.claim({ count: 1, blockMs: 0, now: Date.now(), gated });
    const second = await consumer.claim({ count: 1, blockMs: 0, now: Date.now(), gated });
    assert.deepEqual([...first, ...second].map((d) => d.message.key), ["g1", "g2"]);
    for (const key of ["g1", "g2"]) {
      assert.equal((await docket.backend.readRun(key))?.state, "queued");
    }
    assert.deepEqual(decodeValue(second[0].message.data), { text: "g2" });
  } finally {
    await consumer.close();
  }
});

Deno.test("read_claim [redis]: stale and superseded messages are dropped", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  await docket.add(echo, { key: "r" })({ text: "one" });
  // Replaced: the first message is stale (older generation).
  await docket.replace(echo, { key: "r" })({ text: "two" });
  const consumer = await docket.backend.consumer("reader", () => {});
  try {
    const deliveries = await consumer.claim({ count: 10, blockMs: 0, now: Date.now() });
    assert.deepEqual(deliveries.map((d) => decodeValue(d.message.data)), [{ text: "two" }]);
    assert.equal((await docket.backend.counts()).stream, 1);
  } finally {
    await consumer.close();
  }
});
