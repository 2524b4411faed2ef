/**
 * The worker loop: concurrency, redelivery and leases, unknown tasks, bad input.
 */

import assert from "node:assert/strict";
import { Docket, task, Worker } from "../mod.ts";
import {
  BACKENDS,
  connectDocket,
  FAST,
  LogCapture,
  startRedisServer,
  uniqueName,
} from "./_harness.ts";
import type { RedisBackend } from "../src/storage/redis/backend.ts";

for (const kind of BACKENDS) {
  Deno.test(`a worker never runs more than its concurrency [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let active = 0;
    let peak = 0;
    const busy = task({
      name: "busy",
      async run() {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 20));
        active--;
      },
    });
    docket.register(busy);
    await docket.addMany(busy)(Array.from({ length: 40 }, () => ({})));
    await new Worker(docket, { ...FAST, concurrency: 5 }).runUntilFinished();
    assert.ok(peak <= 5, `peak ${peak} exceeded 5`);
    assert.ok(peak > 1, "tasks ran concurrently");
  });

  Deno.test(`two workers share the work [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const byWorker = new Map<string, number>();
    const tally = task({
      name: "tally",
      async run(_p: Record<string, never>, ctx) {
        byWorker.set(ctx.worker.name, (byWorker.get(ctx.worker.name) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    docket.register(tally);
    await docket.addMany(tally)(Array.from({ length: 60 }, () => ({})));
    await Promise.all([
      new Worker(docket, { ...FAST, concurrency: 1, name: "one" }).runUntilFinished(),
      new Worker(docket, { ...FAST, concurrency: 1, name: "two" }).runUntilFinished(),
    ]);
    assert.equal((byWorker.get("one") ?? 0) + (byWorker.get("two") ?? 0), 60);
    assert.ok((byWorker.get("one") ?? 0) >= 10 && (byWorker.get("two") ?? 0) >= 10);
  });

  Deno.test(`an abandoned message is redelivered after redeliveryTimeout [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const once = task({ name: "once", run: () => void runs++ });
    docket.register(once);
    const execution = await docket.add(once)({});
    // A worker that takes the message and dies: its consumer claims it and never finishes it.
    const dead = await docket.backend.consumer("dead-worker", () => {});
    const taken = await dead.claim({ count: 1, blockMs: 0, now: Date.now() });
    assert.equal(taken.length, 1);
    await dead.close();
    await new Worker(docket, { ...FAST, redeliveryTimeout: 200 }).runUntilFinished();
    assert.equal(runs, 1);
    assert.equal(await execution.getResult({ timeout: 1_000 }), undefined);
  });

  Deno.test(`a long task is not taken over while its worker lives [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const long = task({
      name: "long",
      async run() {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 700));
      },
    });
    docket.register(long);
    await docket.add(long)({});
    const options = { ...FAST, redeliveryTimeout: 200 };
    await Promise.all([
      new Worker(docket, { ...options, name: "a" }).runUntilFinished(),
      new Worker(docket, { ...options, name: "b" }).runUntilFinished(),
      new Worker(docket, { ...options, name: "c" }).runUntilFinished(),
    ]);
    assert.equal(runs, 1);
  });

  Deno.test(`an unknown task is logged and acknowledged [${kind}]`, async () => {
    const logs = new LogCapture();
    await using docket = await connectDocket(kind, { logger: logs.logger });
    const ghost = task({ name: "ghost", run: () => "boo" });
    docket.register(ghost);
    await docket.add(ghost)({});
    // A worker whose deployment no longer knows the task.
    await using other = await Docket.connect({
      name: docket.name,
      url: docket.url,
      logger: logs.logger,
    });
    await new Worker(other, FAST).runUntilFinished();
    assert.match(logs.text(), /Unknown task \\"ghost\\" received - dropping/);
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
  });

  Deno.test(`an unknown task is logged and recorded as dropped, not completed [${kind}]`, async () => {
    const logs = new LogCapture();
    await using docket = await connectDocket(kind, { logger: logs.logger });
    const ghost = task({ name: "ghost", run: () => "boo" });
    docket.register(ghost);
    const execution = await docket.add(ghost, { key: "ghost-1" })({});
    await using other = await Docket.connect({
      name: docket.name,
      url: docket.url,
      logger: logs.logger,
    });
    await new Worker(other, FAST).runUntilFinished();
    const ends = logs.records.filter((r) => r.key === "ghost-1" && r.outcome !== undefined);
    assert.deepEqual(ends.map((r) => r.outcome), ["dropped"]);
    await execution.sync();
    assert.equal(execution.state, "cancelled");
  });

  Deno.test(`a fallback task receives unknown tasks' payloads [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const ghost = task({ name: "ghost", run: () => "boo" });
    docket.register(ghost);
    await docket.add(ghost)({ x: 7 });
    await using other = await Docket.connect({ name: docket.name, url: docket.url });
    const seen: unknown[] = [];
    const fallback = task({
      name: "fallback",
      run: (payload: Record<string, unknown>, ctx) =>
        void seen.push([ctx.execution.taskName, payload]),
    });
    await new Worker(other, { ...FAST, fallbackTask: fallback }).runUntilFinished();
    assert.deepEqual(seen, [["ghost", { x: 7 }]]);
  });

  Deno.test(`runUntilFinished waits for future tasks [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let ran = false;
    const later = task({ name: "later", run: () => void (ran = true) });
    docket.register(later);
    await docket.add(later, { when: Date.now() + 200 })({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(ran, true);
  });

  Deno.test(`stop() lets a running task finish [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    const slow = task({
      name: "slow",
      async run() {
        started();
        await new Promise((resolve) => setTimeout(resolve, 200));
        finished = true;
      },
    });
    docket.register(slow);
    const execution = await docket.add(slow)({});
    const worker = new Worker(docket, FAST);
    const done = worker.runForever();
    await running;
    await worker.stop();
    await done;
    assert.equal(finished, true);
    await execution.sync();
    assert.equal(execution.state, "completed");
  });
}

Deno.test("a malformed stream entry is dropped with a warning; other tasks run [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  const logs = new LogCapture();
  await using docket = await connectDocket("redis", { logger: logs.logger });
  const backend = docket.backend as RedisBackend;
  let runs = 0;
  const good = task({ name: "good", run: () => void runs++ });
  docket.register(good);
  await docket.add(good)({});
  await backend.send(["XADD", docket.keys.stream, "*", "garbage", "yes"]);
  await backend.send([
    "XADD",
    docket.keys.stream,
    "*",
    "k",
    "x",
    "t",
    "good",
    "d",
    "\xff\xff",
    "w",
    "0",
    "a",
    "1",
    "g",
    "0",
  ]);
  await docket.add(good)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(runs, 2);
  assert.match(logs.text(), /Dropping a malformed message/);
  assert.match(logs.text(), /missing field\(s\) k, t, d, w, a, g/);
  assert.match(logs.text(), /cannot be decoded/);
  assert.deepEqual(await backend.counts(), { stream: 0, queue: 0 });
});

Deno.test("Redis unreachable: connect fails clearly; a worker survives a restart [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  const server = await startRedisServer();
  try {
    await server.stop();
    await assert.rejects(
      Docket.connect({ name: uniqueName(), url: server.url }),
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0/,
    );
    await server.start();
    const logs = new LogCapture();
    await using docket = await Docket.connect({
      name: uniqueName(),
      url: server.url,
      logger: logs.logger,
    });
    const results: number[] = [];
    const record = task({ name: "record", run: ({ n }: { n: number }) => void results.push(n) });
    docket.register(record);
    const worker = new Worker(docket, { ...FAST, reconnectionDelay: 100 });
    const running = worker.runForever();
    await (await docket.add(record)({ n: 1 })).getResult({ timeout: 5_000 });
    await server.restart();
    const second = await docket.add(record)({ n: 2 });
    await second.getResult({ timeout: 15_000 });
    await worker.stop();
    await running;
    assert.deepEqual(results, [1, 2]);
  } finally {
    await server.dispose();
  }
});

Deno.test("no key outlives its task without a TTL [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  await using docket = await connectDocket("redis");
  const backend = docket.backend as RedisBackend;
  const ok = task({ name: "ok", run: () => "ok" });
  const bad = task({
    name: "bad",
    run: () => {
      throw new Error("no");
    },
  });
  const progress = task({
    name: "progress",
    async run(_p: Record<string, never>, ctx) {
      await ctx.progress.setTotal(2);
      await ctx.progress.increment();
    },
  });
  for (const t of [ok, bad, progress]) docket.register(t);
  await docket.add(ok)({});
  await docket.add(bad)({});
  await docket.add(progress)({});
  await docket.add(ok, { key: "cancel-me", when: Date.now() + 60_000 })({});
  await docket.cancel("cancel-me");
  await docket.cancel("never-existed");
  await new Worker(docket, FAST).runUntilFinished();
  const keys = await backend.send(["KEYS", `${docket.keys.prefix}:*`]) as string[];
  const permanent = new Set([
    docket.keys.stream,
    docket.keys.queue,
    docket.keys.strikes,
    docket.keys.workers,
  ]);
  for (const key of keys) {
    assert.ok(key.startsWith(`{${docket.name}}:`), `${key} carries the hash tag`);
    if (permanent.has(key) || key.includes(":task-workers:")) continue;
    const ttl = await backend.send(["PTTL", key]) as number;
    assert.ok(ttl > 0, `${key} has no TTL`);
  }
});

for (const kind of BACKENDS) {
  Deno.test(`past shutdownTimeout a running task is aborted and left for redelivery [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const runs: string[] = [];
    const stubborn = task({
      name: "stubborn",
      async run(_p: Record<string, never>, ctx) {
        runs.push(ctx.worker.name);
        if (ctx.worker.name === "first") {
          started();
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          return "aborted";
        }
        return "done";
      },
    });
    docket.register(stubborn);
    const execution = await docket.add(stubborn)({});
    const first = new Worker(docket, {
      ...FAST,
      name: "first",
      shutdownTimeout: 100,
      redeliveryTimeout: 300,
    });
    const done = first.runForever();
    await running;
    const stopping = Date.now();
    await first.stop();
    await done;
    assert.ok(Date.now() - stopping < 5_000, "stop() returned soon after the deadline");
    await execution.sync();
    assert.equal(execution.state, "running", "nothing recorded for the cut-off run");
    await new Worker(docket, { ...FAST, name: "second", redeliveryTimeout: 300 })
      .runUntilFinished();
    assert.deepEqual(runs, ["first", "second"]);
    assert.equal(await execution.getResult({ timeout: 1_000 }), "done");
  });
}
