/**
 * ConcurrencyLimit: per argument value and per task, several limits on one task, waiting in
 * arrival order without polling, leases and recovery from dead holders, cancel and dedup of
 * waiting tasks, and the seed's "Concurrency Control" examples.
 */

import assert from "node:assert/strict";
import {
  ConcurrencyLimit,
  type Docket,
  type ExecutionEvent,
  ExecutionState,
  Retry,
  task,
  Worker,
} from "../../mod.ts";
import { BACKENDS, connectDocket, FAST, waitUntil } from "../_harness.ts";
import { Gate, Overlap, redisCommand, redisKeys, sleep, waitForState } from "./_support.ts";

/** Runs a worker until `body` is done, then stops it. */
async function withWorker(
  docket: Docket,
  options: ConstructorParameters<typeof Worker>[1],
  body: (worker: Worker) => Promise<void>,
): Promise<void> {
  const worker = new Worker(docket, { ...FAST, ...options });
  const running = worker.runForever();
  try {
    await body(worker);
  } finally {
    await worker.stop();
    await running;
  }
}

for (const kind of BACKENDS) {
  Deno.test(`concurrency [${kind}]: one run per value at a time, values in parallel`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const ran: string[] = [];
    const job = task({
      name: "per_customer",
      concurrency: ConcurrencyLimit("customerId", { max: 1 }),
      async run({ customerId }: { customerId: string }) {
        overlap.enter(customerId);
        await sleep(15);
        overlap.leave(customerId);
        ran.push(customerId);
      },
    });
    docket.register(job);
    await docket.addMany(job)(
      Array.from({ length: 24 }, (_, i) => ({ customerId: `c${i % 4}` })),
    );
    await new Worker(docket, { ...FAST, concurrency: 10 }).runUntilFinished();
    assert.equal(ran.length, 24);
    for (const c of ["c0", "c1", "c2", "c3"]) assert.equal(overlap.peak(c), 1, c);
    assert.ok(overlap.peakTotal > 1, "different customers ran in parallel");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), [], "no slot or waiter key left");
  });

  Deno.test(`concurrency [${kind}]: a per-task limit caps runs across two workers`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const job = task({
      name: "capped",
      concurrency: ConcurrencyLimit({ max: 3 }),
      async run() {
        overlap.enter("all");
        await sleep(15);
        overlap.leave("all");
      },
    });
    docket.register(job);
    await docket.addMany(job)(Array.from({ length: 24 }, () => ({})));
    await Promise.all([
      new Worker(docket, { ...FAST, concurrency: 5, name: "a" }).runUntilFinished(),
      new Worker(docket, { ...FAST, concurrency: 5, name: "b" }).runUntilFinished(),
    ]);
    assert.equal(overlap.peak("all"), 3);
  });

  Deno.test(`concurrency [${kind}]: a task waiting on one limit holds none of the others`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const ran: string[] = [];
    const exportJob = task({
      name: "export",
      concurrency: [
        ConcurrencyLimit("user", { max: 1 }),
        ConcurrencyLimit("region", { max: 1 }),
      ],
      async run({ user, region }: { user: string; region: string }, ctx) {
        if (ctx.key === "h") {
          started.open();
          await gate.opened;
        }
        ran.push(`${user}/${region}`);
      },
    });
    docket.register(exportJob);
    await withWorker(docket, {}, async () => {
      await docket.add(exportJob, { key: "h" })({ user: "u1", region: "r1" });
      await started.opened;
      await docket.add(exportJob, { key: "t2" })({ user: "u1", region: "r2" });
      await waitForState(docket, "t2", "scheduled");
      const t3 = await docket.add(exportJob, { key: "t3" })({ user: "u2", region: "r2" });
      // t2 waits for u1 but must not hold r2: t3 runs while the holder still runs.
      await t3.getResult({ timeout: 5_000 });
      assert.deepEqual(ran, ["u2/r2"]);
      gate.open();
      await (await docket.getExecution("t2"))!.getResult({ timeout: 5_000 });
    });
    assert.deepEqual(ran, ["u2/r2", "u1/r1", "u1/r2"]);
  });

  Deno.test(`concurrency [${kind}]: waiters are woken in arrival order`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const order: number[] = [];
    const job = task({
      name: "ordered",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run({ n }: { resource: string; n: number }) {
        if (n === 0) {
          started.open();
          await gate.opened;
        }
        order.push(n);
      },
    });
    docket.register(job);
    await withWorker(docket, { concurrency: 10 }, async () => {
      await docket.add(job, { key: "w0" })({ resource: "db", n: 0 });
      await started.opened;
      for (let n = 1; n <= 5; n++) {
        await docket.add(job, { key: `w${n}` })({ resource: "db", n });
        await waitForState(docket, `w${n}`, "scheduled");
      }
      // Parked: acknowledged off the stream, counted as waiting, never polling.
      assert.deepEqual(await docket.backend.counts(), { stream: 1, queue: 5 });
      gate.open();
      await waitUntil(() => order.length === 6, 10_000, "every task to run");
    });
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  Deno.test(`concurrency [${kind}]: a held-back task never shows RUNNING before it runs`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    let holderEnded = 0;
    let bodyStarted = 0;
    const job = task({
      name: "observed",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run(_p: { resource: string }, ctx) {
        if (ctx.key === "holder") {
          started.open();
          await gate.opened;
          holderEnded = Date.now();
        } else {
          bodyStarted = Date.now();
        }
      },
    });
    docket.register(job);
    await withWorker(docket, {}, async () => {
      await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      const blocked = await docket.add(job, { key: "blocked" })({ resource: "x" });
      const events: ExecutionEvent[] = [];
      const watching = (async () => {
        for await (const event of blocked.subscribe()) {
          events.push(event);
          if (event.type === "state" && event.state === "completed") break;
        }
      })();
      await waitForState(docket, "blocked", "scheduled");
      await sleep(100);
      const states = () =>
        events.flatMap((event) => event.type === "state" ? [event.state as string] : []);
      assert.ok(!states().includes("running"), `no running event yet: ${states()}`);
      gate.open();
      await watching;
      assert.equal(states().filter((s) => s === "running").length, 1, states().join(","));
      assert.deepEqual(states().slice(states().indexOf("running")), ["running", "completed"]);
      const running = events.find((e) => e.type === "state" && e.state === "running");
      assert.ok(running?.type === "state" && running.startedAt);
      assert.ok(running.startedAt.getTime() >= holderEnded, "running only after the holder ended");
      assert.ok(running.startedAt.getTime() <= bodyStarted, "running before the body starts");
    });
  });

  Deno.test(`concurrency [${kind}]: a waiting task can be cancelled and never runs`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const ran: string[] = [];
    const job = task({
      name: "cancellable",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run(_p: { resource: string }, ctx) {
        if (ctx.key === "holder") {
          started.open();
          await gate.opened;
        }
        ran.push(ctx.key);
      },
    });
    docket.register(job);
    await withWorker(docket, {}, async () => {
      const holder = await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      const waiting = await docket.add(job, { key: "waiting" })({ resource: "x" });
      await waitForState(docket, "waiting", "scheduled");
      // While it waits, adding its key again is deduplicated.
      const again = await docket.add(job, { key: "waiting" })({ resource: "x" });
      assert.equal(again.disposition, "already_scheduled");
      await docket.cancel("waiting");
      await assert.rejects(waiting.getResult({ timeout: 2_000 }), {
        name: "ExecutionCancelledError",
      });
      gate.open();
      await holder.getResult({ timeout: 5_000 });
      await waitUntil(async () => (await docket.backend.counts()).queue === 0, 5_000, "drain");
      await sleep(50);
    });
    assert.deepEqual(ran, ["holder"]);
    assert.equal((await docket.backend.readRun("waiting"))?.state, ExecutionState.CANCELLED);
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: a missing parameter fails the task, naming it`, async () => {
    await using docket = await connectDocket(kind);
    let ran = false;
    const job = task({
      name: "needs_customer",
      concurrency: ConcurrencyLimit("customerId", { max: 1 }),
      run: () => void (ran = true),
    });
    docket.register(job);
    const execution = await docket.add(job)({ amount: 5, currency: "EUR" });
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(ran, false);
    await assert.rejects(
      execution.getResult({ timeout: 2_000 }),
      /ConcurrencyLimit parameter "customerId" not found .*available: amount, currency/,
    );
  });

  Deno.test(`concurrency [${kind}]: slots are freed however a run ends`, async () => {
    await using docket = await connectDocket(kind);
    const attempts = new Map<string, number>();
    const job = task({
      name: "ends",
      concurrency: ConcurrencyLimit({ max: 1 }),
      retry: Retry({ attempts: 2 }),
      timeout: 300,
      async run({ how }: { how: string }, ctx) {
        attempts.set(how, (attempts.get(how) ?? 0) + 1);
        if (how === "fail" || (how === "retry" && ctx.attempt === 1)) throw new Error(how);
        if (how === "timeout" && ctx.attempt === 1) await sleep(1_000);
        if (how === "cancel") {
          await docket.cancel(ctx.key);
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        }
        return how;
      },
    });
    docket.register(job);
    const hows = ["complete", "fail", "retry", "timeout", "cancel", "last"];
    const executions = await docket.addMany(job)(hows.map((how) => ({ how })));
    // With the default 5-minute lease, any slot left held would stall the rest.
    await new Worker(docket, { ...FAST, concurrency: 4 }).runUntilFinished();
    const states = await Promise.all(executions.map(async (e) => (await e.sync(), e.state)));
    assert.deepEqual(states, [
      "completed",
      "failed",
      "completed",
      "completed",
      "cancelled",
      "completed",
    ]);
    assert.equal(attempts.get("fail"), 2);
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: a dead holder's task is taken over on redelivery`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "taken_over",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      run: (_p: { resource: string }, ctx) => void ran.push(ctx.key),
    });
    docket.register(job);
    await docket.add(job, { key: "holder" })({ resource: "x" });
    // A worker that claims and admits the holder, then dies without releasing anything.
    const dead = await docket.backend.consumer("dead", () => {});
    const [delivery] = await dead.claim({
      count: 1,
      blockMs: 0,
      now: Date.now(),
      gated: () => true,
    });
    const admitted = await docket.backend.admit({
      delivery,
      worker: "dead",
      checks: [{ kind: "concurrency", name: "concurrency:resource:x", max: 1 }],
      leaseMs: 300,
      ttlMs: docket.executionTtl,
    }, Date.now());
    assert.equal(admitted.outcome, "admitted");
    await dead.close();
    await docket.add(job, { key: "w1" })({ resource: "x" });
    await docket.add(job, { key: "w2" })({ resource: "x" });
    await new Worker(docket, { ...FAST, redeliveryTimeout: 300 }).runUntilFinished();
    assert.deepEqual([...ran].sort(), ["holder", "w1", "w2"]);
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: with no new arrivals the safeguard frees a dead slot`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "rescued",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      run: (_p: { resource: string }, ctx) => void ran.push(ctx.key),
    });
    docket.register(job);
    await docket.add(job, { key: "holder" })({ resource: "x" });
    const dead = await docket.backend.consumer("dead", () => {});
    const [delivery] = await dead.claim({
      count: 1,
      blockMs: 0,
      now: Date.now(),
      gated: () => true,
    });
    const check = { kind: "concurrency" as const, name: "concurrency:resource:x", max: 1 };
    await docket.backend.admit({
      delivery,
      worker: "dead",
      checks: [check],
      leaseMs: 400,
      ttlMs: docket.executionTtl,
    }, Date.now());
    await dead.close();
    // Its record is gone too (cancelled): its redelivered message is dropped, so nothing
    // releases the slot; only the safeguard can.
    await docket.cancel("holder");
    await docket.add(job, { key: "w1" })({ resource: "x" });
    await docket.add(job, { key: "w2" })({ resource: "x" });
    const started = Date.now();
    await new Worker(docket, { ...FAST, redeliveryTimeout: 400 }).runUntilFinished();
    assert.deepEqual(ran, ["w1", "w2"]);
    assert.ok(Date.now() - started >= 250, "they waited for the slot to go stale");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  Deno.test(`concurrency [${kind}]: stale slots do not block a new arrival`, async () => {
    await using docket = await connectDocket(kind);
    let ran = 0;
    const job = task({
      name: "after_stale",
      concurrency: ConcurrencyLimit({ max: 2 }),
      run: () => void ran++,
    });
    docket.register(job);
    const dead = await docket.backend.consumer("dead", () => {});
    for (const key of ["d1", "d2"]) {
      await docket.add(job, { key })({});
      const [delivery] = await dead.claim({
        count: 1,
        blockMs: 0,
        now: Date.now(),
        gated: () => true,
      });
      await docket.backend.admit({
        delivery,
        worker: "dead",
        checks: [{ kind: "concurrency", name: "concurrency:after_stale", max: 2 }],
        leaseMs: 300,
        ttlMs: docket.executionTtl,
      }, Date.now());
      await docket.cancel(key);
    }
    await dead.close();
    await sleep(350);
    await withWorker(docket, { redeliveryTimeout: 300 }, async () => {
      const added = Date.now();
      await (await docket.add(job)({})).getResult({ timeout: 5_000 });
      assert.ok(Date.now() - added < 2_000, "it ran at once");
    });
    assert.equal(ran, 1);
  });

  Deno.test(`concurrency [${kind}]: scopes keep limits apart; no scope shares them`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const make = (name: string, scope?: string) =>
      task({
        name,
        concurrency: ConcurrencyLimit("tenant", { max: 1, scope }),
        async run({ tenant }: { tenant: string }) {
          overlap.enter(`${scope ?? "shared"}:${tenant}`, tenant);
          await sleep(30);
          overlap.leave(`${scope ?? "shared"}:${tenant}`, tenant);
        },
      });
    const a = make("tenant_a");
    const b = make("tenant_b");
    const scoped = make("tenant_scoped", "reports");
    for (const t of [a, b, scoped]) docket.register(t);
    for (let i = 0; i < 3; i++) {
      await docket.add(a)({ tenant: "t1" });
      await docket.add(b)({ tenant: "t1" });
      await docket.add(scoped)({ tenant: "t1" });
    }
    await new Worker(docket, { ...FAST, concurrency: 10 }).runUntilFinished();
    assert.equal(overlap.peak("shared:t1"), 1, "a and b share the unscoped limit");
    assert.equal(overlap.peak("reports:t1"), 1);
    assert.equal(overlap.peak("t1"), 2, "the scoped limit is separate");
  });

  Deno.test(`concurrency [${kind}]: a woken waiter that is struck gives its slot on`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const ran: number[] = [];
    const job = task({
      name: "strikeable",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run({ n }: { resource: string; n: number }) {
        if (n === 0) {
          started.open();
          await gate.opened;
        }
        ran.push(n);
      },
    });
    docket.register(job);
    // The default lease (5 min): a reservation left behind would stall the last waiter.
    await withWorker(docket, {}, async () => {
      await docket.add(job, { key: "w0" })({ resource: "x", n: 0 });
      await started.opened;
      for (const n of [1, 2]) {
        await docket.add(job, { key: `w${n}` })({ resource: "x", n });
        await waitForState(docket, `w${n}`, "scheduled");
      }
      await docket.strike(job, "n", "==", 1);
      await waitUntil(() => docket.isStruck("strikeable", "w1", { resource: "x", n: 1 }));
      gate.open();
      await (await docket.getExecution("w2"))!.getResult({ timeout: 5_000 });
    });
    assert.deepEqual(ran, [0, 2]);
    assert.equal((await docket.backend.readRun("w1"))?.state, "cancelled");
  });

  Deno.test(`concurrency [${kind}]: works on a docket that keeps nothing`, async () => {
    await using docket = await connectDocket(kind, { executionTtl: 0 });
    const overlap = new Overlap();
    let runs = 0;
    const job = task({
      name: "untracked",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run({ resource }: { resource: string }) {
        overlap.enter(resource);
        await sleep(10);
        overlap.leave(resource);
        runs++;
      },
    });
    docket.register(job);
    await docket.addMany(job)(Array.from({ length: 12 }, (_, i) => ({ resource: `r${i % 2}` })));
    await new Worker(docket, { ...FAST, concurrency: 6 }).runUntilFinished();
    assert.equal(runs, 12);
    assert.equal(overlap.peak("r0"), 1);
    assert.equal(overlap.peak("r1"), 1);
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "*"), await redisKeys(docket, "[swq]*"));
  });

  Deno.test(`concurrency [${kind}]: snapshot lists parked tasks; clear drops them`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const ran: string[] = [];
    const job = task({
      name: "clearable",
      concurrency: ConcurrencyLimit("resource", { max: 1 }),
      async run(_p: { resource: string }, ctx) {
        if (ctx.key === "holder") {
          started.open();
          await gate.opened;
        }
        ran.push(ctx.key);
      },
    });
    docket.register(job);
    await withWorker(docket, {}, async () => {
      const holder = await docket.add(job, { key: "holder" })({ resource: "x" });
      await started.opened;
      for (const key of ["p1", "p2"]) {
        await docket.add(job, { key })({ resource: "x" });
        await waitForState(docket, key, "scheduled");
      }
      const snapshot = await docket.snapshot();
      assert.deepEqual(snapshot.future.map((e) => e.key).sort(), ["p1", "p2"]);
      assert.equal(snapshot.totalTasks, 3);
      assert.equal(await docket.clear(), 2);
      gate.open();
      await holder.getResult({ timeout: 5_000 });
    });
    assert.deepEqual(ran, ["holder"]);
    assert.equal((await docket.backend.readRun("p1"))?.state, "cancelled");
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    assert.deepEqual(await redisKeys(docket, "concurrency*"), []);
  });

  // --- The seed's "Concurrency Control" examples, as written (in TypeScript) ---

  Deno.test(`seed: basic concurrency limits [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const processCustomerData = task({
      name: "process_customer_data",
      concurrency: ConcurrencyLimit("customer_id", { max: 1 }),
      async run({ customer_id }: { customer_id: number }) {
        overlap.enter(String(customer_id));
        await sleep(40); // update_customer_profile, recalculate_customer_metrics
        overlap.leave(String(customer_id));
      },
    });
    docket.register(processCustomerData);
    // These will run sequentially for the same customer
    await docket.add(processCustomerData)({ customer_id: 1001 });
    await docket.add(processCustomerData)({ customer_id: 1001 });
    await docket.add(processCustomerData)({ customer_id: 1001 });
    // But different customers can run concurrently
    await docket.add(processCustomerData)({ customer_id: 2001 });
    await docket.add(processCustomerData)({ customer_id: 3001 });
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(overlap.peak("1001"), 1);
    assert.equal(overlap.peakTotal, 3, "1001, 2001 and 3001 ran at once");
  });

  Deno.test(`seed: database connection pooling [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const backed: string[] = [];
    const backupDatabaseTable = task({
      name: "backup_database_table",
      concurrency: ConcurrencyLimit("db_name", { max: 2 }),
      async run({ db_name, table_name }: { db_name: string; table_name: string }) {
        overlap.enter(db_name);
        await sleep(25); // create_table_backup, verify_backup_integrity
        overlap.leave(db_name);
        backed.push(`${db_name}.${table_name}`);
      },
    });
    docket.register(backupDatabaseTable);
    // Schedule many backup tasks - only 2 per database will run concurrently
    const tables = ["users", "orders", "products", "analytics", "logs"];
    for (const table of tables) {
      await docket.add(backupDatabaseTable)({ db_name: "production", table_name: table });
      await docket.add(backupDatabaseTable)({ db_name: "staging", table_name: table });
    }
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(backed.length, 10);
    assert.equal(overlap.peak("production"), 2);
    assert.equal(overlap.peak("staging"), 2);
  });

  Deno.test(`seed: API rate limiting and file processing limits [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const syncUser = task({
      name: "sync_user_with_external_service",
      concurrency: ConcurrencyLimit("service_name", { max: 5 }),
      async run({ service_name }: { user_id: number; service_name: string }) {
        overlap.enter(service_name);
        await sleep(20);
        overlap.leave(service_name);
      },
    });
    const processMediaFile = task({
      name: "process_media_file",
      concurrency: ConcurrencyLimit("operation_type", { max: 3 }),
      async run({ operation_type }: { file_path: string; operation_type: string }) {
        overlap.enter(operation_type);
        await sleep(20);
        overlap.leave(operation_type);
      },
    });
    docket.register(syncUser);
    docket.register(processMediaFile);
    await docket.add(syncUser)({ user_id: 123, service_name: "salesforce" });
    await docket.add(syncUser)({ user_id: 456, service_name: "salesforce" });
    await docket.add(syncUser)({ user_id: 789, service_name: "hubspot" });
    for (let i = 0; i < 8; i++) {
      await docket.add(syncUser)({ user_id: 1000 + i, service_name: "salesforce" });
      await docket.add(processMediaFile)({
        file_path: `/videos/movie${i}.mp4`,
        operation_type: "video_transcode",
      });
    }
    await docket.add(processMediaFile)({
      file_path: "/images/photo1.jpg",
      operation_type: "image_resize",
    });
    await new Worker(docket, { ...FAST, concurrency: 20 }).runUntilFinished();
    assert.equal(overlap.peak("salesforce"), 5);
    assert.equal(overlap.peak("video_transcode"), 3);
    assert.equal(overlap.peak("hubspot"), 1);
    assert.equal(overlap.peak("image_resize"), 1);
  });

  Deno.test(`seed: custom scopes and multi-level concurrency [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const processTenantData = task({
      name: "process_tenant_data",
      concurrency: ConcurrencyLimit("tenant_id", { max: 2, scope: "tenant_operations" }),
      async run({ tenant_id }: { tenant_id: string; operation: string }) {
        overlap.enter(`tenant:${tenant_id}`);
        await sleep(20);
        overlap.leave(`tenant:${tenant_id}`);
      },
    });
    const processGlobalData = task({
      name: "process_global_data",
      concurrency: ConcurrencyLimit("data_type", { max: 1, scope: "global_operations" }),
      async run({ data_type }: { data_type: string }) {
        overlap.enter(`global:${data_type}`);
        await sleep(20);
        overlap.leave(`global:${data_type}`);
      },
    });
    const processUserExport = task({
      name: "process_user_export",
      concurrency: [
        ConcurrencyLimit("user_id", { max: 1 }),
        ConcurrencyLimit("export_type", { max: 3 }),
        ConcurrencyLimit("region", { max: 10 }),
      ],
      async run({ user_id, export_type, region }: {
        user_id: number;
        export_type: string;
        region: string;
      }) {
        const groups = [`user:${user_id}`, `type:${export_type}`, `region:${region}`];
        overlap.enter(...groups);
        await sleep(15);
        overlap.leave(...groups);
      },
    });
    for (const t of [processTenantData, processGlobalData, processUserExport]) docket.register(t);
    for (let i = 0; i < 6; i++) {
      await docket.add(processTenantData)({ tenant_id: "acme", operation: `op${i}` });
      await docket.add(processGlobalData)({ data_type: "prices" });
    }
    for (let i = 0; i < 40; i++) {
      await docket.add(processUserExport)({
        user_id: i % 5,
        export_type: ["csv", "pdf"][i % 2],
        region: ["eu", "us"][i % 3 === 0 ? 0 : 1],
      });
    }
    await new Worker(docket, { ...FAST, concurrency: 20 }).runUntilFinished();
    assert.equal(overlap.peak("tenant:acme"), 2);
    assert.equal(overlap.peak("global:prices"), 1);
    for (let u = 0; u < 5; u++) assert.equal(overlap.peak(`user:${u}`), 1);
    assert.ok(overlap.peak("type:csv") <= 3 && overlap.peak("type:pdf") <= 3);
    assert.ok(overlap.peak("type:csv") + overlap.peak("type:pdf") > 2, "types ran side by side");
    assert.ok(overlap.peak("region:us") <= 10);
  });
}

Deno.test("seed: monitoring concurrency from Redis (ZCARD on the slot key) [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  await using docket = await connectDocket("redis");
  const gate = new Gate();
  const started = new Gate();
  const job = task({
    name: "process_customer_data",
    concurrency: ConcurrencyLimit("customer_id", { max: 1 }),
    async run(_p: { customer_id: number }, ctx) {
      if (ctx.key === "first") {
        started.open();
        await gate.opened;
      }
    },
  });
  docket.register(job);
  await withWorker(docket, { redeliveryTimeout: 10_000 }, async () => {
    await docket.add(job, { key: "first" })({ customer_id: 1001 });
    await started.opened;
    await docket.add(job, { key: "second" })({ customer_id: 1001 });
    await waitForState(docket, "second", "scheduled");
    const redis = await docket.redis();
    const slots = `{${docket.name}}:concurrency:customer_id:1001`;
    assert.equal(await redis.sendCommand(["ZCARD", slots]), 1);
    assert.deepEqual(await redis.sendCommand(["ZRANGE", slots, "0", "-1"]), ["first@1"]);
    assert.equal(await redis.sendCommand(["XLEN", `${slots}:waiters`]), 1);
    const ttl = await redis.sendCommand(["PTTL", slots]) as number;
    assert.ok(ttl > 0 && ttl <= 40_000, `the slot set expires (${ttl})`);
    assert.deepEqual(
      await redis.sendCommand(["ZRANGE", `{${docket.name}}:concurrency-watch`, "0", "-1"]),
      [
        "concurrency:customer_id:1001",
      ],
    );
    gate.open();
    await (await docket.getExecution("second"))!.getResult({ timeout: 5_000 });
  });
  assert.deepEqual(
    await redisCommand(docket, ["EXISTS", `{${docket.name}}:concurrency:customer_id:1001`]),
    0,
  );
});
