/**
 * The dead-letter set on both backends: what a task that fails for good leaves in it, listing
 * with filters and cursors, retrying one or many, purging, `failedTtl` (0, expiry) and
 * fire-and-forget dockets.
 */

import assert from "node:assert/strict";
import {
  ConcurrencyLimit,
  ExecutionState,
  FailedTaskNotFoundError,
  Retry,
  task,
} from "../../mod.ts";
import { connectDocket, waitUntil } from "../_harness.ts";
import { eachBackend } from "../behaviours/_support.ts";
import { allFailed, boom, drain, fizzle, flakiness, flaky } from "./_support.ts";

eachBackend("a task whose retries run out is kept with its error and attempts", async (kind) => {
  await using docket = await connectDocket(kind);
  const retried = task({
    name: "retried_boom",
    retry: Retry({ attempts: 3 }),
    run({ n }: { n: number }) {
      throw new RangeError(`no luck ${n}`);
    },
  });
  docket.register(retried);
  const before = Date.now();
  const execution = await docket.add(retried, { key: "order-7" })({ n: 7 });
  await drain(docket, "worker-a");
  await execution.sync();
  assert.equal(execution.state, ExecutionState.FAILED);
  const { items, cursor } = await docket.failed();
  assert.equal(cursor, undefined);
  assert.equal(items.length, 1);
  const [failed] = items;
  assert.equal(failed.key, "order-7");
  assert.equal(failed.task, "retried_boom");
  assert.deepEqual(failed.payload, { n: 7 });
  assert.equal(failed.attempts, 3);
  assert.equal(failed.worker, "worker-a");
  assert.equal(failed.error.name, "RangeError");
  assert.equal(failed.error.message, "no luck 7");
  assert.match(failed.error.stack ?? "", /RangeError: no luck 7/);
  assert.ok(failed.failedAt.getTime() >= before && failed.failedAt.getTime() <= Date.now());
  assert.ok(failed.when.getTime() >= before && failed.when <= failed.failedAt);
});

eachBackend("a task with no retry and one failing its admission are both kept", async (kind) => {
  await using docket = await connectDocket(kind);
  const limited = task({
    name: "needs_customer",
    concurrency: ConcurrencyLimit("customerId", { max: 1 }),
    run: () => {},
  });
  docket.register(boom);
  docket.register(limited);
  await docket.add(boom, { key: "plain" })({ n: 1 });
  await docket.add(limited, { key: "unadmitted" })({ amount: 5 });
  await drain(docket);
  const items = await allFailed(docket);
  const byKey = new Map(items.map((item) => [item.key, item]));
  assert.deepEqual([...byKey.keys()].sort(), ["plain", "unadmitted"]);
  assert.equal(byKey.get("plain")!.attempts, 1);
  assert.equal(byKey.get("plain")!.error.message, "boom 1");
  assert.match(byKey.get("unadmitted")!.error.message, /parameter "customerId" not found/);
  assert.deepEqual(byKey.get("unadmitted")!.payload, { amount: 5 });
});

eachBackend("a successful or cancelled task leaves nothing in the set", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(flaky);
  docket.register(boom);
  flakiness.failing = false;
  await docket.add(flaky)({ n: 1 });
  await docket.add(boom, { key: "cancelled", when: Date.now() + 60_000 })({ n: 2 });
  await docket.cancel("cancelled");
  await drain(docket);
  assert.deepEqual(await docket.failed(), { items: [] });
});

eachBackend("retry reruns a failed task with its payload and removes it", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(flaky);
  flakiness.failing = true;
  const first = await docket.add(flaky, { key: "job-1" })({ n: 21 });
  await drain(docket);
  await first.sync();
  const failedGeneration = first.generation;
  assert.equal((await docket.failed()).items.length, 1);

  flakiness.failing = false;
  const rerun = await docket.retry("job-1");
  assert.equal(rerun.key, "job-1");
  assert.equal(rerun.taskName, "flaky");
  assert.deepEqual(rerun.payload, { n: 21 });
  assert.equal(rerun.attempt, 1);
  assert.equal(rerun.state, ExecutionState.QUEUED);
  assert.equal(rerun.error, undefined);
  assert.ok(rerun.generation > failedGeneration, "a new generation");
  assert.deepEqual(await docket.failed(), { items: [] });
  await drain(docket);
  assert.equal(await rerun.getResult({ timeout: 10_000 }), 42);
  await assert.rejects(docket.retry("job-1"), FailedTaskNotFoundError);
});

eachBackend("retry refuses a key that is not in the set, or is live again", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(boom);
  await assert.rejects(docket.retry("never-failed"), (error: unknown) => {
    assert.ok(error instanceof FailedTaskNotFoundError);
    assert.equal(error.key, "never-failed");
    assert.match(error.message, /"never-failed" is not in the failed set/);
    return true;
  });
  await assert.rejects(docket.retry(""), TypeError);
  await docket.add(boom, { key: "again" })({ n: 1 });
  await drain(docket);
  // Added again under the same key (due later): the failure is kept, the live task untouched.
  const live = await docket.add(boom, { key: "again", when: Date.now() + 60_000 })({ n: 2 });
  await assert.rejects(docket.retry("again"), /"again" is scheduled, queued or running again/);
  assert.equal((await docket.failed()).items[0].key, "again");
  await live.sync();
  assert.equal(live.state, ExecutionState.SCHEDULED);
  assert.deepEqual(live.payload, { n: 2 });
});

eachBackend("retryFailed reruns one task's failures, batch after batch", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(flaky);
  docket.register(fizzle);
  flakiness.failing = true;
  // More than one batch (100) of one task, and a few of another.
  await docket.addMany(flaky)(Array.from({ length: 230 }, (_, n) => ({ n })));
  await docket.addMany(fizzle)(Array.from({ length: 4 }, (_, n) => ({ n })));
  await drain(docket);
  assert.equal((await allFailed(docket, { limit: 1000 })).length, 234);
  assert.equal((await allFailed(docket, { task: "flaky", limit: 7 })).length, 230);

  flakiness.failing = false;
  assert.equal(await docket.retryFailed({ task: "flaky" }), 230);
  const left = await allFailed(docket);
  assert.equal(left.length, 4);
  assert.ok(left.every((item) => item.task === "fizzle"));
  assert.deepEqual(await docket.failed({ task: "flaky" }), { items: [] });
  await drain(docket);
  assert.equal((await docket.snapshot()).totalTasks, 0);
  assert.equal((await allFailed(docket)).length, 4, "the reruns succeeded");
  assert.equal(await docket.retryFailed(), 4);
  assert.equal(await docket.retryFailed(), 0);
});

eachBackend("purgeFailed removes by task and by age", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(boom);
  docket.register(fizzle);
  await docket.addMany(boom)(Array.from({ length: 120 }, (_, n) => ({ n })));
  await docket.addMany(fizzle)(Array.from({ length: 3 }, (_, n) => ({ n })));
  await drain(docket);
  assert.equal(await docket.purgeFailed({ olderThan: { hours: 1 } }), 0);
  assert.equal(await docket.purgeFailed({ task: "boom" }), 120);
  assert.deepEqual((await allFailed(docket)).map((item) => item.task), [
    "fizzle",
    "fizzle",
    "fizzle",
  ]);
  assert.equal(await docket.purgeFailed({ task: "boom" }), 0);
  assert.equal(await docket.purgeFailed({ olderThan: 0 }), 3);
  assert.deepEqual(await docket.failed(), { items: [] });
  await assert.rejects(docket.purgeFailed({ olderThan: -1 }), RangeError);
});

eachBackend("failedTtl 0 keeps no failures", async (kind) => {
  await using docket = await connectDocket(kind, { failedTtl: 0 });
  docket.register(boom);
  const execution = await docket.add(boom, { key: "k" })({ n: 1 });
  await drain(docket);
  await execution.sync();
  assert.equal(execution.state, ExecutionState.FAILED, "the run is still recorded as failed");
  assert.deepEqual(await docket.failed(), { items: [] });
  if (kind === "redis") {
    const redis = await docket.redis();
    const keys = await redis.sendCommand(["KEYS", `{${docket.name}}:failed*`]);
    assert.deepEqual(keys, []);
  }
});

eachBackend("a fire-and-forget docket keeps its failures, and retries them", async (kind) => {
  await using docket = await connectDocket(kind, { executionTtl: 0 });
  docket.register(flaky);
  flakiness.failing = true;
  // No key: an untracked task with no runs record at all.
  await docket.add(flaky)({ n: 5 });
  await drain(docket);
  const { items } = await docket.failed();
  assert.equal(items.length, 1);
  assert.equal(items[0].error.message, "flaky 5");
  assert.equal(await docket.getExecution(items[0].key), null, "no runs record is kept");
  flakiness.failing = false;
  const rerun = await docket.retry(items[0].key);
  assert.deepEqual(rerun.payload, { n: 5 });
  await drain(docket);
  assert.deepEqual(await docket.failed(), { items: [] });
});

eachBackend("failures expire after failedTtl and leave the index", async (kind) => {
  const ttl = 1_000;
  await using docket = await connectDocket(kind, { failedTtl: ttl });
  docket.register(boom);
  await docket.add(boom, { key: "short-lived" })({ n: 1 });
  await drain(docket);
  if (kind === "redis") {
    const redis = await docket.redis();
    const life = Number(await redis.sendCommand(["PTTL", `{${docket.name}}:failed:short-lived`]));
    assert.ok(life === -2 || (life > 0 && life <= ttl), `entry expires within failedTtl: ${life}`);
  }
  await waitUntil(async () => (await docket.failed()).items.length === 0, 30_000, "expiry");
  if (kind === "redis") {
    const redis = await docket.redis();
    // The index is trimmed lazily, by a read made once the entry's failedTtl has passed on the
    // reader's clock, which may be a moment after Redis expired the entry itself.
    const indexed = async () =>
      Number(await redis.sendCommand(["ZCARD", `{${docket.name}}:failed`]));
    await waitUntil(
      async () => {
        await docket.failed();
        return (await indexed()) === 0;
      },
      30_000,
      "the index trimmed",
    );
    assert.equal(await indexed(), 0);
    assert.equal(
      Number(await redis.sendCommand(["EXISTS", `{${docket.name}}:failed:short-lived`])),
      0,
    );
  }
  await assert.rejects(docket.retry("short-lived"), FailedTaskNotFoundError);
});

eachBackend("pages follow a cursor, newest first, unshaken by new failures", async (kind) => {
  await using docket = await connectDocket(kind);
  docket.register(boom);
  await docket.addMany(boom)(Array.from({ length: 25 }, (_, n) => ({ n })));
  await drain(docket);
  const first = await docket.failed({ limit: 10 });
  assert.equal(first.items.length, 10);
  assert.ok(first.cursor);
  // New failures while paging land in front of the first page, not in later ones.
  await docket.addMany(boom)(Array.from({ length: 5 }, (_, n) => ({ n: 100 + n })));
  await drain(docket);
  const second = await docket.failed({ limit: 10, cursor: first.cursor });
  const third = await docket.failed({ limit: 10, cursor: second.cursor });
  assert.equal(second.items.length, 10);
  assert.equal(third.items.length, 5);
  assert.equal(third.cursor, undefined);
  const paged = [...first.items, ...second.items, ...third.items];
  assert.equal(new Set(paged.map((item) => item.key)).size, 25, "no repeats, none missed");
  assert.ok(paged.every((item) => (item.payload as { n: number }).n < 100));
  for (let i = 1; i < paged.length; i++) {
    assert.ok(paged[i - 1].failedAt >= paged[i].failedAt, "newest first");
  }
  const fresh = await docket.failed({ limit: 5 });
  assert.deepEqual(
    fresh.items.map((item) => (item.payload as { n: number }).n).sort(),
    [100, 101, 102, 103, 104],
  );
});

eachBackend("bad queries are refused, naming the problem", async (kind) => {
  await using docket = await connectDocket(kind);
  await assert.rejects(docket.failed({ limit: 0 }), /limit must be a whole number from 1 to 1000/);
  await assert.rejects(docket.failed({ limit: 1.5 }), RangeError);
  await assert.rejects(docket.failed({ cursor: "nonsense" }), /cursor "nonsense" is not one/);
  await assert.rejects(docket.failed({ task: "" }), /task must be a non-empty task name/);
  await assert.rejects(docket.retryFailed({ task: 5 as unknown as string }), TypeError);
  await assert.rejects(connectDocket(kind, { failedTtl: -1 }), /failedTtl must not be negative/);
});

eachBackend("a kept failure costs its payload plus capped error texts", async (kind) => {
  await using docket = await connectDocket(kind);
  const huge = task({
    name: "huge_error",
    run() {
      const error = new Error("m".repeat(100_000));
      error.stack = `Error: ${"s".repeat(100_000)}`;
      throw error;
    },
  });
  docket.register(huge);
  await docket.add(huge)({});
  await drain(docket);
  const [failed] = (await docket.failed()).items;
  const bytes = (text: string) => new TextEncoder().encode(text).length;
  assert.ok(bytes(failed.error.message) <= 8192, `message ${bytes(failed.error.message)}`);
  assert.ok(bytes(failed.error.stack!) <= 8192, `stack ${bytes(failed.error.stack!)}`);
  assert.match(failed.error.message, /^m+… \(truncated\)$/);
  assert.match(failed.error.stack!, /^Error: s+… \(truncated\)$/);
});

Deno.test("an undecodable payload is kept in the set with the decoding error [redis]", async () => {
  await using docket = await connectDocket("redis");
  docket.register(boom);
  const redis = await docket.redis();
  // An untracked message whose payload is not MessagePack (0xc1 is never used).
  await redis.sendCommand([
    "XADD",
    `{${docket.name}}:stream`,
    "*",
    "k",
    "garbled",
    "t",
    "boom",
    "d",
    "\xc1",
    "w",
    String(Date.now()),
    "a",
    "1",
    "g",
    "0",
  ]);
  await drain(docket);
  const [failed] = (await docket.failed()).items;
  assert.equal(failed.key, "garbled");
  assert.equal(failed.payload, undefined);
  assert.match(failed.error.message, /payload of garbled could not be decoded/);
});

eachBackend("a run replaced while it ran leaves no entry when it fails", async (kind) => {
  await using docket = await connectDocket(kind);
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const gate = task({
    name: "gate",
    async run({ fail }: { fail: boolean }) {
      if (!fail) return "replacement ran";
      started.resolve();
      await release.promise;
      throw new Error("the superseded run failed");
    },
  });
  docket.register(gate);
  await docket.add(gate, { key: "gated" })({ fail: true });
  const draining = drain(docket);
  await started.promise;
  const replacement = await docket.replace(gate, { key: "gated" })({ fail: false });
  release.resolve();
  await draining;
  assert.equal(await replacement.getResult({ timeout: 10_000 }), "replacement ran");
  assert.deepEqual(await docket.failed(), { items: [] });
});

Deno.test("a dead-letter key of the wrong type never stops ends being recorded [redis]", async () => {
  await using docket = await connectDocket("redis");
  docket.register(boom);
  docket.register(fizzle);
  const redis = await docket.redis();
  await redis.sendCommand(["SET", `{${docket.name}}:failed-task:boom`, "not a sorted set"]);
  const failing = await docket.add(boom, { key: "b-1" })({ n: 1 });
  const other = await docket.add(fizzle, { key: "z-1" })({ n: 2 });
  await drain(docket);
  await assert.rejects(failing.getResult({ timeout: 10_000 }), /boom 1/);
  await assert.rejects(other.getResult({ timeout: 10_000 }), /fizzle 2/);
  const keys = (await docket.failed()).items.map((item) => item.key).sort();
  assert.deepEqual(keys, ["b-1", "z-1"], "both kept, and listed from the whole index");
  assert.equal((await docket.snapshot()).totalTasks, 0);
});
