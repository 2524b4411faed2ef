/**
 * Striking and restoring through real dockets and workers, on every backend: the seed's examples
 * as written, the worker's check before running, type-aware comparisons, strikes shared by every
 * docket of a name, struck automatic perpetual tasks, and `runAtMost`.
 */

import assert from "node:assert/strict";
import {
  type Docket,
  type Execution,
  ExecutionCancelledError,
  Perpetual,
  type StrikeInstruction,
  task,
  Worker,
} from "../../mod.ts";
import type { WorkerInternalOptions } from "../../src/worker/worker.ts";
import { BACKENDS, connectDocket, FAST, LogCapture, uniqueName } from "../_harness.ts";

/** How each execution ended: its result, or "cancelled". */
async function outcome(execution: Execution): Promise<unknown> {
  try {
    return await execution.getResult({ timeout: 10_000 });
  } catch (error) {
    if (error instanceof ExecutionCancelledError) return "cancelled";
    throw error;
  }
}

/** Resolves with the first strike or restore on `docket` that `matches`. */
function nextChange(
  docket: Docket,
  matches: (instruction: StrikeInstruction) => boolean,
): Promise<StrikeInstruction> {
  return new Promise((resolve) => {
    const stop = docket.strikeList.onChange((instruction) => {
      if (!matches(instruction)) return;
      stop();
      resolve(instruction);
    });
  });
}

/** Rejects after `ms` with `what`, for racing against an awaited event. */
function deadline(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout>;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const limit = deadline(ms, what);
  try {
    return await Promise.race([promise, limit.promise]);
  } finally {
    limit.cancel();
  }
}

/** Order tasks as the seed names them, recording every run. */
function orderTasks() {
  const ran: { task: string; payload: Record<string, unknown> }[] = [];
  const processOrder = task({
    name: "process_order",
    run(payload: Record<string, unknown>) {
      ran.push({ task: "process_order", payload });
      return payload;
    },
  });
  const processPayment = task({
    name: "process_payment",
    run(payload: Record<string, unknown>) {
      ran.push({ task: "process_payment", payload });
      return payload;
    },
  });
  const sendInvoice = task({
    name: "send_invoice",
    run(payload: Record<string, unknown>) {
      ran.push({ task: "send_invoice", payload });
      return payload;
    },
  });
  return { ran, processOrder, processPayment, sendInvoice };
}

async function runAll(docket: Docket): Promise<void> {
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
}

for (const kind of BACKENDS) {
  Deno.test(`${kind}: seed, striking entire task types`, async () => {
    await using docket = await connectDocket(kind);
    const { ran, processOrder } = orderTasks();
    docket.register(processOrder);

    // Disable all order processing during maintenance
    await docket.strike(processOrder);

    // Orders added during this time won't be processed
    const first = await docket.add(processOrder)({ orderId: 12345 }); // Won't run
    const second = await docket.add(processOrder)({ orderId: 67890 }); // Won't run
    assert.equal(first.disposition, "struck");
    assert.equal(second.disposition, "struck");
    // Nothing was written.
    assert.equal((await docket.snapshot()).future.length, 0);
    assert.equal(await docket.getExecution(first.key), null);
    assert.equal(await docket.clear(), 0);

    // Re-enable when ready
    await docket.restore(processOrder);

    const third = await docket.add(processOrder)({ orderId: 11111 });
    assert.equal(third.disposition, "scheduled");
    await runAll(docket);
    assert.deepEqual(ran, [{ task: "process_order", payload: { orderId: 11111 } }]);
    assert.deepEqual(await outcome(third), { orderId: 11111 });
  });

  Deno.test(`${kind}: a task struck after it was queued ends cancelled without running`, async () => {
    await using docket = await connectDocket(kind);
    const { ran, processOrder, sendInvoice } = orderTasks();
    docket.register(processOrder);
    docket.register(sendInvoice);
    const queued = await docket.add(processOrder)({ orderId: 1 });
    const future = await docket.add(processOrder, { when: Date.now() + 100 })({ orderId: 2 });
    const other = await docket.add(sendInvoice)({ orderId: 1 });
    assert.equal(queued.disposition, "scheduled");
    assert.equal(future.disposition, "scheduled");

    await docket.strike("process_order");
    await runAll(docket);

    assert.deepEqual(ran, [{ task: "send_invoice", payload: { orderId: 1 } }]);
    assert.equal(await outcome(queued), "cancelled");
    assert.equal(await outcome(future), "cancelled");
    assert.deepEqual(await outcome(other), { orderId: 1 });
    const record = await docket.getExecution(queued.key);
    assert.equal(record?.state, "cancelled");
    await assert.rejects(queued.getResult({ timeout: 1_000 }), ExecutionCancelledError);
  });

  Deno.test(`${kind}: seed, striking by parameter values`, async () => {
    await using docket = await connectDocket(kind);
    const { ran, processOrder, processPayment, sendInvoice } = orderTasks();
    for (const t of [processOrder, processPayment, sendInvoice]) docket.register(t);

    // Block all tasks for a problematic customer
    await docket.strike(null, "customerId", "==", "12345");
    // Block low-priority work during high load
    await docket.strike(processOrder, "priority", "<=", "low");
    // Block all orders above a certain value during fraud investigation
    await docket.strike(processPayment, "amount", ">", 10000);

    const add = async (t: typeof processOrder, payload: Record<string, unknown>) =>
      (await docket.add(t)(payload)).disposition;
    assert.equal(await add(sendInvoice, { customerId: "12345" }), "struck");
    assert.equal(await add(processPayment, { customerId: "12345", amount: 5 }), "struck");
    assert.equal(await add(processOrder, { customerId: "1", priority: "low" }), "struck");
    assert.equal(await add(processOrder, { customerId: "1", priority: "medium" }), "scheduled");
    assert.equal(await add(processPayment, { customerId: "1", amount: 15000 }), "struck");
    assert.equal(await add(processPayment, { customerId: "1", amount: 10000 }), "scheduled");
    // A parameter strike on one task leaves the others alone.
    assert.equal(await add(sendInvoice, { customerId: "1", amount: 15000 }), "scheduled");

    // Later, restore them
    await docket.restore(null, "customerId", "==", "12345");
    await docket.restore(processOrder, "priority", "<=", "low");

    assert.equal(await add(sendInvoice, { customerId: "12345" }), "scheduled");
    assert.equal(await add(processOrder, { customerId: "2", priority: "low" }), "scheduled");
    // Not restored in the example: still struck.
    assert.equal(await add(processPayment, { customerId: "2", amount: 15000 }), "struck");

    await runAll(docket);
    const summary = ran.map(({ task, payload }) => `${task}:${JSON.stringify(payload)}`).sort();
    assert.deepEqual(summary, [
      `process_order:{"customerId":"1","priority":"medium"}`,
      `process_order:{"customerId":"2","priority":"low"}`,
      `process_payment:{"customerId":"1","amount":10000}`,
      `send_invoice:{"customerId":"1","amount":15000}`,
      `send_invoice:{"customerId":"12345"}`,
    ]);
  });

  Deno.test(`${kind}: seed, task-parameter combinations combine with OR`, async () => {
    await using docket = await connectDocket(kind);
    const { ran, processOrder } = orderTasks();
    docket.register(processOrder);

    // Block only high-value orders for a specific customer
    await docket.strike(processOrder, "customerId", "==", "12345");
    await docket.strike(processOrder, "amount", ">", 1000);

    // This order won't run (blocked customer)
    const a = await docket.add(processOrder)({ customerId: "12345", amount: 500 });
    // This order won't run (blocked customer AND high amount)
    const b = await docket.add(processOrder)({ customerId: "12345", amount: 2000 });
    // The seed says this one WILL run (different customer); as upstream, strikes combine with
    // OR, and its amount alone matches `amount > 1000`: it is struck too.
    const c = await docket.add(processOrder)({ customerId: "67890", amount: 2000 });
    // Neither condition holds: runs.
    const d = await docket.add(processOrder)({ customerId: "67890", amount: 500 });

    assert.deepEqual(
      [a, b, c, d].map((e) => e.disposition),
      ["struck", "struck", "struck", "scheduled"],
    );
    await runAll(docket);
    assert.deepEqual(ran, [{
      task: "process_order",
      payload: { customerId: "67890", amount: 500 },
    }]);
  });

  Deno.test(`${kind}: every operator, through a docket; between includes both ends`, async () => {
    await using docket = await connectDocket(kind);
    const t = task({ name: "measure", run: () => undefined });
    docket.register(t);
    const expected: Record<string, string[]> = {
      "==": ["scheduled", "struck", "scheduled"],
      "!=": ["struck", "scheduled", "struck"],
      "<": ["struck", "scheduled", "scheduled"],
      "<=": ["struck", "struck", "scheduled"],
      ">": ["scheduled", "scheduled", "struck"],
      ">=": ["scheduled", "struck", "struck"],
    };
    for (const [op, dispositions] of Object.entries(expected)) {
      await docket.strike(t, "x", op, 42);
      const actual = [];
      for (const x of [41, 42, 43]) {
        actual.push((await docket.add(t)({ x })).disposition);
      }
      assert.deepEqual(actual, dispositions, `x ${op} 42`);
      await docket.restore(t, "x", op, 42);
    }

    await docket.strike("measure", "amount", "between", [1000, 5000]);
    const between = [];
    for (const amount of [999, 1000, 3000, 5000, 5001]) {
      between.push((await docket.add(t)({ amount })).disposition);
    }
    assert.deepEqual(between, ["scheduled", "struck", "struck", "struck", "scheduled"]);
    await docket.clear();
  });

  Deno.test(`${kind}: unknown operators and value-less parameter strikes are refused`, async () => {
    await using docket = await connectDocket(kind);
    await using observer = await connectDocket(kind, { name: docket.name });
    await assert.rejects(
      docket.strike("process_order", "amount", "~=", 5),
      (error: Error) =>
        error instanceof TypeError && /unknown strike operator "~="/.test(error.message),
    );
    await assert.rejects(
      docket.strike(null, "customerId"),
      (error: Error) => error instanceof TypeError && /needs a value/.test(error.message),
    );
    await assert.rejects(
      docket.strike(null, "customerId", "=="),
      (error: Error) => error instanceof TypeError && /needs a value/.test(error.message),
    );
    await assert.rejects(
      docket.restore("process_order", null, ">", 5),
      (error: Error) => error instanceof TypeError && /whole task/.test(error.message),
    );
    await assert.rejects(
      docket.strike("t", "amount", "between", [5000, 1000]),
      RangeError,
    );
    await assert.rejects(docket.strike(null), /needs a task name, a parameter name, or both/);
    // Nothing was sent: a strike sent now is the first any docket sees.
    const seen = nextChange(observer, () => true);
    await docket.strike("probe");
    assert.equal((await within(5_000, "the probe strike", seen)).task, "probe");
    assert.equal(docket.strikeList.strikes.size, 1);
    assert.equal(observer.strikeList.strikes.size, 1);
  });

  Deno.test(`${kind}: values compare with their types; a mismatch warns and does not match`, async () => {
    const logs = new LogCapture();
    await using docket = await connectDocket(kind, { logger: logs.logger });
    const { ran, processPayment } = orderTasks();
    docket.register(processPayment);
    await docket.strike(processPayment, "amount", ">", 1000);

    const asText = await docket.add(processPayment)({ amount: "2000" });
    assert.equal(asText.disposition, "scheduled");
    const warnings = logs.records.filter((r) => r.level === "warn" || r.level === 40)
      .map((r) => String(r.msg));
    assert.ok(
      warnings.some((m) => /amount > 1000 \(number\) not applied to process_payment/.test(m)),
      warnings.join("\n"),
    );
    assert.ok(warnings.some((m) => /its amount is a string/.test(m)), warnings.join("\n"));

    await docket.strike(null, "customerId", "==", 12345);
    assert.equal(
      (await docket.add(processPayment)({ customerId: "12345" })).disposition,
      "scheduled",
    );
    assert.equal((await docket.add(processPayment)({ customerId: 12345 })).disposition, "struck");
    assert.equal((await docket.add(processPayment)({ amount: 1001 })).disposition, "struck");

    await runAll(docket);
    assert.deepEqual(
      ran.map((r) => r.payload),
      [{ amount: "2000" }, { customerId: "12345" }],
    );
  });

  Deno.test(`${kind}: whole-task and parameter strikes coexist and restore independently`, async () => {
    await using docket = await connectDocket(kind);
    const { processOrder } = orderTasks();
    docket.register(processOrder);
    const disposition = async (customerId: string) =>
      (await docket.add(processOrder)({ customerId })).disposition;

    await docket.strike(processOrder);
    await docket.strike(processOrder, "customerId", "==", "1");
    assert.equal(await disposition("2"), "struck");

    await docket.restore(processOrder);
    assert.equal(await disposition("1"), "struck");
    assert.equal(await disposition("2"), "scheduled");

    await docket.strike(processOrder);
    await docket.restore(processOrder, "customerId", "==", "1");
    assert.equal(await disposition("1"), "struck");
    assert.equal(await disposition("2"), "struck");

    await docket.restore(processOrder);
    assert.equal(await disposition("1"), "scheduled");
    assert.equal(docket.strikeList.strikes.size, 0);

    // Idempotent: again, and restoring what is not struck.
    await docket.restore(processOrder);
    await docket.restore(processOrder, "customerId", "==", "1");
    await docket.strike(processOrder);
    await docket.strike(processOrder);
    await docket.restore(processOrder);
    assert.equal(docket.strikeList.strikes.size, 0);
    assert.equal(await disposition("3"), "scheduled");
    await docket.clear();
  });

  Deno.test(`${kind}: strikes reach every docket of the same name within a moment`, async () => {
    const name = uniqueName("strikes");
    await using a = await connectDocket(kind, { name });
    await using b = await connectDocket(kind, { name });
    await using c = await connectDocket(kind, { name });
    await using elsewhere = await connectDocket(kind);
    const struck = (d: Docket) => d.isStruck("process_order", "k", { customerId: "789" });

    const reached = [b, c].map((d) => nextChange(d, (s) => s.direction === "strike"));
    const started = Date.now();
    await a.strike(null, "customerId", "==", "789");
    assert.equal(struck(a), true, "the sender applies its strike before strike() resolves");
    await within(5_000, "the strike to reach b and c", Promise.all(reached));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2_000, `took ${elapsed} ms`);
    assert.deepEqual([struck(b), struck(c)], [true, true]);
    assert.equal(struck(elsewhere), false, "another docket name is untouched");

    // A docket connecting now has every strike loaded before connect() resolves.
    await using late = await connectDocket(kind, { name });
    assert.equal(late.strikeList.loaded, true);
    assert.equal(struck(late), true);

    const restored = [a, b, late].map((d) => nextChange(d, (s) => s.direction === "restore"));
    await c.restore(null, "customerId", "==", "789");
    await within(5_000, "the restore to reach a, b and late", Promise.all(restored));
    assert.deepEqual([a, b, c, late].map(struck), [false, false, false, false]);
  });

  Deno.test(
    `${kind}: a struck automatic perpetual is not seeded; restored, it resumes within a re-seed tick`,
    async () => {
      const name = uniqueName("automatic");
      // Struck from elsewhere before this worker's docket even connects.
      await using admin = await connectDocket(kind, { name });
      await admin.strike("nightly_cleanup");

      await using docket = await connectDocket(kind, { name });
      let cleanupRan!: () => void;
      const cleanupRuns = new Promise<void>((resolve) => (cleanupRan = resolve));
      let cleanupCount = 0;
      let controlRan!: () => void;
      const controlRuns = new Promise<void>((resolve) => (controlRan = resolve));
      // Registered before the control: seeding considers it first.
      docket.register(task({
        name: "nightly_cleanup",
        perpetual: Perpetual({ every: { hours: 1 }, automatic: true }),
        run() {
          cleanupCount++;
          cleanupRan();
        },
      }));
      docket.register(task({
        name: "control_tick",
        perpetual: Perpetual({ every: { hours: 1 }, automatic: true }),
        run() {
          controlRan();
        },
      }));

      const reseedInterval = 300;
      const options: WorkerInternalOptions = { ...FAST, reseedInterval };
      await using worker = new Worker(docket, options);
      const running = worker.runForever();
      try {
        // The control was seeded in the same pass that skipped the struck task.
        await within(10_000, "the control task", controlRuns);
        assert.equal(cleanupCount, 0);
        assert.equal(await docket.getExecution("nightly_cleanup"), null, "not seeded");

        const restoredAt = Date.now();
        await admin.restore("nightly_cleanup");
        await within(10_000, "the restored task to run", cleanupRuns);
        const waited = Date.now() - restoredAt;
        // One tick, plus generous slack for the strike to travel and the task to be claimed.
        assert.ok(waited < reseedInterval + 3_000, `resumed after ${waited} ms`);
        assert.equal(cleanupCount, 1);
      } finally {
        await worker.stop();
        await running;
      }
    },
  );

  Deno.test(`${kind}: runAtMost stops a perpetual task through a strike condition`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const tick = task({
      name: "tick",
      perpetual: Perpetual({ every: 0 }),
      run() {
        runs++;
      },
    });
    docket.register(tick);
    await docket.add(tick, { key: "tick-key" })();
    await using worker = new Worker(docket, FAST);
    await worker.runAtMost({ "tick-key": 3 });
    assert.equal(runs, 3);
    // Reaching the limit also stopped rescheduling, and the condition is gone afterwards.
    assert.equal((await docket.snapshot()).totalTasks, 0);
    assert.equal(docket.isStruck("tick", "tick-key", {}), false);
  });
}
