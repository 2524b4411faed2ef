/**
 * The scripts of the hot path on Redis answer in their compact forms and still record exactly
 * what they did: read_claim's flat reply carries each entry with its own verdict (runnable,
 * dropped, unjudged) in a mixed batch; finish answers a bare count when every run was recorded
 * and writes the end, the TTL and the minute's stats as before; add_now answers a single add bare;
 * a read that cannot block travels on the main connection with the finish write it follows.
 */

import assert from "node:assert/strict";
import { decodeValue, encodeValue, task } from "../../mod.ts";
import { connectDocket } from "../_harness.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";
import { statsKey } from "../../src/storage/redis/events.ts";

const echo = task({ name: "echo", run: (payload: { text: string }) => payload.text });

Deno.test("read_claim [redis]: a mixed batch comes back entry by entry", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  const keys = backend.keys;
  await backend.ensureGroup();
  await docket.add(echo, { key: "first" })({ text: "one" });
  // A tracked message whose record does not carry its generation: stale, dropped by the script.
  await backend.send(
    ["XADD", keys.stream, "*", "k", "stale", "t", "echo", "w", "1", "a", "1"].concat(
      ["g", "7"],
    ),
  );
  // A message without the fields a task needs: left unjudged, dropped by the consumer.
  await backend.send(["XADD", keys.stream, "*", "k", "broken"]);
  // An untracked message, which carries its payload.
  await backend.send([
    "XADD",
    keys.stream,
    "*",
    "k",
    "loose",
    "t",
    "echo",
    "d",
    encodeValue({ text: "two" }),
    "w",
    "1",
    "a",
    "1",
    "g",
    "0",
  ]);
  await docket.add(echo, { key: "last" })({ text: "three" });
  const warnings: string[] = [];
  const consumer = await backend.consumer("reader", (message) => warnings.push(message));
  try {
    // Not blocking and at most 16: the read_claim path.
    const deliveries = await consumer.claim({ count: 8, blockMs: 0, now: Date.now() });
    assert.deepEqual(
      deliveries.map((d) => [d.message.key, d.message.generation, decodeValue(d.message.data)]),
      [["first", 1, { text: "one" }], ["loose", 0, { text: "two" }], ["last", 1, {
        text: "three",
      }]],
    );
    assert.deepEqual(warnings, ["Dropping a malformed message from the stream"]);
    // The stale and the malformed messages are gone; the three delivered ones stay pending.
    assert.equal(Number(await backend.send(["XLEN", keys.stream])), 3);
    const pending = await backend.send(["XPENDING", keys.stream, keys.group]) as unknown[];
    assert.equal(Number(pending[0]), 3);
    assert.equal((await backend.readRun("first"))?.state, "running");
    assert.equal((await backend.readRun("last"))?.state, "running");
    // An empty stream answers an empty batch.
    assert.deepEqual(await consumer.claim({ count: 8, blockMs: 0, now: Date.now() }), []);
  } finally {
    await consumer.close();
  }
});

Deno.test("finish [redis]: the end, its TTL and the minute's stats are recorded", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  await docket.add(echo, { key: "done" })({ text: "x" });
  const consumer = await backend.consumer("reader", () => {});
  try {
    const [delivery] = await consumer.claim({ count: 1, blockMs: 0, now: Date.now() });
    const started = Number((await backend.readRun("done"))?.startedAt);
    const now = started + 3;
    const ttl = 60_000;
    await backend.finish(
      [{ id: delivery.id, key: "done", generation: 1, state: "completed" }],
      now,
      ttl,
    );
    const record = await backend.send(
      ["HMGET", backend.keys.runs("done"), "state", "completed", "sid"],
    ) as (string | null)[];
    assert.deepEqual(record, ["completed", String(now), null]);
    const life = Number(await backend.send(["PTTL", backend.keys.runs("done")]));
    assert.ok(life > 0 && life <= ttl, `ttl ${life}`);
    assert.equal(Number(await backend.send(["XLEN", backend.keys.stream])), 0);
    const stats = await backend.send(["HGETALL", statsKey(backend.keys, now)]) as string[];
    const fields = Object.fromEntries(
      stats.flatMap((value, i) => i % 2 === 0 ? [[value, stats[i + 1]]] : []),
    );
    // 3 ms falls in bucket floor(2 * log2(3 + 1)) = 4.
    assert.deepEqual(fields, { completed: "1", d4: "1", depth: "0" });
  } finally {
    await consumer.close();
  }
});

Deno.test("add_now [redis]: single adds are answered one by one", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  const first = await docket.add(echo, { key: "once" })({ text: "a" });
  const again = await docket.add(echo, { key: "once" })({ text: "b" });
  assert.equal(first.disposition, "scheduled");
  assert.equal(again.disposition, "already_scheduled");
  // Adds sharing one call are answered entry by entry.
  const batch = await docket.schedule([
    { task: echo, payload: { text: "c" }, key: "once" },
    { task: echo, payload: { text: "d" }, key: "other" },
  ]);
  assert.deepEqual(batch.map((e) => e.disposition), ["already_scheduled", "scheduled"]);
  const [, flat] = (await backend.send(["XRANGE", backend.keys.stream, "-", "+"]) as [
    string,
    string[],
  ][])[0];
  assert.equal(flat[flat.indexOf("g") + 1], "1");
  assert.equal(await backend.send(["HGET", backend.keys.runs("once"), "gen"]), "1");
  assert.equal(Number(await backend.send(["XLEN", backend.keys.stream])), 2);
});

Deno.test("XREADGROUP [redis]: a read that cannot block goes on the main connection", async () => {
  await using docket = await connectDocket("redis", { executionTtl: 0 });
  docket.register(echo);
  const backend = docket.backend as RedisBackend;
  await backend.ensureGroup();
  await docket.addMany(echo)(Array.from({ length: 20 }, (_, i) => ({ text: String(i) })));
  const sentOnMain: string[] = [];
  const send = backend.send.bind(backend);
  backend.send = (args, binary) => {
    sentOnMain.push(String(args[0]));
    return send(args, binary);
  };
  const consumer = await backend.consumer("reader", () => {});
  try {
    // Work is waiting (more than read_claim takes): read beside the finish that freed the slots,
    // so the two share one write and one reply.
    const deliveries = await consumer.claim({ count: 20, blockMs: 0, now: Date.now() });
    assert.equal(deliveries.length, 20);
    assert.deepEqual(sentOnMain, ["XREADGROUP", "EXISTS"]);
    // A read that may wait for work blocks on the reader's own connection, never on the main.
    sentOnMain.length = 0;
    assert.deepEqual(await consumer.claim({ count: 20, blockMs: 20, now: Date.now() }), []);
    assert.deepEqual(sentOnMain, []);
  } finally {
    await consumer.close();
  }
});
