/**
 * Timeout: the signal aborts with a TimeoutError and the run fails with it; remaining() and
 * extend(); a body that ignores its signal does not keep its worker slot; cancel beats timeout.
 */

import assert from "node:assert/strict";
import { ExecutionState, task, Timeout, TimeoutError, Worker } from "../../mod.ts";
import { connectDocket, FAST } from "../_harness.ts";
import { eachBackend, settled, signal, within } from "./_support.ts";

/** Sleeps `ms`, or less when `signal` aborts (then rejects with its reason). */
function sleep(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    abort.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(abort.reason);
    }, { once: true });
  });
}

eachBackend("a task past its timeout is aborted and fails with TimeoutError", async (kind) => {
  await using docket = await connectDocket(kind);
  let reason: unknown;
  const slow = task({
    name: "slow",
    timeout: { milliseconds: 100 },
    async run(_payload: Record<string, never>, ctx) {
      try {
        await sleep(5_000, ctx.signal);
      } catch (error) {
        reason = error;
        throw error;
      }
    },
  });
  docket.register(slow);
  const execution = await docket.add(slow)({});
  const started = Date.now();
  await new Worker(docket, FAST).runUntilFinished();
  assert.ok(Date.now() - started < 2_000, "the run was cut off");
  assert.ok(reason instanceof TimeoutError, "the signal's reason is a TimeoutError");
  await execution.sync();
  assert.equal(execution.state, ExecutionState.FAILED);
  assert.match(execution.error!, /^TimeoutError: task \S+ exceeded its timeout of 100 ms$/);
  await assert.rejects(execution.getResult({ timeout: 1_000 }), { name: "TimeoutError" });
});

eachBackend("a timed-out task that ignores its signal frees its slot", async (kind) => {
  await using docket = await connectDocket(kind);
  const stuck = signal(); // never settles by itself: the body ignores its signal
  let cutOff = false;
  const nextStarted = signal<boolean>();
  const ignorant = task({
    name: "ignorant",
    timeout: 200,
    async run(_payload: Record<string, never>, ctx) {
      // Only noted, for the order check below: the body goes on waiting regardless.
      ctx.signal.addEventListener("abort", () => (cutOff = true));
      await stuck.promise;
    },
  });
  const next = task({
    name: "next_in_line",
    run() {
      nextStarted.resolve(cutOff);
    },
  });
  docket.register(ignorant);
  docket.register(next);
  const first = await docket.add(ignorant)({});
  await docket.add(next)({});
  const worker = new Worker(docket, { ...FAST, concurrency: 1 });
  const running = worker.runUntilFinished();
  try {
    // The first body would only end when `stuck` is resolved, after this wait.
    const afterCutOff = await within(nextStarted.promise, 5_000, "the second task to start");
    assert.equal(afterCutOff, true, "the second task started once the first was cut off");
    assert.equal(await settled(first), ExecutionState.FAILED);
  } finally {
    stuck.resolve();
  }
  await running;
});

eachBackend("remaining() counts down; extend() moves the deadline", async (kind) => {
  await using docket = await connectDocket(kind);
  const remaining = new Map<string, [number, number]>();
  const extended = task({
    name: "extended",
    timeout: 150,
    async run({ extendBy }: { extendBy?: number }, ctx) {
      const before = ctx.timeout.remaining();
      ctx.timeout.extend(extendBy); // default: the whole timeout again
      remaining.set(String(extendBy), [before, ctx.timeout.remaining()]);
      await sleep(250, ctx.signal); // past the original 150 ms, within the extended deadline
      return "finished";
    },
  });
  const stillCut = task({
    name: "still_cut",
    timeout: 100,
    async run(_payload: Record<string, never>, ctx) {
      ctx.timeout.extend({ milliseconds: 200 });
      await sleep(5_000, ctx.signal);
    },
  });
  docket.register(extended);
  docket.register(stillCut);
  const byDefault = await docket.add(extended)({});
  const byAmount = await docket.add(extended)({ extendBy: 300 });
  const cut = await docket.add(stillCut)({});
  const started = Date.now();
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await byDefault.getResult({ timeout: 1_000 }), "finished");
  assert.equal(await byAmount.getResult({ timeout: 1_000 }), "finished");
  const [before, afterDefault] = remaining.get("undefined")!;
  assert.ok(before > 0 && before <= 150, `remaining ${before}`);
  assert.ok(afterDefault > 150 && afterDefault <= 300, `after extend(): ${afterDefault}`);
  const [, afterAmount] = remaining.get("300")!;
  assert.ok(afterAmount > 300 && afterAmount <= 450, `after extend(300): ${afterAmount}`);
  await assert.rejects(cut.getResult({ timeout: 1_000 }), (error: Error) => {
    assert.equal(error.name, "TimeoutError");
    assert.match(error.message, /exceeded its timeout of 100 ms \(extended to 300 ms\)/);
    return true;
  });
  assert.ok(Date.now() - started < 3_000);
});

eachBackend("cancelling a task with a timeout ends it CANCELLED, not FAILED", async (kind) => {
  await using docket = await connectDocket(kind);
  const started = signal();
  const guarded = task({
    name: "guarded",
    timeout: { seconds: 30 },
    async run(_payload: Record<string, never>, ctx) {
      started.resolve();
      await sleep(30_000, ctx.signal);
    },
  });
  docket.register(guarded);
  const execution = await docket.add(guarded)({});
  const worker = new Worker(docket, FAST);
  const running = worker.runUntilFinished();
  await within(started.promise, 5_000, "the task to start");
  await docket.cancel(execution.key);
  assert.equal(await settled(execution), ExecutionState.CANCELLED);
  await running;
});

Deno.test("Timeout: validation, and task() takes a duration or a Timeout", () => {
  assert.equal(Timeout({ seconds: 30 }).limit, 30_000);
  assert.throws(() => Timeout(0), /timeout must be positive/);
  assert.throws(() => Timeout(-5), RangeError);
  const byDuration = task({ name: "a", timeout: { minutes: 1 }, run() {} });
  const byTimeout = task({ name: "b", timeout: Timeout({ minutes: 1 }), run() {} });
  for (const definition of [byDuration, byTimeout]) {
    const hook = definition.hooks.find((h) => h.kind === "timeout") as unknown as {
      limit: number;
    };
    assert.equal(hook.limit, 60_000);
  }
});
