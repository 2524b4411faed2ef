/**
 * Spans and metrics with the real OpenTelemetry SDK: send and process spans, their link through
 * the message, failures, future tasks, retries, and the counters and histograms.
 */

import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Retry, task, Worker } from "../../mod.ts";
import { metricTotal, spansWith } from "./_otel.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";

for (const kind of BACKENDS) {
  Deno.test(`a run's process span links to the span that sent it [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const greet = task({
      name: "greet",
      run() {
        trace.getTracer("app").startActiveSpan("inside", (span) => span.end());
      },
    });
    docket.register(greet);
    await docket.add(greet, { key: `greet-${kind}` })({ who: "x" });
    await new Worker(docket, { ...FAST, name: "w-greet" }).runUntilFinished();

    const [send] = spansWith("docket.key", `greet-${kind}`).filter((s) =>
      s.kind === SpanKind.PRODUCER
    );
    const [process] = spansWith("docket.key", `greet-${kind}`).filter((s) =>
      s.kind === SpanKind.CONSUMER
    );
    assert.equal(send.name, `send ${docket.name}`);
    assert.equal(send.attributes["messaging.system"], "docket");
    assert.equal(send.attributes["messaging.destination.name"], docket.name);
    assert.equal(send.attributes["messaging.operation.type"], "send");
    assert.equal(send.attributes["docket.task"], "greet");
    assert.equal(process.name, `process ${docket.name}`);
    assert.equal(process.attributes["messaging.operation.type"], "process");
    assert.equal(process.attributes["messaging.message.id"], `greet-${kind}`);
    assert.equal(process.attributes["messaging.client.id"], "w-greet");
    assert.equal(process.attributes["messaging.consumer.group.name"], docket.keys.group);
    assert.equal(process.attributes["docket.attempt"], 1);
    assert.equal(typeof process.attributes["docket.when"], "string");
    assert.equal(process.links.length, 1);
    assert.equal(process.links[0].context.traceId, send.spanContext().traceId);
    assert.equal(process.links[0].context.spanId, send.spanContext().spanId);
    assert.equal(process.status.code, SpanStatusCode.OK);
  });

  Deno.test(`a task body's spans nest under its process span [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let innerTrace = "";
    let innerParent: string | undefined;
    const nested = task({
      name: "nested",
      run() {
        trace.getTracer("app").startActiveSpan("inner", (span) => {
          innerTrace = span.spanContext().traceId;
          innerParent = (span as unknown as { parentSpanContext?: { spanId: string } })
            .parentSpanContext?.spanId;
          span.end();
        });
      },
    });
    docket.register(nested);
    await docket.add(nested, { key: `nested-${kind}` })();
    await new Worker(docket, FAST).runUntilFinished();
    const [process] = spansWith("docket.key", `nested-${kind}`).filter((s) =>
      s.kind === SpanKind.CONSUMER
    );
    assert.equal(innerTrace, process.spanContext().traceId);
    assert.equal(innerParent, process.spanContext().spanId);
  });

  Deno.test(`a future task and its retries keep the link; failures are ERROR [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const flaky = task({
      name: "flaky",
      retry: Retry({ attempts: 2, delay: 10 }),
      run() {
        throw new RangeError("nope");
      },
    });
    docket.register(flaky);
    await docket.add(flaky, { key: `flaky-${kind}`, when: Date.now() + 50 })();
    const labels = { "docket.name": docket.name, "docket.task": "flaky" };
    await new Worker(docket, FAST).runUntilFinished();
    const spans = spansWith("docket.key", `flaky-${kind}`);
    const [send] = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const runs = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    assert.equal(runs.length, 2);
    for (const run of runs) {
      assert.equal(run.status.code, SpanStatusCode.ERROR);
      assert.equal(run.attributes["error.type"], "RangeError");
      assert.equal(run.links[0]?.context.spanId, send.spanContext().spanId);
    }
    assert.deepEqual(runs.map((run) => run.attributes["docket.attempt"]).sort(), [1, 2]);
    assert.equal(await metricTotal("docket_tasks_failed", labels), 2);
    assert.equal(await metricTotal("docket_tasks_retried", labels), 1);
    assert.equal(await metricTotal("docket_tasks_started", labels), 2);
  });

  Deno.test(`counters and histograms move as tasks run [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const quick = task({ name: "quick", run: () => "done" });
    docket.register(quick);
    await docket.addMany(quick)([{}, {}, {}]);
    const labels = { "docket.name": docket.name, "docket.task": "quick" };
    assert.equal(await metricTotal("docket_tasks_added", labels), 3);
    assert.equal(await metricTotal("docket_tasks_scheduled", labels), 3);
    const [batch] = spansWith("messaging.batch.message_count", 3).filter((s) =>
      s.attributes["messaging.destination.name"] === docket.name
    );
    assert.ok(batch, "the addMany send span counts its messages");
    await new Worker(docket, { ...FAST, name: "w-quick" }).runUntilFinished();
    const workerLabels = { ...labels, "docket.worker": "w-quick" };
    assert.equal(await metricTotal("docket_tasks_succeeded", workerLabels), 3);
    assert.equal(await metricTotal("docket_tasks_completed", workerLabels), 3);
    assert.equal(await metricTotal("docket_task_duration", workerLabels), 3);
    assert.equal(await metricTotal("docket_task_punctuality", workerLabels), 3);
    assert.equal(await metricTotal("docket_tasks_running", workerLabels), 0);
    await docket.cancel(`nothing-${kind}`);
    assert.equal(await metricTotal("docket_tasks_cancelled", { "docket.name": docket.name }), 1);
    const [cancel] = spansWith("docket.key", `nothing-${kind}`);
    assert.equal(cancel.name, `cancel ${docket.name}`);
  });
}
