/**
 * Finishing a batch removes its messages from the stream, and only its own and those already
 * done: a batch is trimmed away (`XTRIM MINID`) up to the oldest message still pending anywhere
 * in the group, or up to the batch's newest message; what is pending elsewhere and what nobody
 * has read yet stays, and runs later exactly as before.
 */

import assert from "node:assert/strict";
import { task } from "../../mod.ts";
import { connectDocket, startRedisServer } from "../_harness.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";
import type { Delivery } from "../../src/storage/backend.ts";

const noop = task({ name: "noop", run: (_: { i: number }) => {} });

/** A batch large enough to be trimmed rather than deleted id by id. */
const BATCH = 20;

async function fireAndForget(url?: string) {
  const docket = await connectDocket("redis", { executionTtl: 0, ...(url ? { url } : {}) });
  docket.register(noop);
  const backend = docket.backend as RedisBackend;
  await backend.ensureGroup();
  const add = docket.addMany(noop);
  return {
    docket,
    backend,
    add: (from: number, count: number) =>
      add(Array.from({ length: count }, (_, j) => ({ i: from + j }))),
    streamIds: async () =>
      (await backend.send(["XRANGE", backend.keys.stream, "-", "+"]) as [string, unknown][])
        .map(([id]) => id),
  };
}

function finishAll(backend: RedisBackend, deliveries: Delivery[]): Promise<void> {
  return backend.finish(
    deliveries.map((d) => ({ id: d.id, key: d.message.key, generation: 0, state: "completed" })),
    Date.now(),
    0,
  );
}

Deno.test("finish [redis]: a batch is removed, and a message pending elsewhere stays", async () => {
  const { docket, backend, add, streamIds } = await fireAndForget();
  await using _ = docket;
  await add(0, 1 + BATCH + 5);
  const elsewhere = await backend.consumer("elsewhere", () => {});
  const here = await backend.consumer("here", () => {});
  try {
    // The oldest message is held by another worker; this one takes the next BATCH.
    const [held] = await elsewhere.claim({ count: 1, blockMs: 0, now: Date.now() });
    const batch = await here.claim({ count: BATCH, blockMs: 0, now: Date.now() });
    assert.equal(batch.length, BATCH);
    const unread = (await streamIds()).slice(1 + BATCH);
    await finishAll(backend, batch);
    // Gone: the batch. Left: the held message and the five nobody has read.
    assert.deepEqual(await streamIds(), [held.id, ...unread]);
    // The held one still finishes (or would be redelivered) with its fields intact.
    await finishAll(backend, [held]);
    const rest = await here.claim({ count: 10, blockMs: 0, now: Date.now() });
    assert.deepEqual(rest.map((d) => d.id), unread);
    assert.deepEqual(rest.map((d) => (d.message.task)), Array(5).fill("noop"));
    await finishAll(backend, rest);
    assert.deepEqual(await streamIds(), []);
  } finally {
    await elsewhere.close();
    await here.close();
  }
});

Deno.test("finish [redis]: a batch newer than a pending message is removed around it", async () => {
  const { docket, backend, add, streamIds } = await fireAndForget();
  await using _ = docket;
  await add(0, 2 * BATCH);
  const first = await backend.consumer("first", () => {});
  const second = await backend.consumer("second", () => {});
  try {
    const older = await first.claim({ count: BATCH, blockMs: 0, now: Date.now() });
    const newer = await second.claim({ count: BATCH, blockMs: 0, now: Date.now() });
    // The newer batch ends first: its messages go, the older batch (still running) stays.
    await finishAll(backend, newer);
    assert.deepEqual(await streamIds(), older.map((d) => d.id));
    // Half of the older batch was already finished by the time the rest ends (both halves
    // below the trim size, deleted one by one), and the last batch empties the stream.
    await finishAll(backend, older.slice(0, 5));
    assert.deepEqual(await streamIds(), older.slice(5).map((d) => d.id));
    await finishAll(backend, older.slice(5));
    assert.deepEqual(await streamIds(), []);
    const pending = await backend.send(["XPENDING", backend.keys.stream, backend.keys.group]);
    assert.equal(Number((pending as unknown[])[0]), 0);
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("finish [redis]: without XTRIM and XPENDING allowed, a batch is still removed", async () => {
  const server = await startRedisServer();
  try {
    const { docket, backend, add, streamIds } = await fireAndForget(server.url);
    await using _ = docket;
    // Scripts run with the caller's ACL: a user that may not trim or ask what is pending.
    await backend.send([
      "ACL",
      "SETUSER",
      "default",
      "-xtrim",
      "-xpending",
    ]);
    await add(0, BATCH + 3);
    const here = await backend.consumer("here", () => {});
    try {
      const batch = await here.claim({ count: BATCH, blockMs: 0, now: Date.now() });
      const unread = (await streamIds()).slice(BATCH);
      await finishAll(backend, batch);
      assert.deepEqual(await streamIds(), unread);
    } finally {
      await here.close();
    }
  } finally {
    await server.stop();
  }
});
