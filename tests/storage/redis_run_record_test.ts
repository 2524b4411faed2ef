/**
 * The runs record holds nothing a reader can derive: not the task key (it is in the record's
 * name), nor the attempt of a first attempt (a missing attempt is the first), nor a future task's
 * due time while the queue's score holds it (moving or cancelling the task writes it into the
 * record). Every public read
 * (getExecution, snapshot, the dashboard's execution page, results) sees the same execution on
 * both backends, and records written by the previous version, which hold both fields, read and
 * run as before.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  type Docket,
  encodeValue,
  type Execution,
  ExecutionState,
  Retry,
  task,
  Worker,
} from "../../mod.ts";
import { createDashboard } from "../../dashboard.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";

const HOUR = 3_600_000;

const echo = task({ name: "echo", run: ({ n }: { n: number }) => n });

let flakyRuns = 0;
/** Fails its first run; the retry is due an hour later. */
const flaky = task({
  name: "flaky",
  retry: Retry({ attempts: 3, delay: { seconds: 3600 } }),
  run: () => {
    flakyRuns++;
    throw new Error("first run fails");
  },
});

/** Always fails, with no retry: its runs end in the dead-letter set. */
const doomed = task({
  name: "doomed",
  run: () => {
    throw new Error("always fails");
  },
});

/** The field names of a runs hash, sorted. */
async function runFields(docket: Docket, key: string): Promise<string[]> {
  const client = await docket.redis();
  return ((await client.sendCommand(["HKEYS", docket.keys.runs(key)])) as string[]).sort();
}

/** What a reader sees of an execution: key, task, state, attempt, due time, payload. */
function seen(execution: Execution | null | undefined) {
  if (!execution) return execution;
  const { key, taskName, state, attempt, when, payload } = execution;
  return { key, taskName, state, attempt, when: when.getTime(), payload };
}

/** The execution page of `key` on the dashboard, as text. */
async function executionPage(docket: Docket, key: string): Promise<string> {
  const handler = createDashboard(docket);
  const response = await handler(
    new Request(`http://dash/executions/${encodeURIComponent(key)}`, {
      headers: { accept: "text/html" },
    }),
  );
  assert.equal(response.status, 200);
  return await response.text();
}

/** The attempt the execution page shows. */
function attemptShown(page: string): string | undefined {
  return /<dt>Attempt<\/dt>\s*<dd>([^<]*)<\/dd>/.exec(page)?.[1];
}

/** Runs a worker until `done` says so (checked on every state event of `execution`). */
async function workUntil(
  docket: Docket,
  execution: Execution,
  done: (state: ExecutionState) => boolean,
): Promise<void> {
  const events = execution.subscribe();
  const worker = new Worker(docket, FAST);
  const running = worker.runForever();
  try {
    for await (const event of events) {
      if (event.type === "state" && done(event.state)) break;
    }
  } finally {
    await worker.stop();
    await running;
  }
}

/** Runs `flaky` once under `key` and returns once its retry (attempt 2) is scheduled. */
async function failOnce(docket: Docket, key: string): Promise<void> {
  const execution = await docket.add(flaky, { key })({});
  const runs = flakyRuns;
  await workUntil(docket, execution, (state) => state === "scheduled" && flakyRuns > runs);
}

for (const kind of BACKENDS) {
  Deno.test(`run records read the same on every path [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(echo);
    docket.register(flaky);
    // First: its worker would run any task that is due.
    await failOnce(docket, "retried");
    const later = Date.now() + HOUR;
    await docket.add(echo, { key: "future", when: new Date(later) })({ n: 1 });
    await docket.add(echo, { key: "now" })({ n: 2 });
    const [many] = await docket.addMany(echo)([{ n: 3 }]);

    assert.deepEqual(seen(await docket.getExecution("future")), {
      key: "future",
      taskName: "echo",
      state: ExecutionState.SCHEDULED,
      attempt: 1,
      when: later,
      payload: { n: 1 },
    });
    const now = seen(await docket.getExecution("now"));
    assert.deepEqual({ ...now, when: 0 }, {
      key: "now",
      taskName: "echo",
      state: ExecutionState.QUEUED,
      attempt: 1,
      when: 0,
      payload: { n: 2 },
    });
    assert.equal((await docket.getExecution(many.key))?.attempt, 1);
    const retried = await docket.getExecution("retried");
    assert.equal(retried?.state, ExecutionState.SCHEDULED);
    assert.equal(retried?.attempt, 2);

    const future = (await docket.snapshot()).future;
    const listed = future.map((e) => [e.key, e.attempt, e.payload]).sort();
    assert.deepEqual(listed, [
      [many.key, 1, { n: 3 }],
      ["future", 1, { n: 1 }],
      ["now", 1, { n: 2 }],
      ["retried", 2, {}],
    ]);
    assert.equal(attemptShown(await executionPage(docket, "future")), "1");
    assert.equal(attemptShown(await executionPage(docket, "retried")), "2");

    const done = (await docket.getExecution("now"))!;
    await workUntil(docket, done, (state) => state === "completed");
    assert.equal(await done.getResult({ timeout: 10_000 }), 2);
    assert.equal(done?.attempt, 1);
    assert.equal((await docket.getExecution("now"))?.state, ExecutionState.COMPLETED);

    // A key cancelled before it ever had a task leaves a tombstone, which is no execution.
    await docket.cancel("never-added");
    assert.equal(await docket.getExecution("never-added"), null);

    // Replaced to another time, cancelled, or moved: a future task keeps its due time.
    const sooner = later - 60_000;
    await docket.replace(echo, { key: "future", when: new Date(sooner) })({ n: 5 });
    assert.equal((await docket.getExecution("future"))?.when.getTime(), sooner);
    await docket.add(echo, { key: "cancelled", when: new Date(later) })({ n: 6 });
    await docket.cancel("cancelled");
    const cancelled = seen(await docket.getExecution("cancelled"));
    assert.deepEqual(cancelled, {
      key: "cancelled",
      taskName: "echo",
      state: ExecutionState.CANCELLED,
      attempt: 1,
      when: later,
      payload: { n: 6 },
    });
    assert.equal(await docket.backend.moveDue(sooner, 1000), 1);
    const moved = seen(await docket.getExecution("future"));
    assert.equal(moved?.state, ExecutionState.QUEUED);
    assert.equal(moved?.when, sooner);
    const listedAgain = (await docket.snapshot()).future.find((e) => e.key === "future");
    assert.equal(listedAgain?.when.getTime(), sooner);
  });
}

Deno.test("a runs record holds no key field, and an attempt only after the first [redis]", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  docket.register(flaky);
  await failOnce(docket, "retried");
  await docket.add(echo, { key: "future", when: new Date(Date.now() + HOUR) })({ n: 1 });
  await docket.add(echo, { key: "now" })({ n: 2 });
  const [many] = await docket.addMany(echo)([{ n: 3 }]);
  await docket.cancel("never-added");

  // The due time of a future task is its score in the queue.
  assert.deepEqual(await runFields(docket, "future"), ["data", "gen", "state", "task"]);
  for (const key of ["now", many.key]) {
    assert.deepEqual(await runFields(docket, key), ["data", "gen", "sid", "state", "task", "when"]);
  }
  const retried = await runFields(docket, "retried");
  assert.ok(retried.includes("attempt"), "a later attempt is recorded");
  assert.ok(!retried.includes("key"));
  assert.deepEqual(await runFields(docket, "never-added"), ["completed", "state"]);
  const client = await docket.redis();
  assert.equal(await client.sendCommand(["HGET", docket.keys.runs("retried"), "attempt"]), "2");

  // Failed, then retried from the dead-letter set: a first attempt again.
  docket.register(doomed);
  const failing = await docket.add(doomed, { key: "doomed" })({});
  await workUntil(docket, failing, (state) => state === "failed");
  assert.equal((await docket.retry("doomed")).key, "doomed");
  assert.deepEqual(await runFields(docket, "doomed"), [
    "data",
    "gen",
    "sid",
    "state",
    "task",
    "when",
  ]);
  assert.equal((await docket.getExecution("doomed"))?.attempt, 1);

  // Once moved, or cancelled, the record holds its due time itself.
  const when = Date.now() + 2 * HOUR;
  await docket.add(echo, { key: "to-move", when: new Date(when) })({ n: 7 });
  await docket.add(echo, { key: "to-cancel", when: new Date(when) })({ n: 8 });
  await docket.cancel("to-cancel");
  // With "future" and "retried", due an hour earlier.
  assert.equal(await docket.backend.moveDue(when, 1000), 3);
  for (const key of ["to-move", "to-cancel"]) {
    assert.equal(await client.sendCommand(["HGET", docket.keys.runs(key), "when"]), String(when));
  }
});

/** Writes a runs record as the previous version did: every field, the key and attempt too. */
async function plantPrevious(
  docket: Docket,
  key: string,
  fields: Record<string, string | number>,
  payload: Record<string, unknown>,
): Promise<void> {
  const client = await docket.redis();
  const flat = Object.entries({ key, task: "echo", attempt: 1, gen: 1, ...fields })
    .flatMap(([name, value]) => [name, String(value)]);
  const data = Buffer.from(encodeValue(payload as never, "payload"));
  await client.sendCommand(["HSET", docket.keys.runs(key), ...flat, "data", data]);
}

Deno.test("runs records written by the previous version read and run as before [redis]", async () => {
  await using docket = await connectDocket("redis");
  docket.register(echo);
  const client = await docket.redis();
  const keys = docket.keys;
  const later = Date.now() + HOUR;
  await plantPrevious(docket, "old-future", { state: "scheduled", when: later }, { n: 1 });
  await plantPrevious(
    docket,
    "old-retry",
    { state: "scheduled", when: later, attempt: 2, gen: 3 },
    { n: 2 },
  );
  await client.sendCommand(["ZADD", keys.queue, String(later), "old-future"]);
  await client.sendCommand(["ZADD", keys.queue, String(later), "old-retry"]);
  const now = Date.now();
  await (docket.backend as RedisBackend).ensureGroup();
  const id = await client.sendCommand(
    [
      "XADD",
      keys.stream,
      "*",
      "k",
      "old-queued",
      "t",
      "echo",
      "w",
      String(now),
      "a",
      "1",
      "g",
      "1",
    ],
  );
  await plantPrevious(docket, "old-queued", { state: "queued", when: now, sid: String(id) }, {
    n: 3,
  });
  await plantPrevious(docket, "old-done", {
    state: "completed",
    when: now - 20,
    worker: "w-1",
    started: now - 10,
    completed: now,
  }, { n: 4 });
  await client.sendCommand([
    "HSET",
    keys.runs("old-cancelled"),
    ...["state", "cancelled", "key", "old-cancelled", "completed", String(now)],
  ]);

  assert.deepEqual(seen(await docket.getExecution("old-future")), {
    key: "old-future",
    taskName: "echo",
    state: ExecutionState.SCHEDULED,
    attempt: 1,
    when: later,
    payload: { n: 1 },
  });
  assert.deepEqual(seen(await docket.getExecution("old-retry")), {
    key: "old-retry",
    taskName: "echo",
    state: ExecutionState.SCHEDULED,
    attempt: 2,
    when: later,
    payload: { n: 2 },
  });
  const done = await docket.getExecution("old-done");
  assert.equal(done?.state, ExecutionState.COMPLETED);
  assert.equal(done?.worker, "w-1");
  assert.equal(done?.startedAt?.getTime(), now - 10);
  assert.equal(await docket.getExecution("old-cancelled"), null);

  const listed = (await docket.snapshot()).future.map((e) => [e.key, e.attempt, e.payload]).sort();
  assert.deepEqual(listed, [
    ["old-future", 1, { n: 1 }],
    ["old-queued", 1, { n: 3 }],
    ["old-retry", 2, { n: 2 }],
  ]);
  assert.equal(attemptShown(await executionPage(docket, "old-retry")), "2");

  // Due: moved with their attempts, run, and their results recorded.
  assert.equal(await docket.backend.moveDue(later, 1000), 2);
  const entries = await client.sendCommand(["XRANGE", keys.stream, "-", "+"]) as [
    string,
    string[],
  ][];
  const attempts = Object.fromEntries(
    entries.map(([, f]) => [f[f.indexOf("k") + 1], f[f.indexOf("a") + 1]]),
  );
  assert.deepEqual(attempts, { "old-future": "1", "old-queued": "1", "old-retry": "2" });
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
  for (const [key, n] of [["old-future", 1], ["old-retry", 2], ["old-queued", 3]] as const) {
    const execution = await docket.getExecution(key);
    assert.equal(await execution?.getResult({ timeout: 10_000 }), n, key);
  }
  assert.equal((await docket.getExecution("old-retry"))?.attempt, 2);
});
