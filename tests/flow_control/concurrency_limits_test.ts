/**
 * ConcurrencyLimit: per argument value and per task, several limits on one task, scopes, a missing
 * parameter, and dockets that keep no records.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { Gate, Overlap, redisKeys, sleep, waitForState } from "./_support.ts";
import { withWorker } from "./_concurrency.ts";

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
}
