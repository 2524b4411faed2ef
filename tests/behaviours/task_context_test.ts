/**
 * The task context: every field of the contract, the logger's bindings, progress, and the
 * behaviour controls (present on every task; clear errors on tasks without the behaviour).
 */

import assert from "node:assert/strict";
import { Perpetual, Retry, task, type TaskContext, Timeout, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { eachBackend } from "./_support.ts";

eachBackend("ctx carries every field of the contract", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  let seen: TaskContext | undefined;
  let abortedDuringRun: boolean | undefined;
  let progress: unknown;
  const inspect = task({
    name: "inspect",
    async run(_payload: { datasetId: string }, ctx) {
      seen = ctx;
      abortedDuringRun = ctx.signal.aborted;
      ctx.logger.info({ datasetId: "d1" }, "Starting data pipeline");
      await ctx.progress.setTotal(10);
      await ctx.progress.increment(3);
      await ctx.progress.setMessage("extracting");
      progress = [ctx.progress.current, ctx.progress.total, ctx.progress.message];
      return ctx.execution.payload;
    },
  });
  docket.register(inspect);
  const execution = await docket.add(inspect, { key: "inspect-1" })({ datasetId: "d1" });
  const worker = new Worker(docket, { ...FAST, name: "inspector" });
  await worker.runUntilFinished();
  assert.deepEqual(await execution.getResult({ timeout: 1_000 }), { datasetId: "d1" });

  assert.ok(seen);
  assert.equal(seen.docket, docket);
  assert.equal(seen.worker, worker);
  assert.equal(seen.worker.name, "inspector");
  assert.equal(seen.key, "inspect-1");
  assert.equal(seen.attempt, 1);
  assert.equal(seen.execution.key, "inspect-1");
  assert.equal(seen.execution.taskName, "inspect");
  assert.equal(seen.execution.attempt, 1);
  assert.equal(seen.execution.state, "running");
  assert.equal(seen.execution.worker, "inspector");
  assert.ok(seen.execution.startedAt instanceof Date);
  assert.ok(seen.signal instanceof AbortSignal);
  assert.equal(abortedDuringRun, false);
  assert.deepEqual(seen.deps, {});
  assert.deepEqual(progress, [3, 10, "extracting"]);

  // The logger is bound to docket, worker, task, key and attempt (the seed's TaskLogger).
  const line = logs.records.find((r) => r.msg === "Starting data pipeline");
  assert.ok(line);
  assert.equal(line.docket, docket.name);
  assert.equal(line.worker, "inspector");
  assert.equal(line.task, "inspect");
  assert.equal(line.key, "inspect-1");
  assert.equal(line.attempt, 1);
  assert.equal(line.datasetId, "d1");
});

eachBackend("on a task without the behaviour, ctx controls throw clearly", async (kind) => {
  await using docket = await connectDocket(kind);
  let seen: TaskContext | undefined;
  const plain = task({
    name: "plain",
    run(_payload: Record<string, never>, ctx) {
      seen = ctx;
    },
  });
  const misuses = task({
    name: "misuses_retry",
    run(_payload: Record<string, never>, ctx) {
      ctx.retry.after(1_000);
    },
  });
  docket.register(plain);
  docket.register(misuses);
  await docket.add(plain)({});
  const misuse = await docket.add(misuses)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.ok(seen);
  const ctx = seen;
  // Present, so typed code needs no `?.`; any use names the missing option.
  assert.equal(typeof ctx.retry, "object");
  assert.throws(
    () => ctx.retry.attempt,
    {
      name: "TypeError",
      message: 'ctx.retry is only available on tasks with a retry option; task "plain" has none',
    },
  );
  assert.throws(() => ctx.retry.at(Date.now()), /ctx\.retry is only available/);
  assert.throws(
    () => ctx.perpetual.cancel(),
    /ctx\.perpetual is only available on perpetual and cron tasks \(a perpetual or cron option\)/,
  );
  assert.throws(() => (ctx.perpetual.every = 5), /ctx\.perpetual is only available/);
  assert.throws(() => ctx.perpetual.perpetuate({}), /ctx\.perpetual is only available/);
  assert.throws(
    () => ctx.timeout.remaining(),
    /ctx\.timeout is only available on tasks with a timeout option; task "plain" has none/,
  );
  assert.throws(() => ctx.timeout.extend(), /ctx\.timeout is only available/);
  // Using one fails the task with that message (and is not a retry request).
  await misuse.sync();
  assert.equal(misuse.state, "failed");
  assert.match(
    misuse.error!,
    /^TypeError: ctx\.retry is only available on tasks with a retry option/,
  );
});

eachBackend("tasks with behaviours get working controls", async (kind) => {
  await using docket = await connectDocket(kind);
  const seen: Record<string, unknown> = {};
  const full = task({
    name: "full",
    perpetual: Perpetual({ every: { minutes: 5 } }),
    retry: Retry({ attempts: 4 }),
    timeout: Timeout({ seconds: 10 }),
    run(_payload: Record<string, never>, ctx) {
      seen.every = ctx.perpetual.every;
      seen.attempts = ctx.retry.attempts;
      seen.attempt = ctx.retry.attempt;
      seen.remaining = ctx.timeout.remaining();
      ctx.perpetual.cancel();
    },
  });
  docket.register(full);
  await docket.add(full)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(seen.every, 300_000);
  assert.equal(seen.attempts, 4);
  assert.equal(seen.attempt, 1);
  assert.ok((seen.remaining as number) > 9_000 && (seen.remaining as number) <= 10_000);
});

eachBackend("a plain named function is a task and receives the context", async (kind) => {
  await using docket = await connectDocket(kind);
  const keys: string[] = [];
  function notify(payload: { to: string }, ctx: TaskContext) {
    keys.push(`${ctx.key}:${payload.to}:${ctx.execution.taskName}`);
  }
  docket.register(notify);
  await docket.add(notify, { key: "n1" })({ to: "ops" });
  await docket.add("notify", { key: "n2" })({ to: "dev" });
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(keys.sort(), ["n1:ops:notify", "n2:dev:notify"]);
});
