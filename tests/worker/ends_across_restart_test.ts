/**
 * A task's end survives a Redis restart: when recording it fails because Redis is gone, the
 * worker keeps it, goes on renewing the task's lease, and records it once Redis is back, so the
 * task is not run a second time.
 */

import assert from "node:assert/strict";
import { Docket, task, Worker } from "../../mod.ts";
import { FAST, LogCapture, startRedisServer, uniqueName, waitUntil } from "../_harness.ts";

const LEASE_MS = 10_000;

Deno.test("ends recorded while Redis restarts are kept and written after it returns [redis]", async () => {
  // Persistent, so what was written before the restart is there after it.
  const server = await startRedisServer(["--appendonly", "yes", "--appendfsync", "always"]);
  const logs = new LogCapture();
  try {
    const docket = await Docket.connect({
      name: uniqueName("restart"),
      url: server.url,
      logger: logs.logger,
    });
    const runs = new Map<string, number>();
    let started = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = task({
      name: "held",
      async run({ n }: { n: number }, ctx) {
        runs.set(ctx.key, (runs.get(ctx.key) ?? 0) + 1);
        started++;
        await gate;
        return n;
      },
    });
    docket.register(held);
    const executions = await docket.addMany(held)(Array.from({ length: 8 }, (_, n) => ({ n })));
    const worker = new Worker(docket, {
      ...FAST,
      concurrency: 8,
      redeliveryTimeout: LEASE_MS,
      reconnectionDelay: 200,
    });
    const running = worker.runForever();
    try {
      await waitUntil(() => started === 8, 20_000, "every task to start");
      await server.stop();
      await waitUntil(
        () => logs.records.some((r) => r.msg === "Redis connection error"),
        30_000,
        "the client to notice",
      );
      // The runs end while Redis is down; their ends cannot be written until it returns
      // (longer than a command waits for a connection, so the first write fails).
      open();
      await waitUntil(
        () => logs.records.some((r) => /keeping them to write again/.test(String(r.msg))),
        30_000,
        "the failed write to be kept",
      );
      await server.start();
      for (const [n, execution] of executions.entries()) {
        assert.equal(await execution.getResult({ timeout: 30_000 }), n);
      }
      assert.ok(
        logs.records.some((r) => /recorded task ends after reconnecting/.test(String(r.msg))),
      );
      // Past the lease: had the ends been dropped, the messages would have been taken over and
      // the tasks run again by now.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 2_000));
      assert.deepEqual([...runs.values()], Array(8).fill(1), "each task ran once");
      assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    } finally {
      await worker.stop();
      await running;
      await docket.close();
    }
  } finally {
    await server.dispose();
  }
});
