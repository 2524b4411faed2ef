/**
 * `ctx.progress` and `execution.subscribe()`: exact concurrent increments, ordered events, a
 * progress record with a lifetime that is removed when the task ends, and subscriptions that
 * start with the current state and end when the caller stops.
 */

import assert from "node:assert/strict";
import {
  type Docket,
  DocketKeys,
  Execution,
  type ExecutionEvent,
  Retry,
  task,
  Worker,
} from "../mod.ts";
import type { Backend, ProgressRecord, RunRecord } from "../src/storage/backend.ts";
import { type BackendKind, BACKENDS, connectDocket, FAST } from "./_harness.ts";

/** A promise with its resolver, for steps the test controls. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Whether the task's progress record exists in the store, and its remaining lifetime. */
async function progressRecord(
  docket: Docket,
  key: string,
): Promise<{ exists: boolean; ttlMs?: number }> {
  if (docket.backend.kind === "redis") {
    const redis = await docket.redis();
    const name = docket.keys.progress(key);
    const exists = Number(await redis.sendCommand(["EXISTS", name])) === 1;
    if (!exists) return { exists };
    return { exists, ttlMs: Number(await redis.sendCommand(["PTTL", name])) };
  }
  return { exists: (await docket.backend.readProgress(key)) !== undefined };
}

/** Collects events until a terminal state (or `limit` events), then stops iterating. */
async function collect(
  events: AsyncGenerator<ExecutionEvent>,
  limit = 100,
): Promise<ExecutionEvent[]> {
  const seen: ExecutionEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (event.type === "state" && ["completed", "failed", "cancelled"].includes(event.state)) {
      break;
    }
    if (seen.length >= limit) break;
  }
  return seen;
}

for (const kind of BACKENDS) {
  const name = (text: string) => `progress [${kind}]: ${text}`;

  Deno.test(name("30 concurrent increments give exactly 30"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const counted = gate();
    const release = gate();
    const counter = task({
      name: "counter",
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(30);
        await Promise.all(Array.from({ length: 30 }, () => ctx.progress.increment()));
        counted.open();
        await release.promise;
        return ctx.progress.current;
      },
    });
    docket.register(counter);
    const execution = await docket.add(counter)({});
    await using worker = new Worker(docket, { ...FAST, concurrency: 1 });
    const running = worker.runUntilFinished();
    await counted.promise;

    await execution.sync();
    assert.equal(execution.progress.current, 30);
    assert.equal(execution.progress.total, 30);
    assert.ok(execution.progress.updatedAt instanceof Date);
    const live = await progressRecord(docket, execution.key);
    assert.equal(live.exists, true);
    if (kind === "redis") assert.ok(live.ttlMs! > 0, `progress TTL: ${live.ttlMs}`);

    release.open();
    await running;
    assert.equal(await execution.getResult({ timeout: 5_000 }), 30);
    assert.deepEqual(await progressRecord(docket, execution.key), { exists: false });
    await execution.sync();
    assert.deepEqual(execution.progress, {
      current: undefined,
      total: undefined,
      message: undefined,
      updatedAt: undefined,
    });
  });

  Deno.test(name("events arrive in order, after the current state"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const steps = task({
      name: "steps",
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(3);
        await ctx.progress.setMessage("first");
        await ctx.progress.increment();
        await ctx.progress.increment(1);
        await ctx.progress.setMessage("second");
        await ctx.progress.increment();
        await ctx.progress.setMessage(null);
        return "done";
      },
    });
    docket.register(steps);
    const execution = await docket.add(steps)({});
    const events = execution.subscribe();
    // The first event is the current state, read after subscribing, so nothing is missed.
    const first = await events.next();
    assert.equal(first.done, false);
    assert.equal(first.value?.type, "state");
    assert.equal((first.value as { state: string }).state, "queued");
    await using worker = new Worker(docket, FAST);
    const running = worker.runUntilFinished();
    const rest = await collect(events);
    await running;

    const states = rest.filter((e) => e.type === "state").map((e) => e.state);
    assert.deepEqual(states, ["running", "completed"]);
    const progress = rest.filter((e) => e.type === "progress");
    // The snapshot (nothing reported yet), then one event per update, in order.
    assert.deepEqual(
      progress.map((e) => [e.current, e.total, e.message]),
      [
        [undefined, undefined, undefined],
        [0, 3, undefined],
        [0, 3, "first"],
        [1, 3, "first"],
        [2, 3, "first"],
        [2, 3, "second"],
        [3, 3, "second"],
        [3, 3, undefined],
      ],
    );
    const stamps = progress.slice(1).map((e) => e.updatedAt!.getTime());
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b));
    const running_ = rest.find((e) => e.type === "state" && e.state === "running");
    assert.equal(running_?.type === "state" && running_.worker, worker.name);
    assert.equal(execution.state, "completed");
    assert.equal(await execution.getResult(), "done");
  });

  Deno.test(name("subscribing mid-run yields the current state and progress first"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const reported = gate();
    const release = gate();
    const halfway = task({
      name: "halfway",
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(4);
        await ctx.progress.increment(2);
        await ctx.progress.setMessage("halfway there");
        reported.open();
        await release.promise;
        await ctx.progress.increment(2);
      },
    });
    docket.register(halfway);
    const execution = await docket.add(halfway)({});
    await using worker = new Worker(docket, FAST);
    const running = worker.runUntilFinished();
    await reported.promise;

    const events = execution.subscribe();
    const state = (await events.next()).value as ExecutionEvent;
    const progress = (await events.next()).value as ExecutionEvent;
    assert.equal(state.type, "state");
    assert.equal(state.type === "state" && state.state, "running");
    assert.equal(state.type === "state" && state.worker, worker.name);
    assert.ok(state.type === "state" && state.startedAt instanceof Date);
    assert.equal(progress.type, "progress");
    assert.deepEqual(
      progress.type === "progress" && [progress.current, progress.total, progress.message],
      [2, 4, "halfway there"],
    );
    release.open();
    const rest = await collect(events);
    await running;
    assert.deepEqual(
      rest.map((e) => e.type === "state" ? e.state : `${e.current}/${e.total}`),
      ["4/4", "completed"],
    );
  });

  Deno.test(name("subscribing to a finished task yields its end state first"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const quick = task({ name: "quick", run: () => 1 });
    docket.register(quick);
    const execution = await docket.add(quick)({});
    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    const later = (await docket.getExecution(execution.key))!;
    const events = later.subscribe();
    const first = (await events.next()).value as ExecutionEvent;
    assert.equal(first.type === "state" && first.state, "completed");
    assert.ok(first.type === "state" && first.completedAt instanceof Date);
    const second = (await events.next()).value as ExecutionEvent;
    assert.equal(second.type, "progress");
    assert.equal(second.type === "progress" && second.current, undefined);
    assert.deepEqual(await events.return(undefined), { done: true, value: undefined });
  });

  Deno.test(name("breaking out of subscribe ends it and stops listening"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const release = gate();
    const waits = task({
      name: "waits",
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(2);
        await ctx.progress.increment();
        await release.promise;
        await ctx.progress.increment();
      },
    });
    docket.register(waits);
    const execution = await docket.add(waits)({});
    await using worker = new Worker(docket, FAST);
    const running = worker.runUntilFinished();
    let seen = 0;
    for await (const event of execution.subscribe()) {
      seen++;
      if (event.type === "progress" && event.current === 1) break;
    }
    assert.ok(seen >= 2);
    if (kind === "redis") {
      const redis = await docket.redis();
      const counts = await redis.sendCommand([
        "PUBSUB",
        "NUMSUB",
        docket.keys.stateChannel(execution.key),
        docket.keys.progressChannel(execution.key),
      ]) as unknown[];
      assert.deepEqual(counts.filter((_, i) => i % 2 === 1).map(Number), [0, 0]);
    }
    release.open();
    await running;
    await execution.sync();
    assert.equal(execution.state, "completed");
  });

  Deno.test(name("bad values are refused and nothing is written"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const errors: string[] = [];
    const picky = task({
      name: "picky",
      async run(_: Record<string, never>, ctx) {
        for (
          const attempt of [
            () => ctx.progress.setTotal(-1),
            () => ctx.progress.setTotal(2.5),
            () => ctx.progress.increment(0),
            () => ctx.progress.increment(-1),
            () => ctx.progress.increment(1.5),
            () => ctx.progress.setMessage(42 as unknown as string),
          ]
        ) {
          try {
            await attempt();
            errors.push("accepted");
          } catch (error) {
            errors.push((error as Error).name);
          }
        }
        const current = ctx.progress.current;
        await ctx.progress.increment();
        await ctx.progress.increment(2);
        await ctx.progress.setMessage("note");
        await ctx.progress.setMessage("");
        return [current, ctx.progress.current, ctx.progress.total, ctx.progress.message];
      },
    });
    docket.register(picky);
    const execution = await docket.add(picky)({});
    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    assert.deepEqual(errors, [
      "RangeError",
      "RangeError",
      "RangeError",
      "RangeError",
      "RangeError",
      "TypeError",
    ]);
    // `undefined` inside an array travels as null (MessagePack); "" clears the message.
    assert.deepEqual(await execution.getResult(), [null, 3, null, null]);
  });

  Deno.test(name("an empty batch is a 0/0 progress, and the task completes"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const importAll = task({
      name: "import_all",
      async run({ items }: { items: string[] }, ctx) {
        await ctx.progress.setTotal(items.length);
        for (const _ of items) await ctx.progress.increment();
        return [ctx.progress.current, ctx.progress.total];
      },
    });
    docket.register(importAll);
    const execution = await docket.add(importAll)({ items: [] });
    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    assert.deepEqual(await execution.getResult(), [0, 0]);
  });

  Deno.test(name("cancelling a running task removes its progress"), async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const reported = gate();
    const endless = task({
      name: "endless",
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(10);
        await ctx.progress.increment();
        reported.open();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
    });
    docket.register(endless);
    const execution = await docket.add(endless)({});
    await using worker = new Worker(docket, FAST);
    const running = worker.runUntilFinished();
    await reported.promise;
    assert.equal((await progressRecord(docket, execution.key)).exists, true);
    await docket.cancel(execution.key);
    await running;
    await execution.sync();
    assert.equal(execution.state, "cancelled");
    assert.deepEqual(await progressRecord(docket, execution.key), { exists: false });
  });

  Deno.test({
    name: name("a retry starts its progress afresh"),
  }, async () => {
    await using docket = await connectDocket(kind as BackendKind);
    const seen: (number | undefined)[] = [];
    const flaky = task({
      name: "flaky_progress",
      retry: Retry({ attempts: 2, delay: 0 }),
      async run(_: Record<string, never>, ctx) {
        await ctx.progress.setTotal(3);
        await ctx.progress.increment();
        seen.push(ctx.progress.current);
        if (ctx.attempt === 1) throw new Error("first attempt fails");
      },
    });
    docket.register(flaky);
    const execution = await docket.add(flaky)({});
    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    await execution.sync();
    assert.equal(execution.state, "completed");
    assert.deepEqual(seen, [1, 1]);
    assert.deepEqual(await progressRecord(docket, execution.key), { exists: false });
  });

  Deno.test(
    name("a docket that keeps nothing accepts progress calls and writes none"),
    async () => {
      await using docket = await connectDocket(kind as BackendKind, { executionTtl: 0 });
      const quiet = task({
        name: "quiet",
        async run(_: Record<string, never>, ctx) {
          await ctx.progress.setTotal(2);
          await ctx.progress.increment();
          await ctx.progress.setMessage("nobody is listening");
          return ctx.progress.current;
        },
      });
      docket.register(quiet);
      const execution = await docket.add(quiet, { key: "quiet-1" })({});
      await using worker = new Worker(docket, FAST);
      await worker.runUntilFinished();
      assert.deepEqual(await progressRecord(docket, execution.key), { exists: false });
    },
  );
}

/**
 * A store whose state moves on while `subscribe()` reads it: events published during the read
 * are delivered before the read answers, as can happen with separate connections.
 */
function racingHost(run: RunRecord, progress: ProgressRecord | undefined, during: string[]) {
  const listeners = new Map<string, (message: string) => void>();
  const keys = new DocketKeys("race");
  const publish = (message: string) => {
    const event = JSON.parse(message);
    const channel = event.type === "state"
      ? keys.stateChannel(event.key)
      : keys.progressChannel(event.key);
    listeners.get(channel)?.(message);
  };
  const backend = {
    kind: "memory",
    subscribe(channel: string, listener: (message: string) => void) {
      listeners.set(channel, listener);
      return Promise.resolve(() => {
        listeners.delete(channel);
        return Promise.resolve();
      });
    },
    readRun() {
      during.forEach(publish);
      return Promise.resolve(run);
    },
    readProgress: () => Promise.resolve(progress),
  } as unknown as Backend;
  return { host: { backend, keys, executionTtl: 60_000 }, publish, listeners };
}

Deno.test("subscribe drops events its first read already covers, and keeps newer ones", async () => {
  const state = (value: string, extra = {}) =>
    JSON.stringify({ type: "state", key: "k", state: value, ...extra });
  const progress = (current: number, updatedAt: number, message?: string) =>
    JSON.stringify({ type: "progress", key: "k", current, total: 4, updatedAt, message });
  const { host, publish, listeners } = racingHost(
    { key: "k", state: "running", worker: "w1", startedAt: 1_000, when: 900, generation: 1 },
    { current: 2, total: 4, message: "two", updatedAt: 2_000 },
    [
      state("queued", { when: 900 }), // older than the read
      state("running", { worker: "w1", startedAt: 1_000 }), // the read itself
      progress(1, 1_500), // older
      progress(2, 2_000, "two"), // the read itself
      progress(3, 2_500, "three"), // newer: kept
    ],
  );
  const execution = new Execution(host, {
    key: "k",
    taskName: "t",
    payload: {},
    when: 900,
    attempt: 1,
  });
  const events = execution.subscribe();
  const seen: string[] = [];
  const describe = (e: ExecutionEvent) =>
    e.type === "state" ? `state ${e.state}` : `progress ${e.current} ${e.message}`;
  for (let i = 0; i < 3; i++) seen.push(describe((await events.next()).value as ExecutionEvent));
  publish(state("completed", { completedAt: 3_000 }));
  seen.push(describe((await events.next()).value as ExecutionEvent));
  assert.deepEqual(seen, [
    "state running",
    "progress 2 two",
    "progress 3 three",
    "state completed",
  ]);
  assert.equal(execution.state, "completed");
  assert.equal(execution.progress.current, undefined);
  await events.return(undefined);
  assert.equal(listeners.size, 0);
});

Deno.test("subscribe to an ended task yields only its end, whatever arrived meanwhile", async () => {
  const { host, publish } = racingHost(
    { key: "k", state: "completed", completedAt: 3_000, when: 900, generation: 1 },
    undefined,
    [
      JSON.stringify({ type: "state", key: "k", state: "running", worker: "w1" }),
      JSON.stringify({ type: "progress", key: "k", current: 4, total: 4, updatedAt: 2_900 }),
      JSON.stringify({ type: "state", key: "k", state: "completed", completedAt: 3_000 }),
    ],
  );
  const execution = new Execution(host, {
    key: "k",
    taskName: "t",
    payload: {},
    when: 900,
    attempt: 1,
  });
  const events = execution.subscribe();
  const first = (await events.next()).value as ExecutionEvent;
  const second = (await events.next()).value as ExecutionEvent;
  assert.equal(first.type === "state" && first.state, "completed");
  assert.equal(second.type === "progress" && second.current, undefined);
  // Nothing else is pending: the next event would be a new one.
  const next = events.next();
  const raced = await Promise.race([next.then(() => "event"), Promise.resolve("nothing")]);
  assert.equal(raced, "nothing");
  publish(JSON.stringify({ type: "state", key: "k", state: "queued", when: 4_000 }));
  assert.equal(((await next).value as ExecutionEvent).type, "state");
  await events.return(undefined);
});
