/**
 * Debounce: the trailing edge. A burst produces exactly one run, once `settle` has passed with
 * no new submission; per value of a parameter when given one.
 */

import assert from "node:assert/strict";
import { Debounce, ExecutionState, Retry, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { redisKeys, sleep } from "./_support.ts";

for (const kind of BACKENDS) {
  Deno.test(`debounce [${kind}]: a lone submission runs once, after settle`, async () => {
    await using docket = await connectDocket(kind);
    const ranAt: number[] = [];
    const job = task({
      name: "lone",
      debounce: Debounce(150),
      run: () => void ranAt.push(Date.now()),
    });
    docket.register(job);
    const added = Date.now();
    const execution = await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(ranAt.length, 1);
    assert.ok(ranAt[0] - added >= 150, `ran ${ranAt[0] - added} ms after it was added`);
    await execution.sync();
    assert.equal(execution.state, ExecutionState.COMPLETED);
    assert.deepEqual(await redisKeys(docket, "debounce*"), [], "its record is gone after the run");
  });

  Deno.test(`debounce [${kind}]: a burst produces exactly one run`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({ name: "burst", debounce: Debounce(200), run: () => void runs++ });
    docket.register(job);
    const executions = [];
    for (let i = 0; i < 5; i++) executions.push(await docket.add(job)({ i }));
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(runs, 1);
    const states = await Promise.all(executions.map(async (e) => (await e.sync(), e.state)));
    assert.equal(states.filter((s) => s === "completed").length, 1);
    assert.equal(states.filter((s) => s === "cancelled").length, 4, states.join(","));
  });

  Deno.test(`debounce [${kind}]: every submission of the burst restarts the quiet time`, async () => {
    await using docket = await connectDocket(kind);
    const ranAt: number[] = [];
    const job = task({
      name: "extended",
      debounce: Debounce(250),
      run: () => void ranAt.push(Date.now()),
    });
    docket.register(job);
    const worker = new Worker(docket, FAST);
    const running = worker.runForever();
    let lastAdd = 0;
    try {
      for (let i = 0; i < 4; i++) {
        lastAdd = Date.now();
        await docket.add(job)({ i });
        await sleep(100);
      }
      await sleep(600);
    } finally {
      await worker.stop();
      await running;
    }
    assert.equal(ranAt.length, 1);
    assert.ok(ranAt[0] >= lastAdd + 250, `ran ${ranAt[0] - lastAdd} ms after the last submission`);
  });

  Deno.test(`debounce [${kind}]: per value of a parameter, windows are independent`, async () => {
    await using docket = await connectDocket(kind);
    const ran: number[] = [];
    const job = task({
      name: "per_document",
      debounce: Debounce(100, { param: "id" }),
      run: ({ id }: { id: number }) => void ran.push(id),
    });
    docket.register(job);
    await docket.add(job)({ id: 1 });
    await docket.add(job)({ id: 2 });
    await docket.add(job)({ id: 1 });
    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(ran.sort(), [1, 2]);
    assert.deepEqual(await redisKeys(docket, "debounce*"), []);
  });

  Deno.test(`debounce [${kind}]: a retry of the run is not debounced again`, async () => {
    await using docket = await connectDocket(kind);
    const ranAt: number[] = [];
    const job = task({
      name: "retried",
      debounce: Debounce(1_500),
      retry: Retry({ attempts: 2 }),
      run(_p: Record<string, never>, ctx) {
        ranAt.push(Date.now());
        if (ctx.attempt === 1) throw new Error("once");
      },
    });
    docket.register(job);
    await docket.add(job)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(ranAt.length, 2);
    assert.ok(ranAt[1] - ranAt[0] < 1_000, `the retry ran ${ranAt[1] - ranAt[0]} ms later`);
  });
}

Deno.test("Debounce refuses a non-positive settle and a second debounce", () => {
  assert.throws(() => Debounce(0), /Debounce settle must be positive/);
  assert.throws(
    () => task({ name: "twice", debounce: [Debounce(1), Debounce(2)] as never, run() {} }),
    /more than one debounce/,
  );
});
