/**
 * The docket client: adding, deduplicating, replacing, cancelling, reading back, clearing.
 * Every test runs on each backend.
 */

import assert from "node:assert/strict";
import {
  Docket,
  ExecutionCancelledError,
  ExecutionState,
  SerializationError,
  task,
  UnknownTaskError,
  Worker,
} from "../mod.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";

const echo = task({ name: "echo", run: (payload: Record<string, unknown>) => payload });

/**
 * A task named "blocker" that signals `running` when it starts and finishes (returning
 * "finished") only after `release()`.
 */
function blockerTask() {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const blocker = task({
    name: "blocker",
    async run() {
      started();
      await gate;
      return "finished";
    },
  });
  return { blocker, running, release };
}

function withDocket(
  name: string,
  body: (docket: Docket) => Promise<void>,
  options: { executionTtl?: number } = {},
) {
  for (const kind of BACKENDS) {
    Deno.test(`${name} [${kind}]`, async () => {
      await using docket = await connectDocket(kind, options);
      docket.register(echo);
      await body(docket);
    });
  }
}

withDocket("an immediate task is queued and runs once with its payload", async (docket) => {
  const execution = await docket.add(echo)({ a: 1, b: "two" });
  assert.equal(execution.disposition, "scheduled");
  assert.equal(execution.state, ExecutionState.QUEUED);
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(await execution.getResult({ timeout: 5_000 }), { a: 1, b: "two" });
  assert.equal((await docket.backend.counts()).stream, 0);
});

withDocket("a future task waits for its time", async (docket) => {
  const when = Date.now() + 300;
  const execution = await docket.add(echo, { when })({ x: 1 });
  assert.equal(execution.state, ExecutionState.SCHEDULED);
  await new Worker(docket, FAST).runUntilFinished();
  await execution.sync();
  assert.equal(execution.state, ExecutionState.COMPLETED);
  assert.ok(execution.startedAt!.getTime() >= when, "ran before it was due");
});

withDocket("adding a live key writes nothing: already_scheduled", async (docket) => {
  const first = await docket.add(echo, { key: "k", when: Date.now() + 200 })({ v: "first" });
  const second = await docket.add(echo, { key: "k" })({ v: "second" });
  assert.equal(first.disposition, "scheduled");
  assert.equal(second.disposition, "already_scheduled");
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(await first.getResult({ timeout: 5_000 }), { v: "first" });
  const again = await docket.add(echo, { key: "k" })({ v: "third" });
  assert.equal(again.disposition, "scheduled", "a finished key can be added again");
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(await again.getResult({ timeout: 5_000 }), { v: "third" });
});

withDocket("a running key is not added again", async (docket) => {
  const { blocker, running, release } = blockerTask();
  docket.register(blocker);
  await docket.add(blocker, { key: "busy" })({});
  const worker = new Worker(docket, FAST);
  const done = worker.runUntilFinished();
  await running;
  assert.equal((await docket.add(blocker, { key: "busy" })({})).disposition, "already_scheduled");
  release();
  await done;
});

withDocket("replace supersedes the earlier schedule", async (docket) => {
  await docket.add(echo, { key: "r", when: Date.now() + 60_000 })({ v: "old" });
  const replaced = await docket.replace(echo, { key: "r", when: Date.now() + 50 })({ v: "new" });
  assert.equal(replaced.disposition, "scheduled");
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(await replaced.getResult({ timeout: 5_000 }), { v: "new" });
  assert.equal((await docket.backend.counts()).queue, 0);
});

withDocket("four rapid replaces of a queued task run only the last, once", async (docket) => {
  let runs = 0;
  const counted = task({
    name: "counted",
    run: ({ n }: { n: number }) => {
      runs++;
      return n;
    },
  });
  docket.register(counted);
  let last;
  for (let n = 1; n <= 4; n++) last = await docket.replace(counted, { key: "q" })({ n });
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(runs, 1);
  assert.equal(await last!.getResult({ timeout: 5_000 }), 4);
});

withDocket("cancel removes a future task", async (docket) => {
  const execution = await docket.add(echo, { key: "c1", when: Date.now() + 60_000 })({});
  await docket.cancel("c1");
  await new Worker(docket, FAST).runUntilFinished();
  await execution.sync();
  assert.equal(execution.state, ExecutionState.CANCELLED);
  await assert.rejects(execution.getResult({ timeout: 1_000 }), ExecutionCancelledError);
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

withDocket("cancel removes a queued task before it runs", async (docket) => {
  let ran = false;
  const marker = task({ name: "marker", run: () => void (ran = true) });
  docket.register(marker);
  await docket.add(marker, { key: "c2" })({});
  await docket.cancel("c2");
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(ran, false);
  assert.equal((await docket.getExecution("c2"))?.state, ExecutionState.CANCELLED);
});

withDocket("cancel removes a task that came due but is not claimed yet", async (docket) => {
  let ran = false;
  const marker = task({ name: "marker", run: () => void (ran = true) });
  docket.register(marker);
  await docket.add(marker, { key: "c3", when: Date.now() + 20 })({});
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(await docket.backend.moveDue(Date.now(), 10), 1, "moved to the stream");
  await docket.cancel("c3");
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(ran, false);
});

withDocket("cancel aborts a running task", async (docket) => {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const waiter = task({
    name: "waiter",
    async run(_payload: Record<string, never>, ctx) {
      started();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      throw ctx.signal.reason;
    },
  });
  docket.register(waiter);
  const execution = await docket.add(waiter, { key: "c4" })({});
  const worker = new Worker(docket, FAST);
  const done = worker.runUntilFinished();
  await running;
  await docket.cancel("c4");
  await done;
  await assert.rejects(execution.getResult({ timeout: 5_000 }), ExecutionCancelledError);
});

withDocket("an unregistered name is refused before anything is written", async (docket) => {
  assert.throws(() => docket.add("nope"), UnknownTaskError);
  assert.throws(() => docket.add("nope"), /"nope" is not registered/);
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

withDocket("a payload MessagePack cannot carry is refused, naming the field", async (docket) => {
  await assert.rejects(
    docket.add(echo)({ customer: { notify: () => {} } }),
    (error: Error) =>
      error instanceof SerializationError &&
      /payload\.customer\.notify is a function/.test(error.message),
  );
  await assert.rejects(docket.add(echo)({ when: new Map() }), /payload\.when is a Map/);
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

withDocket("aliases run the same task under another name", async (docket) => {
  const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
  docket.register(double, { names: ["double", "twice"] });
  const execution = await docket.add("twice")({ n: 21 });
  assert.equal(execution.taskName, "twice");
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await execution.getResult({ timeout: 5_000 }), 42);
});

withDocket("addMany schedules many tasks in one call", async (docket) => {
  const executions = await docket.addMany(echo)([{ i: 1 }, { i: 2 }, { i: 3 }]);
  assert.equal(executions.length, 3);
  assert.equal(new Set(executions.map((e) => e.key)).size, 3);
  await new Worker(docket, FAST).runUntilFinished();
  for (const [i, execution] of executions.entries()) {
    assert.deepEqual(await execution.getResult({ timeout: 5_000 }), { i: i + 1 });
  }
});

withDocket("getExecution reads a task back, and null for unknown keys", async (docket) => {
  await docket.add(echo, { key: "g", when: Date.now() + 60_000 })({ q: 1 });
  const execution = await docket.getExecution("g");
  assert.ok(execution);
  assert.equal(execution.taskName, "echo");
  assert.deepEqual(execution.payload, { q: 1 });
  assert.equal(execution.state, ExecutionState.SCHEDULED);
  assert.equal(await docket.getExecution("never-added"), null);
});

withDocket("clear drops waiting tasks and leaves running ones alone", async (docket) => {
  const { blocker, running, release } = blockerTask();
  docket.register(blocker);
  const busy = await docket.add(blocker, { key: "busy" })({});
  const worker = new Worker(docket, { ...FAST, concurrency: 1 });
  const done = worker.runForever();
  await running;
  await docket.add(echo, { when: Date.now() + 60_000 })({});
  await docket.add(echo, { when: Date.now() + 60_000 })({});
  assert.equal(await docket.clear(), 2);
  release();
  assert.equal(await busy.getResult({ timeout: 5_000 }), "finished");
  await worker.stop();
  await done;
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

withDocket("snapshot shows future, running and workers", async (docket) => {
  const { blocker, running, release } = blockerTask();
  docket.register(blocker);
  await docket.add(blocker, { key: "now" })({});
  await docket.add(echo, { key: "later", when: Date.now() + 60_000 })({ z: 1 });
  const worker = new Worker(docket, { ...FAST, name: "snap-worker" });
  const done = worker.runForever();
  await running;
  const snapshot = await docket.snapshot();
  assert.equal(snapshot.totalTasks, 2);
  assert.deepEqual(snapshot.future.map((e) => e.key), ["later"]);
  assert.deepEqual(snapshot.running.map((e) => [e.key, e.worker]), [["now", "snap-worker"]]);
  assert.ok(snapshot.workers.some((w) => w.name === "snap-worker"));
  const forTask = await docket.taskWorkers("blocker");
  assert.deepEqual(forTask.map((w) => w.name), ["snap-worker"]);
  assert.ok(forTask[0].tasks.includes("blocker") && forTask[0].tasks.includes("trace"));
  release();
  await worker.stop();
  await done;
  assert.deepEqual(await docket.workers(), [], "a stopped worker leaves the registry");
});

withDocket("fire-and-forget: nothing kept, getResult refuses at once", async (docket) => {
  const execution = await docket.add(echo)({ a: 1 });
  const keyed = await docket.add(echo, { key: "ff" })({ a: 2 });
  assert.equal((await docket.add(echo, { key: "ff" })({})).disposition, "already_scheduled");
  await new Worker(docket, FAST).runUntilFinished();
  await assert.rejects(execution.getResult(), /results are not kept/);
  assert.equal(await docket.getExecution(execution.key), null);
  assert.equal(await docket.getExecution(keyed.key), null);
}, { executionTtl: 0 });

withDocket("adds made together are each answered on their own", async (docket) => {
  await docket.add(echo, { key: "live" })({ v: 0 });
  const together = await Promise.all([
    docket.add(echo, { key: "live" })({ v: 1 }),
    docket.add(echo, { key: "new" })({ v: 2 }),
    docket.add(echo, { key: "new" })({ v: 3 }),
    docket.add(echo)({ v: 4 }),
  ]);
  assert.deepEqual(
    together.map((e) => e.disposition),
    ["already_scheduled", "scheduled", "already_scheduled", "scheduled"],
  );
  const scheduled = await docket.schedule([
    { task: echo, payload: { v: 5 }, key: "new" },
    { task: echo, payload: { v: 6 }, key: "fresh" },
  ]);
  assert.deepEqual(scheduled.map((e) => e.disposition), ["already_scheduled", "scheduled"]);
  const record = await docket.getExecution("new");
  assert.equal(record?.state, ExecutionState.QUEUED);
  assert.deepEqual(record?.payload, { v: 2 });
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(await together[1].getResult({ timeout: 5_000 }), { v: 2 });
  assert.deepEqual(await together[3].getResult({ timeout: 5_000 }), { v: 4 });
  assert.deepEqual(await scheduled[1].getResult({ timeout: 5_000 }), { v: 6 });
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

Deno.test("an add due now writes what the general schedule script writes [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const redis = await docket.redis();
  const when = Date.now() - 1;
  await docket.add(echo, { key: "fast", when })({ v: 1 }); // the add_now script
  await docket.replace(echo, { key: "general", when })({ v: 1 }); // the schedule script
  const record = async (key: string) => {
    const flat = await redis.sendCommand(["HGETALL", docket.keys.runs(key)]) as string[];
    const fields = Object.fromEntries(
      Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]),
    );
    return { ...fields, key: "(key)", sid: typeof fields.sid };
  };
  assert.deepEqual(await record("fast"), await record("general"));
  const entries = await redis.sendCommand(["XRANGE", docket.keys.stream, "-", "+"]) as [
    string,
    string[],
  ][];
  const [fast, general] = entries.map(([, flat]) => flat.map((v) => v === "fast" ? "general" : v));
  assert.deepEqual(fast, general);
});

withDocket("fire-and-forget: a task cancelled while queued never runs", async (docket) => {
  const ran: unknown[] = [];
  const record = task({ name: "record_ff", run: ({ n }: { n: number }) => void ran.push(n) });
  docket.register(record);
  await new Worker(docket, FAST).runUntilFinished(); // the worker has read the stream before
  const doomed = await docket.add(record)({ n: 1 });
  await docket.add(record)({ n: 2 });
  await docket.cancel(doomed.key);
  await docket.add(record)({ n: 3 });
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(ran, [2, 3]);
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
}, { executionTtl: 0 });

Deno.test("bad connection options are refused before connecting", async () => {
  await assert.rejects(
    Docket.connect({ url: "memory://bad-options", heartbeatInterval: 0 }),
    /heartbeatInterval must be positive/,
  );
  await assert.rejects(
    Docket.connect({ url: "memory://bad-options", executionTtl: -1 }),
    RangeError,
  );
  await assert.rejects(Docket.connect({ url: "ftp://nowhere" }), /unsupported URL scheme "ftp:"/);
  await assert.rejects(Docket.connect({ name: "a{b}", url: "memory://x" }), /no braces/);
});
