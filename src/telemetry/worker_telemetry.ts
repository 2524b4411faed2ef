/**
 * A worker's telemetry, as a {@linkcode WorkerObserver}: a `process <docket>` CONSUMER span per
 * run, linked to the span that sent the task, and the run counters and histograms. Every worker
 * has one; with no SDK registered it records nothing.
 *
 * @module
 */

import {
  type Attributes,
  context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { ObservedRun, RunEnd, RunObservation, WorkerObserver } from "../hooks.ts";
import { DOCKET_NAME, DOCKET_TASK, DOCKET_WORKER, MESSAGING_SYSTEM } from "./attributes.ts";
import { instruments } from "./metrics.ts";
import { decodeTraceContext, encodeTraceContext } from "./propagation.ts";
import { recordFailure, tracer } from "./tracing.ts";

/** One run's span and labels, from its start to its end. */
class RunTelemetry implements RunObservation {
  readonly traceContext?: string;
  readonly #span: Span;
  readonly #labels: Attributes;

  constructor(span: Span, labels: Attributes) {
    this.#span = span;
    this.#labels = labels;
    this.traceContext = encodeTraceContext(span.spanContext());
  }

  within<T>(body: () => T): T {
    if (!this.#span.isRecording()) return body();
    return context.with(trace.setSpan(context.active(), this.#span), body);
  }

  ended(end: RunEnd): void {
    const meters = instruments();
    const labels = this.#labels;
    const span = this.#span;
    meters.running.add(-1, labels);
    meters.completed.add(1, labels);
    meters.duration.record(end.duration / 1000, labels);
    const { outcome } = end;
    if (outcome.kind === "failed") {
      meters.failed.add(1, labels);
      if (span.isRecording()) recordFailure(span, outcome.error);
    } else {
      if (outcome.kind === "completed") meters.succeeded.add(1, labels);
      span.setStatus({ code: SpanStatusCode.OK });
    }
    if (end.retried) meters.retried.add(1, labels);
    if (end.successor === "scheduled") meters.perpetuated.add(1, labels);
    if (end.successor === "superseded") {
      meters.superseded.add(1, { ...labels, "docket.where": "on_complete" });
    }
    span.end();
  }
}

/**
 * The telemetry observer of a worker `workerName` serving docket `docketName`.
 *
 * @example
 * ```ts ignore
 * const observer = workerTelemetry("orders", "worker-1", "orders-workers");
 * ```
 */
export function workerTelemetry(
  docketName: string,
  workerName: string,
  consumerGroup: string,
): WorkerObserver {
  const labelsByTask = new Map<string, Attributes>();
  const labelsOf = (taskName: string) => {
    let labels = labelsByTask.get(taskName);
    if (!labels) {
      labels = { [DOCKET_NAME]: docketName, [DOCKET_WORKER]: workerName, [DOCKET_TASK]: taskName };
      labelsByTask.set(taskName, labels);
    }
    return labels;
  };
  const workerLabels = { [DOCKET_NAME]: docketName, [DOCKET_WORKER]: workerName };
  return {
    runStarted(run: ObservedRun): RunObservation {
      const labels = labelsOf(run.taskName);
      const meters = instruments();
      meters.started.add(1, labels);
      if (run.redelivered) meters.redelivered.add(1, labels);
      meters.running.add(1, labels);
      meters.punctuality.record(Math.max(0, run.startedAt - run.when) / 1000, labels);
      const sender = decodeTraceContext(run.traceContext);
      const links: Link[] | undefined = sender ? [{ context: sender }] : undefined;
      const span = tracer.startSpan(`process ${docketName}`, {
        kind: SpanKind.CONSUMER,
        links,
        startTime: run.startedAt,
      });
      if (span.isRecording()) {
        span.setAttributes({
          "messaging.system": MESSAGING_SYSTEM,
          "messaging.destination.name": docketName,
          "messaging.operation.name": "process",
          "messaging.operation.type": "process",
          "messaging.message.id": run.key,
          "messaging.consumer.group.name": consumerGroup,
          "messaging.client.id": workerName,
          "docket.task": run.taskName,
          "docket.key": run.key,
          "docket.attempt": run.attempt,
          "docket.when": new Date(run.when).toISOString(),
          "docket.redelivered": run.redelivered,
        });
      }
      return new RunTelemetry(span, labels);
    },
    runStruck(taskName: string): void {
      instruments().stricken.add(1, { ...labelsOf(taskName), "docket.where": "worker" });
    },
    readFailed(): void {
      instruments().redisDisruptions.add(1, workerLabels);
    },
  };
}
