/**
 * Workers as real processes: a Bun worker serving tasks added from Deno, a worker killed with
 * SIGKILL mid-task whose task another worker completes, and SIGTERM draining running tasks.
 */

import assert from "node:assert/strict";
import { Docket, type Execution } from "../../mod.ts";
import { freePort, LogCapture, redisUrl, startRedisServer, uniqueName } from "../_harness.ts";
import { startWorkerProcess, type WorkerProcess } from "../_processes.ts";
import { nap, whereAmI } from "../fixtures/e2e_tasks.ts";

const TASKS = "tests/fixtures/e2e_tasks.ts";

function startWorker(
  runtime: "deno" | "bun",
  docket: Docket,
  name: string,
  args: string[] = [],
): WorkerProcess {
  return startWorkerProcess({ docket, tasks: TASKS, name, runtime, args });
}

/** Resolves when the execution is reported running by `worker`. */
async function runningOn(execution: Execution, worker: string): Promise<void> {
  for await (const event of execution.subscribe()) {
    if (event.type === "state" && event.state === "running" && event.worker === worker) return;
  }
}

async function connect(): Promise<Docket> {
  const docket = await Docket.connect({
    name: uniqueName("e2e"),
    url: await redisUrl(),
    logger: new LogCapture().logger,
  });
  docket.register(whereAmI);
  docket.register(nap);
  return docket;
}

for (const runtime of ["bun", "deno"] as const) {
  Deno.test(`a ${runtime} worker completes tasks added from Deno`, async () => {
    await using docket = await connect();
    const executions = await docket.addMany(whereAmI)([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const worker = startWorker(runtime, docket, `${runtime}-worker`, ["--until-finished"]);
    const code = await worker.exited;
    assert.equal(code, 0, worker.output());
    for (const [i, execution] of executions.entries()) {
      assert.deepEqual(await execution.getResult({ timeout: 5_000 }), { n: i + 1, runtime });
    }
  });
}

Deno.test("a worker killed with SIGKILL mid-task: another worker completes the task", async () => {
  await using docket = await connect();
  const execution = await docket.add(nap, { key: "survivor" })({ ms: 1_500 });
  const others = await docket.addMany(whereAmI)([{ n: 1 }, { n: 2 }]);
  const doomed = startWorker("deno", docket, "doomed", [
    "--redelivery-timeout",
    "1s",
    "--concurrency",
    "1",
  ]);
  await runningOn(execution, "doomed");
  doomed.kill("SIGKILL");
  await doomed.exited;
  const rescuer = startWorker("deno", docket, "rescuer", [
    "--redelivery-timeout",
    "1s",
    "--until-finished",
  ]);
  assert.equal(await rescuer.exited, 0, rescuer.output());
  assert.equal(await execution.getResult({ timeout: 5_000 }), "rescuer");
  for (const other of others) assert.ok(await other.getResult({ timeout: 5_000 }));
  assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} drains running tasks, then the worker exits 0`, async () => {
    await using docket = await connect();
    const execution = await docket.add(nap)({ ms: 800 });
    const worker = startWorker("deno", docket, "draining");
    await runningOn(execution, "draining");
    worker.kill(signal);
    assert.equal(await worker.exited, 0, worker.output());
    assert.equal(await execution.getResult({ timeout: 1_000 }), "draining");
    assert.match(worker.output(), new RegExp(`Received ${signal}`));
  });
}

Deno.test("a worker started while Redis is down keeps retrying, then serves; health check answers", async () => {
  const server = await startRedisServer();
  const healthPort = await freePort();
  try {
    await server.stop();
    const name = uniqueName("e2e-down");
    const worker = startWorkerProcess({
      docket: { url: server.url, name },
      tasks: TASKS,
      name: "patient",
      args: ["--reconnection-delay", "200ms", "--healthcheck-port", String(healthPort)],
    });
    try {
      const refused = await worker.logged(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0/);
      assert.equal(refused.level, 50, "logged as an error");
      const alive = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
      assert.equal(alive.status, 200);
      await alive.body?.cancel();
      const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(ready.status, 503, "not ready before Redis is connected");
      assert.match(await ready.text(), /not connected/);
      await server.start();
      await using docket = await Docket.connect({
        name,
        url: server.url,
        logger: new LogCapture().logger,
      });
      docket.register(whereAmI);
      const execution = await docket.add(whereAmI)({ n: 7 });
      assert.deepEqual(await execution.getResult({ timeout: 15_000 }), {
        n: 7,
        runtime: "deno",
      });
      const readyNow = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(readyNow.status, 200, "ready once it serves");
      await readyNow.body?.cancel();
    } finally {
      assert.equal(await worker.stop("SIGTERM"), 0, worker.output());
    }
  } finally {
    await server.dispose();
  }
});
