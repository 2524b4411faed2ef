/**
 * MemoryBackend cancel, finish and clear: what each removes, keeps and publishes.
 */

import assert from "node:assert/strict";
import { decodeValue, encodeValue } from "../../src/codec.ts";
import { claimAll, collect, fresh, keys, request, settle, silent } from "./_memory.ts";

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
