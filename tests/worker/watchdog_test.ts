/**
 * The watchdog and the redelivery cap together, with real worker processes kept up by a
 * restart-on-exit loop (as systemd or Kubernetes would): a task that never yields blocks each
 * worker that takes it, the watchdog ends that process, and after `maxRedeliveries` takeovers
 * the task ends FAILED as abandoned; every ordinary task around it completes.
 */

import assert from "node:assert/strict";
import { Docket, ExecutionState } from "../../mod.ts";
import { LogCapture, redisUrl, uniqueName, waitUntil } from "../_harness.ts";
import { startWorkerProcess, type WorkerProcess } from "../_processes.ts";
import { ordinary, spinner } from "../fixtures/failure_tasks.ts";

const TASKS = "tests/fixtures/failure_tasks.ts";

/** Keeps a worker process running: each time it exits, starts the next incarnation. */
class Supervisor {
  readonly exits: { name: string; code: number; output: string }[] = [];
  #current?: WorkerProcess;
  #stopped = false;
  #done: Promise<void>;

  constructor(
    docket: { url: string; name: string },
    prefix: string,
    runtime: "deno" | "bun",
    args: string[],
  ) {
    this.#done = (async () => {
      for (let incarnation = 1; !this.#stopped; incarnation++) {
        const name = `${prefix}${incarnation}`;
        const worker = startWorkerProcess({ docket, tasks: TASKS, name, runtime, args });
        this.#current = worker;
        const code = await worker.exited;
        this.exits.push({ name, code, output: worker.output() });
      }
    })();
  }

  /** Stops restarting and ends the current incarnation with SIGTERM. */
  async stop(): Promise<number> {
    this.#stopped = true;
    const code = await this.#current!.stop("SIGTERM");
    await this.#done;
    return code;
  }
}

Deno.test("a task that never yields: watchdog restarts, the cap ends it, the rest completes", async () => {
  const url = await redisUrl();
  const name = uniqueName("watchdog");
  await using docket = await Docket.connect({ name, url, logger: new LogCapture().logger });
  docket.register(ordinary);
  docket.register(spinner);
  const before = await docket.addMany(ordinary)(
    Array.from({ length: 20 }, (_, n) => ({ n, ms: 20 })),
  );
  const spin = await docket.add(spinner, { key: "spin" })();
  const after = await docket.addMany(ordinary)(
    Array.from({ length: 20 }, (_, n) => ({ n: 20 + n, ms: 20 })),
  );
  const args = ["--redelivery-timeout", "1s", "--max-redeliveries", "2", "--concurrency", "4"];
  const a = new Supervisor({ url, name }, "a", "deno", args);
  const b = new Supervisor({ url, name }, "b", "bun", args);
  try {
    for (const [n, execution] of [...before, ...after].entries()) {
      const result = await execution.getResult({ timeout: 120_000 }) as { n: number };
      assert.equal(result.n, n);
    }
    await assert.rejects(() => spin.getResult({ timeout: 120_000 }), (error: Error) => {
      assert.equal(error.name, "AbandonedTaskError");
      assert.match(error.message, /task spin was abandoned 3 times by its workers \([ab]\d/);
      return true;
    });
    await spin.sync();
    assert.equal(spin.state, ExecutionState.FAILED);
    // Each worker the spinner blocked was ended by its watchdog, which named the task.
    const tripped = [...a.exits, ...b.exits];
    assert.ok(tripped.length >= 3, `three blocked workers ended (${tripped.length})`);
    for (const exit of tripped) {
      assert.notEqual(exit.code, 0, `${exit.name} ended with a non-zero status`);
      assert.match(exit.output, /event loop blocked for \d+ ms .*running .*spin/);
    }
    // Blocked workers do not linger in the registry.
    await waitUntil(
      async () => {
        const names = (await docket.workers()).map((worker) => worker.name);
        return names.every((worker) => !tripped.some((exit) => exit.name === worker));
      },
      60_000,
      "the blocked workers to leave the registry",
    );
  } finally {
    const codes = await Promise.all([a.stop(), b.stop()]);
    assert.deepEqual(codes, [0, 0], "the last incarnations stop cleanly");
  }
});
