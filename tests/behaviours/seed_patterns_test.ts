/**
 * The patterns of `seed-advanced-task-patterns.md` ("Perpetual Tasks", "Advanced Logging and
 * Debugging", "Task Chain Patterns"), written in TypeScript as a user would, against fakes of
 * the outside world (databases, HTTP).
 */

import assert from "node:assert/strict";
import { Perpetual, task, trace, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { eachBackend, linesWith, record, signal, waitingCopies, within } from "./_support.ts";

eachBackend("seed: basic perpetual health check, resilient to errors", async (kind) => {
  await using docket = await connectDocket(kind);
  const alerts: string[] = [];
  const healthy = [true, false, true];
  let checks = 0;
  const healthCheckService = task({
    name: "health_check_service",
    perpetual: Perpetual({ every: { milliseconds: 10 } }), // minutes: 5 in production
    run({ serviceUrl }: { serviceUrl: string }, ctx) {
      try {
        if (!healthy[checks++]) throw new Error("503 Service Unavailable");
        ctx.logger.info(`✓ ${serviceUrl} is healthy`);
      } catch (error) {
        alerts.push(`Service ${serviceUrl} is down: ${(error as Error).message}`);
      }
    },
  });
  docket.register(healthCheckService);
  // Schedule the task once; it runs again and again.
  await docket.add(healthCheckService, { key: "health" })({
    serviceUrl: "https://api.example.com",
  });
  await new Worker(docket, FAST).runAtMost({ health: 3 });
  assert.equal(checks, 3);
  assert.deepEqual(alerts, ["Service https://api.example.com is down: 503 Service Unavailable"]);
});

eachBackend("seed: automatic startup, keyed by the task's name", async (kind) => {
  await using docket = await connectDocket(kind);
  const cleaned = signal<string>();
  const backgroundCleanup = task({
    name: "background_cleanup",
    perpetual: Perpetual({ every: { hours: 1 }, automatic: true }),
    run(_payload: Record<string, never>, ctx) {
      cleaned.resolve(ctx.key);
    },
  });
  // Just register the task: no need to schedule it.
  docket.register(backgroundCleanup);
  const worker = new Worker(docket, FAST);
  const running = worker.runForever();
  assert.equal(await within(cleaned.promise, 10_000, "the cleanup"), "background_cleanup");
  await worker.stop();
  await running;
  assert.equal(await waitingCopies(docket, "background_cleanup"), 1, "next run in an hour");
});

eachBackend("seed: a self-cancelling deployment monitor", async (kind) => {
  await using docket = await connectDocket(kind);
  const statuses = ["pending", "rolling", "rolling", "completed", "never reached"];
  const notified: string[] = [];
  let polls = 0;
  const monitorDeployment = task({
    name: "monitor_deployment",
    perpetual: Perpetual({ every: { milliseconds: 10 } }), // seconds: 30 in production
    run({ deploymentId }: { deploymentId: string }, ctx) {
      const status = statuses[polls++];
      if (status === "completed" || status === "failed") {
        notified.push(`${deploymentId} ${status}`);
        ctx.perpetual.cancel(); // stop monitoring this deployment
        return;
      }
      ctx.logger.info(`Deployment ${deploymentId} status: ${status}`);
    },
  });
  docket.register(monitorDeployment);
  await docket.add(monitorDeployment)({ deploymentId: "deploy-42" });
  await new Worker(docket, FAST).runUntilFinished(); // returns: the chain ended itself
  assert.equal(polls, 4);
  assert.deepEqual(notified, ["deploy-42 completed"]);
});

eachBackend("seed: dynamic parameters and interval (adaptive rate limiter)", async (kind) => {
  await using docket = await connectDocket(kind);
  const loads = [0.9, 0.9, 0.2];
  const seen: { rate: number; gap?: number }[] = [];
  let lastStart = 0;
  const adaptiveRateLimiter = task({
    name: "adaptive_rate_limiter",
    perpetual: Perpetual({ every: { milliseconds: 400 } }), // minutes: 1 in production
    run(
      { apiEndpoint, requestsPerMinute = 60 }: { apiEndpoint: string; requestsPerMinute?: number },
      ctx,
    ) {
      const started = ctx.execution.startedAt!.getTime();
      seen.push({ rate: requestsPerMinute, gap: lastStart ? started - lastStart : undefined });
      lastStart = started;
      if (seen.length === 4) return ctx.perpetual.cancel();
      const currentLoad = loads[seen.length - 1];
      let newRate: number;
      if (currentLoad > 0.8) {
        newRate = Math.max(30, requestsPerMinute - 10);
        ctx.perpetual.every = 50; // check more frequently (toMillis({ seconds: 30 }) in production)
      } else {
        newRate = Math.min(120, requestsPerMinute + 5);
        ctx.perpetual.every = 400; // normal interval
      }
      // Schedule the next run with updated parameters.
      ctx.perpetual.perpetuate({ apiEndpoint, requestsPerMinute: newRate });
    },
  });
  docket.register(adaptiveRateLimiter);
  await docket.add(adaptiveRateLimiter)({ apiEndpoint: "https://api.example.com" });
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(seen.map((s) => s.rate), [60, 50, 40, 45]);
  assert.ok(seen[1].gap! >= 50 && seen[1].gap! < 400, `high load: ${seen[1].gap} ms`);
  assert.ok(seen[3].gap! >= 400, `normal load: ${seen[3].gap} ms`);
});

eachBackend("seed: find & flood with ctx.docket", async (kind) => {
  await using docket = await connectDocket(kind);
  // A fake database: pending orders appear over time.
  const pending = [[101, 102, 103], [], [104]];
  const processed: number[] = [];
  let finds = 0;
  const processSingleOrder = task({
    name: "process_single_order",
    run({ orderId }: { orderId: number }) {
      processed.push(orderId); // payment, inventory, confirmation email…
    },
  });
  const findPendingOrders = task({
    name: "find_pending_orders",
    perpetual: Perpetual({ every: { milliseconds: 20 } }), // minutes: 1 in production
    async run(_payload: Record<string, never>, ctx) {
      const orders = pending[finds++] ?? [];
      // Flood the queue with small tasks: other workers share them.
      for (const orderId of orders) await ctx.docket.add(processSingleOrder)({ orderId });
      ctx.logger.info(`Queued ${orders.length} orders for processing`);
    },
  });
  docket.register(findPendingOrders);
  docket.register(processSingleOrder);
  await docket.add(findPendingOrders, { key: "find_pending_orders" })({});
  await new Worker(docket, { ...FAST, concurrency: 4 }).runAtMost({ find_pending_orders: 3 });
  assert.equal(finds, 3);
  assert.deepEqual(processed.sort(), [101, 102, 103, 104]);
});

eachBackend("seed: task context logging and built-in trace", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const complexDataPipeline = task({
    name: "complex_data_pipeline",
    logged: { datasetId: true },
    async run({ datasetId }: { datasetId: string }, ctx) {
      ctx.logger.info({ datasetId }, "Starting data pipeline");
      try {
        ctx.logger.info("Data extraction completed");
        throw new Error("transform exploded");
      } catch (error) {
        ctx.logger.error({ error: (error as Error).message }, "Pipeline failed");
        await ctx.docket.add(trace)({ message: `pipeline ${datasetId} failed` });
      }
    },
  });
  docket.register(complexDataPipeline);
  await docket.add(complexDataPipeline, { key: "pipeline-7" })({ datasetId: "ds-7" });
  await new Worker(docket, FAST).runUntilFinished();
  const [failed] = linesWith(logs.lines, "Pipeline failed");
  assert.equal(failed.task, "complex_data_pipeline");
  assert.equal(failed.key, "pipeline-7");
  assert.equal(failed.error, "transform exploded");
  assert.equal(linesWith(logs.lines, "pipeline ds-7 failed: ").length, 1, "the trace ran");
});

/** The fake file store of the chain patterns. */
function files(valid: Set<string>) {
  return {
    downloaded: [] as string[],
    processed: [] as string[],
    invalid: [] as string[],
    download: (url: string) => `/tmp/${url.split("/").pop()}`,
    isValid: (path: string) => valid.has(path),
  };
}

function chainTasks(store: ReturnType<typeof files>) {
  const processData = task({
    name: "process_data",
    run({ filePath }: { filePath: string }) {
      store.processed.push(filePath); // transform and store
    },
  });
  const handleInvalidData = task({
    name: "handle_invalid_data",
    run({ filePath }: { filePath: string }) {
      store.invalid.push(filePath);
    },
  });
  const validateData = task({
    name: "validate_data",
    async run({ filePath }: { filePath: string }, ctx) {
      if (store.isValid(filePath)) await ctx.docket.add(processData)({ filePath });
      else await ctx.docket.add(handleInvalidData)({ filePath });
    },
  });
  const downloadData = task({
    name: "download_data",
    async run({ url }: { url: string }, ctx) {
      const filePath = store.download(url);
      store.downloaded.push(filePath);
      await ctx.docket.add(validateData)({ filePath });
    },
  });
  return [downloadData, validateData, processData, handleInvalidData] as const;
}

eachBackend("seed: sequential processing passes data forward", async (kind) => {
  await using docket = await connectDocket(kind);
  const store = files(new Set(["/tmp/good.csv"]));
  const [downloadData, ...rest] = chainTasks(store);
  for (const t of [downloadData, ...rest]) docket.register(t);
  await docket.add(downloadData)({ url: "https://example.com/good.csv" });
  await docket.add(downloadData)({ url: "https://example.com/bad.csv" });
  await new Worker(docket, FAST).runUntilFinished();
  assert.deepEqual(store.downloaded.sort(), ["/tmp/bad.csv", "/tmp/good.csv"]);
  assert.deepEqual(store.processed, ["/tmp/good.csv"]);
  assert.deepEqual(store.invalid, ["/tmp/bad.csv"]);
});

eachBackend("seed: fan-out with a keyed finaliser", async (kind) => {
  await using docket = await connectDocket(kind);
  const completed = new Map<string, Set<string>>();
  const finalised: { datasetId: string; chunks: number; done: number }[] = [];
  const processChunk = task({
    name: "process_chunk",
    run({ datasetId, chunkId }: { datasetId: string; chunkId: string }) {
      if (!completed.has(datasetId)) completed.set(datasetId, new Set());
      completed.get(datasetId)!.add(chunkId); // mark chunk complete
    },
  });
  const finalizeDataset = task({
    name: "finalize_dataset",
    run({ datasetId, chunkCount }: { datasetId: string; chunkCount: number }) {
      finalised.push({ datasetId, chunks: chunkCount, done: completed.get(datasetId)?.size ?? 0 });
    },
  });
  const processLargeDataset = task({
    name: "process_large_dataset",
    async run({ datasetId }: { datasetId: string }, ctx) {
      const chunkIds = Array.from({ length: 5 }, (_, i) => `${datasetId}-chunk-${i}`);
      // Schedule parallel processing of all chunks.
      for (const chunkId of chunkIds) await ctx.docket.add(processChunk)({ datasetId, chunkId });
      // Schedule a task to run after all chunks should be done (hours: 2 in production).
      const estimatedCompletion = new Date(Date.now() + 300);
      await ctx.docket.add(finalizeDataset, {
        when: estimatedCompletion,
        key: `finalize-${datasetId}`,
      })({ datasetId, chunkCount: chunkIds.length });
    },
  });
  for (const t of [processChunk, finalizeDataset, processLargeDataset]) docket.register(t);
  await docket.add(processLargeDataset)({ datasetId: "ds-1" });
  // Started twice by mistake: the keyed finaliser is still scheduled once.
  await docket.add(processLargeDataset)({ datasetId: "ds-1" });
  await new Worker(docket, { ...FAST, concurrency: 4 }).runUntilFinished();
  assert.deepEqual(finalised, [{ datasetId: "ds-1", chunks: 5, done: 5 }]);
});

eachBackend("seed: conditional workflows decide what comes next", async (kind) => {
  await using docket = await connectDocket(kind);
  const behaviour: Record<string, "churn" | "upsell" | "satisfied"> = {
    u1: "churn",
    u2: "upsell",
    u3: "satisfied",
  };
  const campaigns: string[] = [];
  const done = { retention: signal(), upsell: signal(), followUp: signal() };
  const createRetentionCampaign = task({
    name: "create_retention_campaign",
    run({ userId }: { userId: string }) {
      campaigns.push(`retention ${userId}`);
      done.retention.resolve();
    },
  });
  const createUpsellCampaign = task({
    name: "create_upsell_campaign",
    run({ userId }: { userId: string }) {
      campaigns.push(`upsell ${userId}`);
      done.upsell.resolve();
    },
  });
  let followUpAt = 0;
  const analyzeUserBehavior = task({
    name: "analyze_user_behavior",
    async run({ userId }: { userId: string }, ctx) {
      const data = behaviour[userId];
      if (data === "churn") await ctx.docket.add(createRetentionCampaign)({ userId });
      else if (data === "upsell") await ctx.docket.add(createUpsellCampaign)({ userId });
      else if (data === "satisfied") {
        // Schedule a follow-up check in 30 days.
        followUpAt = Date.now() + 30 * 24 * 3_600_000;
        await ctx.docket.add("analyze_user_behavior", {
          when: new Date(followUpAt),
          key: `behavior-check-${userId}`,
        })({ userId });
        done.followUp.resolve();
      }
    },
  });
  for (const t of [createRetentionCampaign, createUpsellCampaign, analyzeUserBehavior]) {
    docket.register(t);
  }
  for (const userId of ["u1", "u2", "u3"]) await docket.add(analyzeUserBehavior)({ userId });
  const worker = new Worker(docket, FAST);
  const running = worker.runForever(); // the follow-up is 30 days away: stop by hand
  await within(
    Promise.all([done.retention.promise, done.upsell.promise, done.followUp.promise]),
    10_000,
    "the three branches",
  );
  await worker.stop();
  await running;
  assert.deepEqual(campaigns.sort(), ["retention u1", "upsell u2"]);
  const followUp = await record(docket, "behavior-check-u3");
  assert.equal(followUp?.state, "scheduled");
  assert.equal(followUp?.when, followUpAt);
  assert.equal(await docket.clear(), 1, "only the follow-up was left waiting");
});
