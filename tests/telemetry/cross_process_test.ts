/**
 * A trace across two processes: a Deno producer sends tasks (one due now, one in the future),
 * a Bun worker with its own SDK runs them, and its process spans link to the producer's.
 */

import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { Docket } from "../../mod.ts";
import { spansWith } from "./_otel.ts";
import { startRedisServer, uniqueName, waitUntil } from "../_harness.ts";
import { startWorkerProcess } from "../_processes.ts";
import { tracedEcho } from "../fixtures/traced_tasks.ts";

interface WrittenSpan {
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

function readSpans(path: string): WrittenSpan[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

Deno.test("a Bun worker's process spans link to a Deno producer's send spans", async () => {
  const redis = await startRedisServer();
  const name = uniqueName("cross");
  const spanFile = await Deno.makeTempFile({ suffix: ".jsonl" });
  const docket = await Docket.connect({ name, url: redis.url });
  docket.register(tracedEcho);
  const worker = startWorkerProcess({
    docket: { url: redis.url, name },
    tasks: "tests/fixtures/traced_tasks.ts",
    name: "bun-traced",
    runtime: "bun",
    env: { DOCKET_TEST_SPAN_FILE: spanFile },
  });
  try {
    const now = await docket.add(tracedEcho, { key: `${name}-now` })({ n: 1 });
    const later = await docket.add(tracedEcho, { key: `${name}-later`, when: Date.now() + 300 })({
      n: 2,
    });
    assert.deepEqual(await now.getResult({ timeout: 60_000 }), { n: 1, bun: true });
    assert.deepEqual(await later.getResult({ timeout: 60_000 }), { n: 2, bun: true });
    for (const key of [`${name}-now`, `${name}-later`]) {
      const [send] = spansWith("docket.key", key).filter((s) => s.kind === SpanKind.PRODUCER);
      let run: WrittenSpan | undefined;
      await waitUntil(
        () => {
          run = readSpans(spanFile).find((s) =>
            s.attributes["docket.key"] === key && s.kind === SpanKind.CONSUMER
          );
          return run !== undefined;
        },
        60_000,
        `the worker's span of ${key}`,
      );
      assert.equal(run!.name, `process ${name}`);
      assert.equal(run!.attributes["messaging.client.id"], "bun-traced");
      assert.equal(run!.links[0]?.traceId, send.spanContext().traceId);
      assert.equal(run!.links[0]?.spanId, send.spanContext().spanId);
    }
  } finally {
    await worker.stop();
    await docket.close();
    await redis.dispose();
    await Deno.remove(spanFile).catch(() => undefined);
  }
});
