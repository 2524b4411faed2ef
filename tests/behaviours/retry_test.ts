/**
 * Retry, Retry.forever and ExponentialRetry: attempt numbers, delays and caps, ctx.retry, what is
 * retried (body, dependency factories, timeouts) and what never is (cancellation).
 */

import assert from "node:assert/strict";
import {
  depends,
  ExecutionState,
  ExponentialRetry,
  ForcedRetry,
  Retry,
  task,
  Worker,
} from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import {
  eachBackend,
  linesWith,
  record,
  settled,
  signal,
  watchStates,
  within,
} from "./_support.ts";

eachBackend("Retry runs up to `attempts` times, numbering them, then fails", async (kind) => {
  await using docket = await connectDocket(kind);
  const seen: [number, number, number][] = [];
  const always = task({
    name: "always_fails",
    retry: Retry({ attempts: 3 }),
    run(_payload: Record<string, never>, ctx) {
      seen.push([ctx.attempt, ctx.retry.attempt, ctx.retry.attempts]);
      throw new RangeError("Something went wrong!");
    },
  });
  docket.register(always);
  const execution = await docket.add(always)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(seen, [[1, 1, 3], [2, 2, 3], [3, 3, 3]]);
  await assert.rejects(execution.getResult({ timeout: 1_000 }), {
    name: "RangeError",
    message: "Something went wrong!",
  });
  await execution.sync();
  assert.equal(execution.state, ExecutionState.FAILED);
  assert.equal(execution.error, "RangeError: Something went wrong!");
  assert.equal(execution.attempt, 3);
});

eachBackend("retries are never FAILED in between, and wait their delay", async (kind) => {
  await using docket = await connectDocket(kind);
  const failures: number[] = [];
  const starts: number[] = [];
  const twice = task({
    name: "fails_twice",
    retry: Retry({ attempts: 5, delay: 100 }),
    run(_payload: Record<string, never>, ctx) {
      starts.push(ctx.execution.when.getTime());
      if (ctx.attempt <= 2) {
        failures.push(Date.now());
        throw new Error(`attempt ${ctx.attempt}`);
      }
      return "third time lucky";
    },
  });
  docket.register(twice);
  const execution = await docket.add(twice)({});
  const { ready, done, states } = watchStates(execution);
  await within(ready, 5_000, "the subscription");
  await new Worker(docket, FAST).runUntilFinished();
  await within(done, 5_000, "the final state event");
  assert.equal(await execution.getResult({ timeout: 1_000 }), "third time lucky");
  assert.ok(!states.includes("failed"), `states: ${states.join(" ")}`);
  assert.equal(states.filter((s) => s === "scheduled").length, 2, "two delayed retries");
  assert.equal(states.filter((s) => s === "running").length, 3);
  // Each retry was due `delay` after the failure before it (the worker adds it as it records it).
  for (let i = 0; i < 2; i++) {
    const wait = starts[i + 1] - failures[i];
    assert.ok(wait >= 100 && wait < 350, `retry ${i + 1} was due ${wait} ms after the failure`);
  }
});

eachBackend("an immediate retry is published as queued", async (kind) => {
  await using docket = await connectDocket(kind);
  const once = task({
    name: "fails_once",
    retry: Retry({ attempts: 2 }),
    run(_payload: Record<string, never>, ctx) {
      if (ctx.attempt === 1) throw new Error("first");
    },
  });
  docket.register(once);
  const execution = await docket.add(once)({});
  const { ready, done, states } = watchStates(execution);
  await within(ready, 5_000, "the subscription");
  await new Worker(docket, FAST).runUntilFinished();
  await within(done, 5_000, "completion");
  assert.deepEqual(states, ["queued", "running", "queued", "running", "completed"]);
  const finished = await record(docket, execution.key);
  assert.equal(finished?.attempt, 2);
});

eachBackend("Retry.forever retries until the task succeeds", async (kind) => {
  await using docket = await connectDocket(kind);
  let calls = 0;
  const stubborn = task({
    name: "stubborn",
    retry: Retry.forever({ delay: 5 }),
    run(_payload: Record<string, never>, ctx) {
      calls++;
      assert.equal(ctx.retry.attempts, Infinity);
      if (calls < 4) throw new Error("not yet");
      return calls;
    },
  });
  docket.register(stubborn);
  const execution = await docket.add(stubborn)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await execution.getResult({ timeout: 1_000 }), 4);
});

Deno.test("ExponentialRetry doubles from minimumDelay up to maximumDelay", () => {
  const retry = ExponentialRetry({ attempts: 10, minimumDelay: 25, maximumDelay: 1_000 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => retry.delayAfter(attempt)),
    [25, 50, 100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
  const defaults = ExponentialRetry({ attempts: 3 });
  assert.deepEqual([1, 2, 7, 8].map((a) => defaults.delayAfter(a)), [1_000, 2_000, 64_000, 64_000]);
  assert.equal(ExponentialRetry.forever({ minimumDelay: { seconds: 1 } }).attempts, Infinity);
  assert.throws(
    () => ExponentialRetry({ attempts: 2, minimumDelay: 100, maximumDelay: 50 }),
    /must not be less than minimumDelay/,
  );
  assert.throws(() => Retry({ attempts: 0 }), /whole number of at least 1, got 0/);
  assert.throws(() => Retry({ attempts: 1.5 }), RangeError);
  assert.throws(() => Retry({ attempts: 2, delay: -5 }), /Retry delay must not be negative/);
  assert.equal(Retry({ attempts: 3, delay: { seconds: 2 } }).delayAfter(1), 2_000);
});

eachBackend("exponential retry delays stay within their bounds", async (kind) => {
  await using docket = await connectDocket(kind);
  const failedAt: number[] = [];
  const dueAt: number[] = [];
  const backoff = task({
    name: "backoff",
    retry: ExponentialRetry({ attempts: 5, minimumDelay: 25, maximumDelay: 100 }),
    run(_payload: Record<string, never>, ctx) {
      dueAt.push(ctx.execution.when.getTime());
      failedAt.push(Date.now());
      throw new Error("down");
    },
  });
  docket.register(backoff);
  const started = Date.now();
  await docket.add(backoff)({});
  await new Worker(docket, FAST).runUntilFinished();
  const elapsed = Date.now() - started;
  assert.equal(dueAt.length, 5);
  const expected = [25, 50, 100, 100]; // capped at 100
  expected.forEach((delay, i) => {
    const wait = dueAt[i + 1] - failedAt[i];
    assert.ok(wait >= delay && wait < delay + 250, `retry ${i + 1}: ${wait} ms, expected ${delay}`);
  });
  assert.ok(elapsed >= 275, `all five attempts took only ${elapsed} ms`);
});

eachBackend("ctx.retry.after() and at() end the attempt and schedule the next", async (kind) => {
  await using docket = await connectDocket(kind);
  const runs: { when: number; attempt: number }[] = [];
  let askedAt = 0;
  const polite = task({
    name: "polite",
    retry: Retry({ attempts: 3 }),
    run(_payload: Record<string, never>, ctx) {
      runs.push({ when: ctx.execution.when.getTime(), attempt: ctx.attempt });
      if (ctx.attempt === 1) {
        askedAt = Date.now();
        ctx.retry.after({ milliseconds: 300 });
      }
      if (ctx.attempt === 2) ctx.retry.at(new Date(Date.now() - 60_000)); // past: at once
      return "done";
    },
  });
  docket.register(polite);
  const execution = await docket.add(polite)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await execution.getResult({ timeout: 1_000 }), "done");
  assert.deepEqual(runs.map((r) => r.attempt), [1, 2, 3]);
  const wait = runs[1].when - askedAt;
  assert.ok(wait >= 300 && wait < 550, `after(300) was due ${wait} ms later`);
  assert.ok(runs[2].when <= Date.now() && runs[2].when >= runs[1].when);
});

eachBackend("a requested retry counts as an attempt: none left means failed", async (kind) => {
  await using docket = await connectDocket(kind);
  let calls = 0;
  const insistent = task({
    name: "insistent",
    retry: Retry({ attempts: 2 }),
    run(_payload: Record<string, never>, ctx) {
      calls++;
      ctx.retry.after(5);
    },
  });
  docket.register(insistent);
  const execution = await docket.add(insistent)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(calls, 2);
  await assert.rejects(execution.getResult({ timeout: 1_000 }), (error: Error) => {
    assert.equal(error.name, "ForcedRetry");
    assert.match(error.message, /after attempt 2 of 2, but no attempts are left/);
    return true;
  });
  assert.ok(new ForcedRetry(0) instanceof Error);
});

eachBackend("dependency failures and timeouts are retried; the body runs again", async (kind) => {
  await using docket = await connectDocket(kind);
  let factoryCalls = 0;
  const bodies: number[] = [];
  const deps = task({
    name: "needs_connection",
    retry: Retry({ attempts: 3 }),
    deps: {
      connection: depends(() => {
        factoryCalls++;
        if (factoryCalls === 1) throw new Error("connection refused");
        return { id: factoryCalls };
      }),
    },
    run(_payload: Record<string, never>, ctx) {
      bodies.push(ctx.attempt);
      return ctx.deps.connection.id;
    },
  });
  const slowOnce = task({
    name: "slow_once",
    retry: Retry({ attempts: 3 }),
    timeout: 100,
    async run(_payload: Record<string, never>, ctx) {
      if (ctx.attempt === 1) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      }
      return ctx.attempt;
    },
  });
  docket.register(deps);
  docket.register(slowOnce);
  const a = await docket.add(deps)({});
  const b = await docket.add(slowOnce)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await a.getResult({ timeout: 1_000 }), 2);
  assert.deepEqual(bodies, [2], "the body did not run when its dependency failed");
  assert.equal(await b.getResult({ timeout: 1_000 }), 2, "the timed-out attempt was retried");
});

eachBackend("cancellation is never retried", async (kind) => {
  await using docket = await connectDocket(kind);
  let calls = 0;
  const started = signal();
  const patient = task({
    name: "patient",
    retry: Retry({ attempts: 5 }),
    async run(_payload: Record<string, never>, ctx) {
      calls++;
      started.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      throw new Error("aborted");
    },
  });
  docket.register(patient);
  const execution = await docket.add(patient)({});
  const worker = new Worker(docket, FAST);
  const running = worker.runUntilFinished();
  await within(started.promise, 10_000, "the task to start");
  await docket.cancel(execution.key);
  assert.equal(await settled(execution), ExecutionState.CANCELLED);
  await within(running, 10_000, "the worker to run out of work");
  assert.equal(calls, 1);
});

eachBackend(
  "a failed attempt that is retried is logged as a warning, then as rescheduled",
  async (kind) => {
    const logs = new LogCapture();
    await using docket = await connectDocket(kind, { logger: logs.logger });
    const once = task({
      name: "log_retry",
      retry: Retry({ attempts: 2, delay: 10 }),
      logged: { id: true },
      run(_payload: { id: number }, ctx) {
        if (ctx.attempt === 1) throw new Error("transient");
      },
    });
    docket.register(once);
    await docket.add(once, { key: "k1" })({ id: 7 });
    await new Worker(docket, FAST).runUntilFinished();
    const ends = linesWith(logs.lines, "↩");
    assert.equal(ends[0].level, 40, "warn: the task has not failed yet");
    assert.equal((ends[0].err as { message: string }).message, "transient");
    assert.match(String(ends[0].msg), /log_retry\(id=7\)\{k1\}/);
    assert.match(String(linesWith(logs.lines, "↫")[0].msg), /log_retry\(id=7\)\{k1\} retrying at/);
    assert.equal(linesWith(logs.lines, "↬")[0].attempt, 2, "the retry starts with ↬");
    assert.equal(ends[1].level, 30);
  },
);
