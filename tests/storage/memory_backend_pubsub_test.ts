/**
 * MemoryBackend pub/sub and progress: exact progress under concurrent writers, subscribers
 * that throw, and subscriptions dropped on close.
 */

import assert from "node:assert/strict";
import { MemoryBackend } from "../../src/storage/memory/backend.ts";
import { collect, fresh, freshUrl, keys, request, settle } from "./_memory.ts";

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

Deno.test("a subscriber that throws is reported to warn and keeps listening", async () => {
  const warnings: string[] = [];
  const backend = MemoryBackend.forUrl(freshUrl(), "tests", (message) => {
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

Deno.test("a closed backend refuses further use and drops its subscriptions", async () => {
  const url = freshUrl();
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
