/**
 * Future tasks: a tracked one keeps its message in its runs record only (no parked hash), and
 * moving due tasks costs three Redis commands per tracked task when nobody listens to its events
 * and four per untracked one (counted with INFO commandstats on a server of its own). Tasks come due exactly once, a task replaced to a later time in the
 * meantime stays put, keys of the wrong type are skipped without losing the batch, a tracked
 * task parked by an earlier version still runs, listings show future tasks with their payload,
 * and cancelling one leaves nothing behind.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Docket, encodeValue, ExecutionState, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST, LogCapture, startRedisServer } from "../_harness.ts";
import { moveDueScript } from "../../src/storage/redis/scripts/move_due.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";

const HOUR = 3_600_000;

// deno-lint-ignore no-explicit-any
async function rawClient(docket: Docket): Promise<any> {
  return await docket.redis();
}

/** Moves everything due by `now`, a batch of 1000 at a time, as the scheduler loop does. */
async function moveAll(docket: Docket, now: number): Promise<number> {
  let moved = 0;
  for (;;) {
    const batch = await docket.backend.moveDue(now, 1000);
    moved += batch;
    if (batch < 1000) return moved;
  }
}

/** Calls per command since the last CONFIG RESETSTAT (the INFO and RESETSTAT calls left out). */
// deno-lint-ignore no-explicit-any
async function commandCalls(client: any): Promise<Record<string, number>> {
  const info = String(await client.sendCommand(["INFO", "commandstats"]));
  const calls: Record<string, number> = {};
  for (const [, name, count] of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    if (name !== "info" && name !== "config|resetstat") calls[name] = Number(count);
  }
  return calls;
}

Deno.test("due at once: three commands per tracked task nobody listens to, four per untracked one [redis]", async () => {
  const server = await startRedisServer();
  try {
    for (const tracked of [true, false]) {
      await using docket = await connectDocket("redis", {
        url: server.url,
        ...(tracked ? {} : { executionTtl: 0 }),
      });
      const noop = task({ name: "noop", run: () => {} });
      docket.register(noop);
      const count = 2_500;
      const batches = Math.ceil(count / 1000);
      const when = new Date(Date.now() + HOUR);
      await docket.addMany(noop, { when })(Array.from({ length: count }, (_, i) => ({ i })));
      const client = await rawClient(docket);
      if (tracked) {
        assert.equal(
          (await client.sendCommand(["KEYS", `${docket.keys.prefix}:parked:*`])).length,
          0,
          "a tracked future task has no parked hash",
        );
      }
      await client.sendCommand(["SCRIPT", "LOAD", moveDueScript.source]);
      await client.sendCommand(["CONFIG", "RESETSTAT"]);
      assert.equal(await moveAll(docket, Date.now() + 2 * HOUR), count);
      const calls = await commandCalls(client);
      // The scheduler's own read (one per batch, plus the last empty one) and the script calls.
      assert.equal(calls.zrangebyscore, batches);
      assert.equal(calls.evalsha, batches);
      delete calls.zrangebyscore;
      delete calls.evalsha;
      const perTask = tracked
        ? { hmget: count, xadd: count, hset: count }
        : { hmget: count, hgetall: count, xadd: count, del: count };
      // A tracked batch asks who listens (nobody: no PUBLISH); an untracked one has no events.
      const perBatch = tracked
        ? {
          zmscore: batches,
          zrem: batches,
          exists: batches,
          "pubsub|numpat": batches,
          "pubsub|numsub": batches,
        }
        : { zmscore: batches, zrem: batches };
      assert.deepEqual(calls, { ...perTask, ...perBatch });
      const total = Object.values(calls).reduce((sum, n) => sum + n, 0);
      const most = tracked ? 3 * count + 5 * batches : 4 * count + 2 * batches;
      assert.ok(total <= most, `${total} commands for ${count} tasks`);
      assert.equal(Number(await client.sendCommand(["XLEN", docket.keys.stream])), count);
      assert.equal(Number(await client.sendCommand(["ZCARD", docket.keys.queue])), 0);
    }
  } finally {
    await server.stop();
  }
});

for (const kind of BACKENDS) {
  Deno.test(`due at once: every task runs exactly once [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const runs = new Map<number, number>();
    const counted = task({
      name: "counted",
      run: ({ i }: { i: number }) => void runs.set(i, (runs.get(i) ?? 0) + 1),
    });
    docket.register(counted);
    const count = 1_500;
    const when = new Date(Date.now() + 300);
    const executions = await docket.addMany(counted, { when })(
      Array.from({ length: count }, (_, i) => ({ i })),
    );
    await using worker = new Worker(docket, { ...FAST, concurrency: 50 });
    await worker.runUntilFinished();
    assert.equal(runs.size, count);
    assert.ok([...runs.values()].every((n) => n === 1), "no task ran twice");
    const states = await Promise.all(executions.map((e) => e.sync().then(() => e.state)));
    assert.ok(states.every((s) => s === ExecutionState.COMPLETED));
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
  });

  Deno.test(`a scheduled tracked task is listed with its payload [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const later = task({ name: "later", run: () => {} });
    docket.register(later);
    const when = Date.now() + HOUR;
    await docket.add(later, { key: "listed", when })({ note: "kept", n: 7 });
    await docket.add(later, { when: when + 1 })({ note: "unkeyed" });
    const { future, totalTasks } = await docket.snapshot();
    assert.equal(totalTasks, 2);
    const listed = future.find((e) => e.key === "listed");
    assert.ok(listed, "the keyed task is listed");
    assert.deepEqual(listed.payload, { note: "kept", n: 7 });
    assert.equal(listed.taskName, "later");
    assert.equal(listed.when.getTime(), when);
    assert.equal(listed.attempt, 1);
    assert.deepEqual(future.map((e) => e.payload), [{ note: "kept", n: 7 }, { note: "unkeyed" }]);
  });

  Deno.test(`cancelling a scheduled tracked task leaves nothing behind [${kind}]`, async () => {
    await using docket = await connectDocket(kind, { executionTtl: 0 });
    const later = task({ name: "later", run: () => {} });
    docket.register(later);
    await docket.add(later, { key: "gone", when: Date.now() + HOUR })({ n: 1 });
    await docket.cancel("gone");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.equal(await docket.getExecution("gone"), null);
    assert.deepEqual((await docket.snapshot()).future, []);
    if (kind === "redis") {
      const client = await rawClient(docket);
      const left = (await client.sendCommand(["KEYS", `${docket.keys.prefix}*`])) as string[];
      assert.deepEqual(left.filter((k) => k !== docket.keys.stream).sort(), []);
    }
  });
}

Deno.test("a task replaced to a later time after the due keys were read stays put [redis]", async () => {
  await using docket = await connectDocket("redis");
  const later = task({ name: "later", run: () => {} });
  docket.register(later);
  const now = Date.now();
  await docket.add(later, { key: "moved-on", when: now + 1_000 })({ v: 1 });
  await docket.add(later, { key: "due", when: now + 1_000 })({ v: 2 });
  // What moveDue read (both due by now + 2s), then the replace lands before the script runs.
  await docket.replace(later, { key: "moved-on", when: now + HOUR })({ v: 3 });
  const keys = docket.keys;
  const backend = docket.backend as unknown as RedisBackend;
  const moved = await backend.run(
    moveDueScript,
    [
      keys.queue,
      keys.stream,
      keys.parked("moved-on"),
      keys.runs("moved-on"),
      keys.parked("due"),
      keys.runs("due"),
    ],
    [now + 2_000, "0", "moved-on", keys.stateChannel("moved-on"), "due", keys.stateChannel("due")],
  );
  assert.equal(Number(moved), 1);
  const client = await rawClient(docket);
  assert.equal(Number(await client.sendCommand(["ZSCORE", keys.queue, "moved-on"])), now + HOUR);
  const execution = await docket.getExecution("moved-on");
  assert.equal(execution?.state, ExecutionState.SCHEDULED);
  assert.deepEqual(execution?.payload, { v: 3 });
  assert.equal((await docket.getExecution("due"))?.state, ExecutionState.QUEUED);
  const entries = await client.sendCommand(["XRANGE", keys.stream, "-", "+"]);
  assert.deepEqual(entries.map(([, fields]: [string, string[]]) => fields[1]), ["due"]);
});

Deno.test("a record that is no longer scheduled is not moved [redis]", async () => {
  await using docket = await connectDocket("redis");
  const later = task({ name: "later", run: () => {} });
  docket.register(later);
  await docket.add(later, { key: "over", when: Date.now() + 1_000 })({});
  const client = await rawClient(docket);
  // As if it had been cancelled with the queue entry left behind.
  await client.sendCommand(["HSET", docket.keys.runs("over"), "state", "cancelled"]);
  assert.equal(await moveAll(docket, Date.now() + 2_000), 0);
  assert.equal(Number(await client.sendCommand(["XLEN", docket.keys.stream])), 0);
  assert.equal(Number(await client.sendCommand(["ZCARD", docket.keys.queue])), 0);
});

Deno.test("keys of the wrong type are skipped, never the batch [redis]", async () => {
  const logs = new LogCapture();
  await using docket = await connectDocket("redis", { logger: logs.logger });
  const echo = task({ name: "echo", run: ({ n }: { n: number }) => n });
  docket.register(echo);
  const when = Date.now() + 200;
  const before = await docket.addMany(echo, { when: new Date(when) })(
    Array.from({ length: 5 }, (_, n) => ({ n })),
  );
  const client = await rawClient(docket);
  const keys = docket.keys;
  // A runs key and a parked key holding strings, both due in the same batch, and a tracked
  // record whose parked key (looked for, as the batch has one) holds a string.
  await client.sendCommand(["SET", keys.runs("bad-runs"), "x"]);
  await client.sendCommand(["SET", keys.parked("bad-parked"), "x"]);
  await client.sendCommand(["ZADD", keys.queue, "0", "bad-runs", "0", "bad-parked"]);
  await docket.add(echo, { key: "odd-parked", when: new Date(when) })({ n: 5 });
  await client.sendCommand(["SET", keys.parked("odd-parked"), "x"]);
  const after = await docket.addMany(echo, { when: new Date(when) })(
    Array.from({ length: 5 }, (_, n) => ({ n: 6 + n })),
  );
  assert.equal(await moveAll(docket, when), 11, "every good task moved");
  assert.equal(Number(await client.sendCommand(["ZCARD", keys.queue])), 0);
  assert.equal(await client.sendCommand(["TYPE", keys.parked("bad-parked")]), "string");
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
  const odd = await docket.getExecution("odd-parked");
  for (const [n, execution] of [...before, odd!, ...after].entries()) {
    assert.equal(await execution.getResult({ timeout: 10_000 }), n);
  }
});

/** Writes a tracked future task as an earlier version did: runs record plus parked hash. */
async function plantOldFormat(
  docket: Docket,
  key: string,
  taskName: string,
  payload: Record<string, unknown>,
  when: number,
  traceContext?: string,
): Promise<void> {
  const client = await rawClient(docket);
  const keys = docket.keys;
  const data = Buffer.from(encodeValue(payload as never, "payload"));
  await client.sendCommand([
    "HSET",
    keys.runs(key),
    ...["state", "scheduled", "key", key, "task", taskName],
    "data",
    data,
    ...["when", String(when), "attempt", "1", "gen", "1"],
  ]);
  const trace = traceContext ? ["p", traceContext] : [];
  await client.sendCommand([
    "HSET",
    keys.parked(key),
    ...["k", key, "t", taskName],
    "d",
    data,
    ...["w", String(when), "a", "1", "g", "1", ...trace],
  ]);
  await client.sendCommand(["ZADD", keys.queue, String(when), key]);
}

Deno.test("a tracked future task parked by an earlier version still runs [redis]", async () => {
  await using docket = await connectDocket("redis");
  const echo = task({ name: "echo", run: ({ n }: { n: number }) => n });
  docket.register(echo);
  const when = Date.now() + 100;
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  await plantOldFormat(docket, "old", "echo", { n: 41 }, when, traceparent);
  const fresh = await docket.add(echo, { key: "new", when })({ n: 42 });
  const listed = (await docket.snapshot()).future.map((e) => [e.key, e.payload]);
  assert.deepEqual(listed.sort(), [["new", { n: 42 }], ["old", { n: 41 }]]);
  const client = await rawClient(docket);
  const keys = docket.keys;
  assert.equal(await moveAll(docket, when), 2);
  const entries = await client.sendCommand(["XRANGE", keys.stream, "-", "+"]) as [
    string,
    string[],
  ][];
  const old = entries.find(([, fields]) => fields[1] === "old")!;
  assert.ok(old, "the old-format task was moved");
  assert.equal(old[1][old[1].indexOf("p") + 1], traceparent, "with its trace context");
  assert.equal(Number(await client.sendCommand(["EXISTS", keys.parked("old")])), 0);
  assert.equal((await docket.getExecution("old"))?.state, ExecutionState.QUEUED);
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
  assert.equal(await (await docket.getExecution("old"))!.getResult({ timeout: 10_000 }), 41);
  assert.equal(await fresh.getResult({ timeout: 10_000 }), 42);
});

Deno.test("an old-format task cancelled or replaced leaves no parked hash [redis]", async () => {
  await using docket = await connectDocket("redis", { executionTtl: 0 });
  const seen: number[] = [];
  const echo = task({ name: "echo", run: ({ n }: { n: number }) => void seen.push(n) });
  docket.register(echo);
  await plantOldFormat(docket, "cancelled", "echo", { n: 1 }, Date.now() + HOUR);
  await plantOldFormat(docket, "replaced", "echo", { n: 2 }, Date.now() + HOUR);
  await docket.cancel("cancelled");
  await docket.replace(echo, { key: "replaced", when: Date.now() + 50 })({ n: 3 });
  const client = await rawClient(docket);
  const parked = await client.sendCommand(["KEYS", `${docket.keys.prefix}:parked:*`]);
  assert.deepEqual(parked, []);
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
  assert.deepEqual(seen, [3]);
  const left = (await client.sendCommand(["KEYS", `${docket.keys.prefix}*`])) as string[];
  assert.deepEqual(left.filter((k) => k !== docket.keys.stream && !k.includes(":stats:")), []);
});
