/**
 * Cooldown: the leading edge. The first run goes at once; repeats within the window are dropped
 * (they end cancelled); several cooldowns must all pass, and a dropped task starts none of them.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, Cooldown, Retry, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { redisCommand, sleep } from "./_support.ts";

for (const kind of BACKENDS) {
  Deno.test(`cooldown [${kind}]: repeats within the window are dropped`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({
      name: "cooled",
      cooldown: Cooldown({ seconds: 5 }),
      run: () => void runs++,
    });
    docket.register(job);
    const first = await docket.add(job)({});
    const second = await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(runs, 1);
    await first.getResult({ timeout: 1_000 });
    await assert.rejects(second.getResult({ timeout: 1_000 }), { name: "ExecutionCancelledError" });
    const ttl = await redisCommand(docket, ["PTTL", `${docket.keys.prefix}:cooldown:cooled`]);
    if (ttl !== undefined) assert.ok((ttl as number) > 0 && (ttl as number) <= 5_000);
  });

  Deno.test(`cooldown [${kind}]: after the window the task runs again`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({ name: "short", cooldown: Cooldown(100), run: () => void runs++ });
    docket.register(job);
    await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    await sleep(150);
    await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(runs, 2);
  });

  Deno.test(`cooldown [${kind}]: several cooldowns must all pass; a drop starts none`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "alert",
      cooldown: [
        Cooldown({ seconds: 5 }, { param: "customer" }),
        Cooldown({ seconds: 5 }, { param: "region" }),
      ],
      run: ({ customer, region }: { customer: number; region: string }) =>
        void ran.push(`${customer}/${region}`),
    });
    docket.register(job);
    for (const [customer, region] of [[1, "us"], [1, "eu"], [2, "us"], [2, "eu"]] as const) {
      await docket.add(job)({ customer, region });
      await new Worker(docket, FAST).runUntilFinished();
    }
    // (1, eu) was dropped for customer 1 and (2, us) for region us: neither started a window,
    // so (2, eu) still runs.
    assert.deepEqual(ran, ["1/us", "2/eu"]);
  });

  Deno.test(`cooldown [${kind}]: a task parked by a concurrency limit starts no window`, async () => {
    await using docket = await connectDocket(kind);
    const ran: string[] = [];
    const job = task({
      name: "cool_and_limited",
      concurrency: ConcurrencyLimit({ max: 1 }),
      cooldown: Cooldown({ seconds: 5 }, { param: "customer" }),
      async run({ customer }: { customer: string }) {
        ran.push(customer);
        await sleep(100);
      },
    });
    docket.register(job);
    await docket.add(job)({ customer: "a" });
    await docket.add(job)({ customer: "b" });
    await new Worker(docket, { ...FAST, concurrency: 4 }).runUntilFinished();
    assert.deepEqual(ran, ["a", "b"]);
  });

  Deno.test(`cooldown [${kind}]: a retry within the window is not dropped`, async () => {
    await using docket = await connectDocket(kind);
    let attempts = 0;
    const job = task({
      name: "cool_retry",
      cooldown: Cooldown({ seconds: 5 }),
      retry: Retry({ attempts: 3 }),
      run() {
        if (++attempts < 3) throw new Error("again");
      },
    });
    docket.register(job);
    const execution = await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(attempts, 3);
    await execution.getResult({ timeout: 1_000 });
  });
}

Deno.test("Cooldown refuses bad arguments", () => {
  assert.throws(() => Cooldown(-1), /Cooldown window must be positive/);
  assert.throws(() => Cooldown(10, { param: "" }), /Cooldown param must be a non-empty string/);
});
