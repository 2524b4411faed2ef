/**
 * depends / shared: per-execution values cached per factory, per-worker values made once, sync
 * and async factories, LIFO disposal, worker-level dependencies, and failing factories.
 */

import assert from "node:assert/strict";
import { DependencyError, depends, shared, task, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { eachBackend, signal, within } from "./_support.ts";

/** A resource that records its disposal in `log`, sync or async. */
function resource(name: string, log: string[], async: boolean) {
  return async
    ? {
      name,
      async [Symbol.asyncDispose]() {
        await Promise.resolve();
        log.push(`dispose ${name}`);
      },
    }
    : {
      name,
      [Symbol.dispose]() {
        log.push(`dispose ${name}`);
      },
    };
}

eachBackend("depends: made per execution, once per factory, disposed last first", async (kind) => {
  await using docket = await connectDocket(kind);
  const log: string[] = [];
  let made = 0;
  const connection = depends(async (scope) => {
    made++;
    log.push(`make connection for ${scope.key}`);
    await Promise.resolve();
    return resource(`connection-${scope.key}`, log, true);
  });
  const repository = depends((scope) => {
    log.push(`make repository for ${scope.taskName}`);
    return resource(`repository-${scope.key}`, log, false);
  });
  const report = task({
    name: "report",
    // `db` and `sameDb` share a factory: one value per execution.
    deps: { db: connection, repository, sameDb: connection },
    run(payload: { n: number }, ctx) {
      assert.equal(ctx.deps.db, ctx.deps.sameDb);
      log.push(`run ${payload.n} with ${ctx.deps.db.name} and ${ctx.deps.repository.name}`);
      return ctx.deps.db.name;
    },
  });
  docket.register(report);
  const first = await docket.add(report, { key: "a" })({ n: 1 });
  await new Worker(docket, FAST).runUntilFinished();
  const second = await docket.add(report, { key: "b" })({ n: 2 });
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(await first.getResult({ timeout: 1_000 }), "connection-a");
  assert.equal(await second.getResult({ timeout: 1_000 }), "connection-b");
  assert.equal(made, 2, "one connection per execution");
  assert.deepEqual(log, [
    "make connection for a",
    "make repository for report",
    "run 1 with connection-a and repository-a",
    "dispose repository-a",
    "dispose connection-a",
    "make connection for b",
    "make repository for report",
    "run 2 with connection-b and repository-b",
    "dispose repository-b",
    "dispose connection-b",
  ]);
});

eachBackend("shared: made once per worker, disposed when the worker stops", async (kind) => {
  await using docket = await connectDocket(kind);
  const log: string[] = [];
  let made = 0;
  const pool = shared(async () => {
    made++;
    await Promise.resolve();
    return resource(`pool-${made}`, log, true);
  });
  const config = shared(() => ({ region: "eu" })); // sync, nothing to dispose
  const query = task({
    name: "query",
    deps: { pool, config },
    run(_payload: { n: number }, ctx) {
      log.push(`query on ${ctx.deps.pool.name} in ${ctx.deps.config.region}`);
    },
  });
  docket.register(query);
  await docket.addMany(query)([{ n: 1 }, { n: 2 }, { n: 3 }]);
  await new Worker(docket, { ...FAST, concurrency: 3 }).runUntilFinished();
  assert.equal(made, 1, "three concurrent executions shared one pool");
  assert.deepEqual(log, [
    "query on pool-1 in eu",
    "query on pool-1 in eu",
    "query on pool-1 in eu",
    "dispose pool-1",
  ]);
  // A new worker makes its own.
  await docket.add(query)({ n: 4 });
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(made, 2);
  assert.deepEqual(log.slice(4), ["query on pool-2 in eu", "dispose pool-2"]);
});

eachBackend("worker-level dependencies reach every task; a task's own win", async (kind) => {
  await using docket = await connectDocket(kind);
  const seen: Record<string, unknown>[] = [];
  const tenant = depends(() => "acme");
  const mine = task({
    name: "mine",
    deps: { region: depends(() => "us") },
    run(_payload: Record<string, never>, ctx) {
      seen.push({ ...(ctx.deps as Record<string, unknown>) });
    },
  });
  docket.register(mine);
  await docket.add(mine)({});
  const worker = new Worker(docket, {
    ...FAST,
    dependencies: { tenant, region: depends(() => "eu") },
  });
  await worker.runUntilFinished();
  assert.deepEqual(seen, [{ tenant: "acme", region: "us" }]);
});

eachBackend("a failing factory fails the task without running its body", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const log: string[] = [];
  let bodyRan = false;
  const guarded = task({
    name: "guarded",
    deps: {
      first: depends(() => resource("first", log, false)),
      database: depends(() => {
        throw new Error("connection refused");
      }),
      never: depends(() => log.push("made never")),
    },
    run() {
      bodyRan = true;
    },
  });
  docket.register(guarded);
  const execution = await docket.add(guarded)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.equal(bodyRan, false);
  assert.deepEqual(log, ["dispose first"], "made ones are disposed; later ones never made");
  await execution.sync();
  assert.equal(execution.state, "failed");
  assert.equal(
    execution.error,
    'DependencyError: failed to resolve dependency "database": connection refused',
  );
  await assert.rejects(execution.getResult({ timeout: 1_000 }), (error: Error) => {
    assert.equal(error.name, "DependencyError");
    assert.match(error.message, /"database"/);
    return true;
  });
  const failure = logs.records.find((r) => r.level === 50 && String(r.msg).startsWith("↩"));
  assert.match(
    JSON.stringify(failure?.err),
    /failed to resolve dependency \\"database\\": connection refused/,
  );
  assert.ok(new DependencyError("x", "y") instanceof Error);
});

eachBackend("a failing shared factory is tried again by the next task", async (kind) => {
  await using docket = await connectDocket(kind);
  let attempts = 0;
  const flaky = shared(() => {
    attempts++;
    if (attempts === 1) throw new Error("not ready");
    return "ready";
  });
  const use = task({
    name: "use_flaky",
    deps: { flaky },
    run(_payload: { n: number }, ctx) {
      return ctx.deps.flaky;
    },
  });
  docket.register(use);
  const first = await docket.add(use)({ n: 1 });
  await new Worker(docket, FAST).runUntilFinished();
  const second = await docket.add(use)({ n: 2 });
  await new Worker(docket, FAST).runUntilFinished();
  await assert.rejects(first.getResult({ timeout: 1_000 }), /"flaky": not ready/);
  assert.equal(await second.getResult({ timeout: 1_000 }), "ready");
});

eachBackend("disposal runs after failures too; a disposal error fails the task", async (kind) => {
  await using docket = await connectDocket(kind);
  const log: string[] = [];
  const boom = task({
    name: "boom",
    deps: {
      a: depends(() => resource("a", log, true)),
      b: depends(() => resource("b", log, false)),
    },
    run() {
      throw new Error("body failed");
    },
  });
  const badDispose = task({
    name: "bad_dispose",
    deps: {
      kept: depends(() => resource("kept", log, false)),
      broken: depends(() => ({
        [Symbol.dispose]() {
          throw new Error("cannot close");
        },
      })),
    },
    run: () => "fine",
  });
  docket.register(boom);
  docket.register(badDispose);
  const failed = await docket.add(boom)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(log, ["dispose b", "dispose a"]);
  await assert.rejects(failed.getResult({ timeout: 1_000 }), /body failed/);
  const broken = await docket.add(badDispose)({});
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(log.slice(2), ["dispose kept"], "one failing disposal does not skip the rest");
  await assert.rejects(broken.getResult({ timeout: 1_000 }), /cannot close/);
});

eachBackend("dependencies made while a task times out are disposed", async (kind) => {
  await using docket = await connectDocket(kind);
  const log: string[] = [];
  let bodyRan = false;
  const disposed = signal();
  const slowSetup = task({
    name: "slow_setup",
    timeout: 50,
    deps: {
      session: depends(async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return {
          [Symbol.dispose]() {
            log.push("dispose session");
            disposed.resolve();
          },
        };
      }),
    },
    run() {
      bodyRan = true;
    },
  });
  docket.register(slowSetup);
  const execution = await docket.add(slowSetup)({});
  await new Worker(docket, FAST).runUntilFinished();
  await assert.rejects(execution.getResult({ timeout: 1_000 }), { name: "TimeoutError" });
  // The factory finishes after the timeout: its value is disposed and the body never runs.
  await within(disposed.promise, 5_000, "the late dependency to be disposed");
  assert.deepEqual(log, ["dispose session"]);
  assert.equal(bodyRan, false);
});
