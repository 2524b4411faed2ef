/**
 * RateLimit: a sliding window across every worker. The excess waits for a slot (rescheduled to
 * when one frees) or, with `drop`, ends cancelled. Failures count; a task held back by another
 * control does not use up the budget.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, Cooldown, Perpetual, RateLimit, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { redisCommand, sleep } from "./_support.ts";

for (const kind of BACKENDS) {
  Deno.test(`rate limit [${kind}]: with drop, the excess is cancelled`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({
      name: "limited_drop",
      rateLimit: RateLimit(2, { per: { seconds: 5 }, drop: true }),
      run: () => void runs++,
    });
    docket.register(job);
    const executions = [];
    for (let i = 0; i < 3; i++) executions.push(await docket.add(job)({}));
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(runs, 2);
    const states = await Promise.all(executions.map(async (e) => (await e.sync(), e.state)));
    assert.deepEqual(states.sort(), ["cancelled", "completed", "completed"]);
    const key = `${docket.keys.prefix}:ratelimit:limited_drop`;
    assert.equal(await redisCommand(docket, ["ZCARD", key]) ?? 2, 2);
    const ttl = await redisCommand(docket, ["PTTL", key]);
    if (ttl !== undefined) assert.ok((ttl as number) > 0 && (ttl as number) <= 10_000);
  });

  Deno.test(`rate limit [${kind}]: without drop, the excess waits for a slot`, async () => {
    await using docket = await connectDocket(kind);
    const startedAt: number[] = [];
    const job = task({
      name: "limited_wait",
      rateLimit: RateLimit(1, { per: 500 }),
      run: () => void startedAt.push(Date.now()),
    });
    docket.register(job);
    for (let i = 0; i < 3; i++) await docket.add(job)({ i });
    const began = Date.now();
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(startedAt.length, 3);
    for (let i = 1; i < 3; i++) {
      const gap = startedAt[i] - startedAt[i - 1];
      // Admissions are at least 500 ms apart; the bodies start a little after theirs.
      assert.ok(gap >= 350, `runs ${i - 1} and ${i} started ${gap} ms apart`);
    }
    assert.ok(Date.now() - began < 10_000, "and without long waits");
  });

  Deno.test(`rate limit [${kind}]: per value of a parameter`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "per_partner",
      rateLimit: RateLimit(1, { per: { seconds: 5 }, param: "partner", drop: true }),
      run: ({ partner }: { partner: string }) => void ran.push(partner),
    });
    docket.register(job);
    for (const partner of ["a", "b", "a", "b", "c"]) await docket.add(job)({ partner });
    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(ran.sort(), ["a", "b", "c"]);
  });

  Deno.test(`rate limit [${kind}]: failed runs count`, async () => {
    await using docket = await connectDocket(kind);
    let attempts = 0;
    const job = task({
      name: "limited_failing",
      rateLimit: RateLimit(2, { per: { seconds: 5 }, drop: true }),
      run() {
        if (++attempts === 1) throw new Error("first fails");
      },
    });
    docket.register(job);
    for (let i = 0; i < 3; i++) await docket.add(job)({ i });
    await new Worker(docket, { ...FAST, concurrency: 1 }).runUntilFinished();
    assert.equal(attempts, 2);
  });

  Deno.test(`rate limit [${kind}]: a task parked by a concurrency limit uses no budget`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "limited_and_serial",
      concurrency: ConcurrencyLimit("customer", { max: 1 }),
      rateLimit: RateLimit(2, { per: { minutes: 1 }, drop: true }),
      async run(_p: { customer: string }, ctx) {
        ran.push(ctx.key);
        await sleep(300);
      },
    });
    docket.register(job);
    await docket.add(job, { key: "first" })({ customer: "c" });
    await docket.add(job, { key: "second" })({ customer: "c" });
    await new Worker(docket, { ...FAST, concurrency: 4 }).runUntilFinished();
    assert.deepEqual(ran, ["first", "second"]);
  });

  Deno.test(`rate limit [${kind}]: a task dropped by a cooldown uses no budget`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "limited_and_cooled",
      cooldown: Cooldown({ minutes: 1 }, { param: "customer" }),
      rateLimit: RateLimit(2, { per: { minutes: 1 }, drop: true }),
      run: ({ customer }: { customer: string }) => void ran.push(customer),
    });
    docket.register(job);
    for (const customer of ["c1", "c1", "c2"]) {
      await docket.add(job)({ customer });
      await new Worker(docket, FAST).runUntilFinished();
    }
    assert.deepEqual(ran, ["c1", "c2"]);
  });

  Deno.test(`rate limit [${kind}]: a dropped perpetual iteration ends the chain`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({
      name: "limited_perpetual",
      perpetual: Perpetual({ every: 10 }),
      rateLimit: RateLimit(2, { per: { minutes: 1 }, drop: true }),
      run: () => void runs++,
    });
    docket.register(job);
    await docket.add(job, { key: "p" })({});
    await new Worker(docket, FAST).runAtMost({ p: 4 });
    assert.equal(runs, 2);
  });
}

Deno.test("RateLimit refuses bad arguments", () => {
  assert.throws(() => RateLimit(0, { per: 1_000 }), /RateLimit limit must be a whole number/);
  assert.throws(() => RateLimit(1, { per: 0 }), /RateLimit per must be positive/);
  assert.throws(() => RateLimit(1, undefined as never), /RateLimit needs options/);
});
