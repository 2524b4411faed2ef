/**
 * Stopping a worker process: a SIGTERM before its task module has loaded is a clean stop; a stop
 * while Redis is unreachable does not wait on Redis (running tasks finish, the exit status says
 * their ends were not recorded, the lease gives them to another worker); a second signal exits
 * at once.
 */

import assert from "node:assert/strict";
import { Docket, type Execution } from "../../mod.ts";
import { LogCapture, startRedisServer, uniqueName, waitUntil } from "../_harness.ts";
import { startWorkerProcess } from "../_processes.ts";
import { nap } from "../fixtures/e2e_tasks.ts";

async function runningOn(execution: Execution, worker: string): Promise<void> {
  for await (const event of execution.subscribe()) {
    if (event.type === "state" && event.state === "running" && event.worker === worker) return;
  }
}

Deno.test("SIGTERM before the task module has loaded: the worker stops cleanly, exit 0", async () => {
  const server = await startRedisServer();
  try {
    const worker = startWorkerProcess({
      docket: { url: server.url, name: uniqueName("early") },
      tasks: "tests/fixtures/slow_loading_tasks.ts",
      name: "early",
    });
    await waitUntil(() => worker.output().includes("loading slow tasks"), 60_000, "loading");
    worker.kill("SIGTERM");
    assert.equal(await worker.exited, 0, worker.output());
    assert.match(worker.output(), /Received SIGTERM/);
  } finally {
    await server.dispose();
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} while Redis is down: the run finishes, exit 1, the task is not lost`, async () => {
    const server = await startRedisServer(["--appendonly", "yes", "--appendfsync", "always"]);
    try {
      const name = uniqueName("down");
      const docket = await Docket.connect({
        name,
        url: server.url,
        logger: new LogCapture().logger,
      });
      docket.register(nap);
      const execution = await docket.add(nap, { key: "nap-1" })({ ms: 1_500 });
      const worker = startWorkerProcess({
        docket: { url: server.url, name },
        tasks: "tests/fixtures/e2e_tasks.ts",
        name: "cut-off",
        args: ["--redelivery-timeout", "2s", "--reconnection-delay", "200ms"],
      });
      await runningOn(execution, "cut-off");
      await docket.close();
      await server.stop();
      worker.kill(signal);
      const code = await worker.exited;
      assert.equal(code, 1, worker.output());
      assert.match(worker.output(), /1 task end\(s\) could not be recorded/);
      // The message is still pending: once Redis is back, another worker runs the task.
      await server.start();
      await using again = await Docket.connect({
        name,
        url: server.url,
        logger: new LogCapture().logger,
      });
      again.register(nap);
      const rescuer = startWorkerProcess({
        docket: { url: server.url, name },
        tasks: "tests/fixtures/e2e_tasks.ts",
        name: "rescuer",
        args: ["--redelivery-timeout", "2s"],
      });
      try {
        const rerun = await again.getExecution("nap-1");
        assert.equal(await rerun!.getResult({ timeout: 60_000 }), "rescuer");
      } finally {
        assert.equal(await rescuer.stop(), 0, rescuer.output());
      }
    } finally {
      await server.dispose();
    }
  });
}

Deno.test("a second SIGTERM exits at once, without waiting for running tasks", async () => {
  const server = await startRedisServer();
  try {
    const name = uniqueName("twice");
    const docket = await Docket.connect({
      name,
      url: server.url,
      logger: new LogCapture().logger,
    });
    docket.register(nap);
    const execution = await docket.add(nap)({ ms: 600_000 });
    const worker = startWorkerProcess({
      docket: { url: server.url, name },
      tasks: "tests/fixtures/e2e_tasks.ts",
      name: "impatient",
    });
    await runningOn(execution, "impatient");
    await docket.close();
    await server.stop();
    worker.kill("SIGTERM");
    await worker.logged(/Received SIGTERM/);
    worker.kill("SIGTERM");
    assert.equal(await worker.exited, 143, worker.output());
    assert.match(worker.output(), /Received SIGTERM again: exiting now/);
  } finally {
    await server.dispose();
  }
});

Deno.test("worker command: --max-redeliveries and --watchdog-timeout, with their defaults", async () => {
  const { parseWorkerArgs } = await import("../../src/cli/worker_command.ts");
  const defaults = parseWorkerArgs(["--redelivery-timeout", "30s"]);
  assert.notEqual(defaults, "help");
  if (defaults === "help") return;
  assert.equal(defaults.worker.maxRedeliveries, undefined, "the docket's default (3) applies");
  assert.equal(defaults.worker.watchdogTimeout, 30_000, "the watchdog defaults to the lease");
  const set = parseWorkerArgs(["--max-redeliveries", "0", "--watchdog-timeout", "0"]);
  if (set === "help") throw new Error("unexpected help");
  assert.equal(set.worker.maxRedeliveries, 0);
  assert.equal(set.worker.watchdogTimeout, 0, "0 turns the watchdog off");
  Deno.env.set("DOCKET_WORKER_MAX_REDELIVERIES", "7");
  try {
    const fromEnv = parseWorkerArgs([]);
    if (fromEnv === "help") throw new Error("unexpected help");
    assert.equal(fromEnv.worker.maxRedeliveries, 7);
  } finally {
    Deno.env.delete("DOCKET_WORKER_MAX_REDELIVERIES");
  }
  assert.throws(() => parseWorkerArgs(["--max-redeliveries", "-1"]), /--max-redeliveries/);
});
