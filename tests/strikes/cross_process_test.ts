/**
 * Strikes across processes: a worker started with `deno run -A worker.ts` in a child process,
 * strikes issued from this test process. Redis only: a `memory://` store lives in one process.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Docket, type Execution, ExecutionCancelledError } from "../../mod.ts";
import { LogCapture, redisUrl, uniqueName } from "../_harness.ts";
import { startWorkerProcess, type WorkerProcess } from "../_processes.ts";
import { gate, recordOrder } from "../fixtures/strike_tasks.ts";

const TASKS = "tests/fixtures/strike_tasks.ts";

function startWorker(docket: Docket, args: string[] = []): WorkerProcess {
  return startWorkerProcess({ docket, tasks: TASKS, args: ["--concurrency", "1", ...args] });
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when the execution is reported in `state`. */
async function reaches(execution: Execution, state: string): Promise<void> {
  for await (const event of execution.subscribe()) {
    if (event.type === "state" && event.state === state) return;
  }
}

async function outcome(execution: Execution): Promise<unknown> {
  try {
    return await execution.getResult({ timeout: 20_000 });
  } catch (error) {
    if (error instanceof ExecutionCancelledError) return "cancelled";
    throw error;
  }
}

async function connect(): Promise<Docket> {
  const docket = await Docket.connect({
    name: uniqueName("strikes-xp"),
    url: await redisUrl(),
    logger: new LogCapture().logger,
  });
  docket.register(recordOrder);
  docket.register(gate);
  return docket;
}

function tempLog(): { path: string; lines: () => string[]; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "docket-strikes-"));
  const path = join(dir, "runs.log");
  return {
    path,
    lines: () => existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

Deno.test("a strike issued here stops a task on a running worker in another process", async () => {
  await using docket = await connect();
  const log = tempLog();
  const worker = startWorker(docket);
  try {
    // Occupy the worker's only slot, so the next task waits on the stream.
    const holding = await docket.add(gate, { key: "gate-1" })();
    await within(30_000, "the gate to run", reaches(holding, "running"));
    const target = await docket.add(recordOrder)({
      orderId: "A-1",
      customerId: "12345",
      log: log.path,
    });
    assert.equal(target.disposition, "scheduled");

    const received = worker.logged(/^Striking record_order\(customerId == '12345'\)$/);
    await docket.strike(recordOrder, "customerId", "==", "12345");
    await within(10_000, "the worker to receive the strike", received);

    // Free the slot: the worker now claims the struck task, and cancels it unrun.
    await docket.cancel(holding.key);
    assert.equal(await within(20_000, "the struck task to end", outcome(target)), "cancelled");
    assert.equal((await docket.getExecution(target.key))?.state, "cancelled");
    assert.deepEqual(log.lines(), [], "the struck task never ran");
    await within(5_000, "the worker's log", worker.logged(/is struck; cancelling/));

    // Restored from here, the same worker runs the customer's next order, with no restart.
    const restored = worker.logged(/^Restoring record_order\(customerId == '12345'\)$/);
    await docket.restore(recordOrder, "customerId", "==", "12345");
    await within(10_000, "the worker to receive the restore", restored);
    const next = await docket.add(recordOrder)({
      orderId: "A-2",
      customerId: "12345",
      log: log.path,
    });
    assert.equal(await within(20_000, "the restored task", outcome(next)), "A-2");
    assert.deepEqual(log.lines(), ["A-2"]);
  } finally {
    assert.equal(await worker.stop("SIGTERM"), 0, "the worker stops gracefully");
    log.dispose();
  }
});

Deno.test("a worker process loads every strike before it claims anything", async () => {
  await using docket = await connect();
  const log = tempLog();
  try {
    const queued = await docket.add(recordOrder)({ orderId: "B-1", log: log.path });
    const other = await docket.add(recordOrder)({ orderId: "B-2", customerId: "1", log: log.path });
    await docket.strike("record_order", "orderId", "==", "B-1");
    const worker = startWorker(docket, ["--until-finished"]);
    const code = await within(60_000, "the worker to finish", worker.exited);
    assert.equal(code, 0, worker.output());
    assert.equal(await outcome(queued), "cancelled");
    assert.equal(await outcome(other), "B-2");
    assert.deepEqual(log.lines(), ["B-2"]);
  } finally {
    log.dispose();
  }
});
