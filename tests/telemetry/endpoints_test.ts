/**
 * The worker command's endpoints, over HTTP from a running `worker.ts`: Prometheus `/metrics`
 * (under Deno and Bun), and `/healthz` and `/readyz` as Redis goes away and comes back.
 */

import assert from "node:assert/strict";
import { Docket } from "../../mod.ts";
import { freePort, startRedisServer, uniqueName, waitUntil } from "../_harness.ts";
import { startWorkerProcess } from "../_processes.ts";
import { whereAmI } from "../fixtures/e2e_tasks.ts";

/** GET `url`: status and body, or status 0 when nothing answers. */
async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

/** The value of the first sample of `name` whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`worker.ts serves Prometheus /metrics from its instruments [${runtime}]`, async () => {
    const redis = await startRedisServer();
    const name = uniqueName("metrics");
    const metricsPort = await freePort();
    const docket = await Docket.connect({ name, url: redis.url });
    docket.register(whereAmI);
    const worker = startWorkerProcess({
      docket: { url: redis.url, name },
      tasks: "tests/fixtures/e2e_tasks.ts",
      name: "scraped",
      runtime,
      args: ["--metrics-port", String(metricsPort)],
    });
    try {
      const execution = await docket.add("where_am_i")({ n: 1 });
      await execution.getResult({ timeout: 60_000 });
      const labels = { docket_name: name, docket_task: "where_am_i", docket_worker: "scraped" };
      let text = "";
      await waitUntil(
        async () => {
          const { status, body } = await get(`http://127.0.0.1:${metricsPort}/metrics`);
          text = body;
          return status === 200 && sample(body, "docket_tasks_completed_total", labels) === 1;
        },
        60_000,
        "a scrape showing the completed task",
      );
      assert.equal(sample(text, "docket_tasks_succeeded_total", labels), 1);
      assert.equal(sample(text, "docket_tasks_started_total", labels), 1);
      assert.equal(sample(text, "docket_task_duration_count", labels), 1);
      assert.equal(sample(text, "docket_queue_depth", { docket_name: name }), 0);
      assert.match(text, /# TYPE docket_task_duration histogram/);
      assert.equal(sample(text, "docket_dead_letter_depth", { docket_name: name }), 0);

      // A task that fails for good is counted in the dead-letter gauge.
      const failing = await docket.add("fail")({ message: "for the gauge" });
      await assert.rejects(failing.getResult({ timeout: 60_000 }), /for the gauge/);
      await waitUntil(
        async () => {
          const { body } = await get(`http://127.0.0.1:${metricsPort}/metrics`);
          return sample(body, "docket_dead_letter_depth", { docket_name: name }) === 1;
        },
        60_000,
        "a scrape counting the dead-lettered task",
      );
    } finally {
      await worker.stop();
      await docket.close();
      await redis.dispose();
    }
  });
}

Deno.test("/readyz follows Redis; /healthz stays 200; other paths are 404", async () => {
  const redis = await startRedisServer();
  const name = uniqueName("health");
  const port = await freePort();
  const worker = startWorkerProcess({
    docket: { url: redis.url, name },
    tasks: "tests/fixtures/e2e_tasks.ts",
    args: ["--healthcheck-port", String(port), "--reconnection-delay", "100ms"],
  });
  const at = (path: string) => get(`http://127.0.0.1:${port}${path}`);
  try {
    await waitUntil(async () => (await at("/readyz")).status === 200, 60_000, "ready");
    assert.equal((await at("/healthz")).status, 200);
    assert.equal((await at("/metrics")).status, 404);
    await redis.stop();
    await waitUntil(async () => (await at("/readyz")).status === 503, 60_000, "not ready");
    const notReady = await at("/readyz");
    assert.match(notReady.body, /unreachable|not connected/);
    assert.equal((await at("/healthz")).status, 200);
    await redis.start();
    await waitUntil(async () => (await at("/readyz")).status === 200, 60_000, "ready again");
    assert.equal((await at("/healthz")).status, 200);
  } finally {
    await worker.stop();
    await redis.dispose();
  }
});
