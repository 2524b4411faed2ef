/**
 * docket's client spans, after the OpenTelemetry messaging semantic conventions: a PRODUCER
 * span `send <docket>` for every write of tasks, whose context each written message carries
 * (see `propagation.ts`), and CLIENT spans for `cancel`, `strike`, `restore` and `clear`. With
 * no SDK registered the tracer is the API's no-op and no message gets a trace context.
 *
 * @module
 */

import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { Backend, ScheduleOutcome, ScheduleRequest } from "../storage/backend.ts";
import { VERSION } from "../version.ts";
import { DOCKET_NAME, DOCKET_TASK, MESSAGING_SYSTEM } from "./attributes.ts";
import { instruments } from "./metrics.ts";
import { encodeTraceContext } from "./propagation.ts";

/** docket's tracer (the API's proxy: it follows whatever provider is registered later). */
export const tracer: Tracer = trace.getTracer("docket", VERSION);

/** How tasks were sent: `addMany` and `schedule` are batches. */
export type SendOperation = "add" | "replace" | "addMany" | "schedule";

/** The type name of an error, for `error.type`. */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name;
  return typeof error;
}

/** Marks a span failed with `error.type` and the exception. */
export function recordFailure(span: Span, error: unknown): void {
  span.setAttribute("error.type", errorType(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
}

function sendAttributes(
  docketName: string,
  operation: SendOperation,
  requests: readonly ScheduleRequest[],
): Attributes {
  const attributes: Attributes = {
    "messaging.system": MESSAGING_SYSTEM,
    "messaging.destination.name": docketName,
    "messaging.operation.name": "send",
    "messaging.operation.type": "send",
    "docket.operation": operation,
  };
  if (operation === "addMany" || operation === "schedule") {
    attributes["messaging.batch.message_count"] = requests.length;
  }
  const [first] = requests;
  if (first && requests.every((request) => request.task === first.task)) {
    attributes[DOCKET_TASK] = first.task;
  }
  if (requests.length === 1) {
    attributes["messaging.message.id"] = first.key;
    attributes["docket.key"] = first.key;
    attributes["docket.when"] = new Date(first.when).toISOString();
    attributes["docket.attempt"] = first.attempt;
  }
  return attributes;
}

function countSent(
  docketName: string,
  requests: readonly ScheduleRequest[],
  outcomes: readonly (ScheduleOutcome | undefined)[],
): void {
  const meters = instruments();
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i];
    const labels = { [DOCKET_NAME]: docketName, [DOCKET_TASK]: request.task };
    if (request.mode === "replace") {
      meters.replaced.add(1, labels);
      meters.cancelled.add(1, labels);
    } else meters.added.add(1, labels);
    if (outcomes[i] === "scheduled") meters.scheduled.add(1, labels);
  }
}

/**
 * Writes tasks under a `send <docket>` PRODUCER span: each request gets the span's trace
 * context (when it is a real one) before `write` runs, and the sent-task counters move by the
 * outcomes `outcomesOf` reads from the result.
 *
 * @example
 * ```ts ignore
 * const outcomes = await sendTasks("orders", "add", [request], () => backend.schedule([request], now), (o) => o);
 * ```
 */
export async function sendTasks<T>(
  docketName: string,
  operation: SendOperation,
  requests: ScheduleRequest[],
  write: () => Promise<T>,
  outcomesOf: (result: T) => readonly (ScheduleOutcome | undefined)[],
): Promise<T> {
  const span = tracer.startSpan(`send ${docketName}`, { kind: SpanKind.PRODUCER });
  const carried = encodeTraceContext(span.spanContext());
  if (carried) { for (const request of requests) request.traceContext = carried; }
  if (!span.isRecording()) {
    const result = await write();
    countSent(docketName, requests, outcomesOf(result));
    return result;
  }
  span.setAttributes(sendAttributes(docketName, operation, requests));
  try {
    const result = await context.with(trace.setSpan(context.active(), span), write);
    countSent(docketName, requests, outcomesOf(result));
    return result;
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * `backend.schedule(requests, now)` under a send span of docket `host.name`.
 *
 * @example
 * ```ts ignore
 * const [outcome] = await sendRequests(docket, "add", [request], Date.now());
 * ```
 */
export function sendRequests(
  host: { readonly name: string; readonly backend: Backend },
  operation: SendOperation,
  requests: ScheduleRequest[],
  now: number,
): Promise<ScheduleOutcome[]> {
  const write = () => host.backend.schedule(requests, now);
  return sendTasks(host.name, operation, requests, write, (outcomes) => outcomes);
}

/**
 * Runs a docket operation that is not a send (`cancel`, `strike`, `restore`, `clear`) under a
 * CLIENT span `<operation> <docket>`.
 *
 * @example
 * ```ts ignore
 * await traceOperation("orders", "cancel", { "docket.key": key }, () => backend.cancel(key, now, ttl));
 * ```
 */
export async function traceOperation<T>(
  docketName: string,
  operation: "cancel" | "strike" | "restore" | "clear",
  attributes: Attributes,
  run: () => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(`${operation} ${docketName}`, { kind: SpanKind.CLIENT });
  if (!span.isRecording()) return await run();
  span.setAttributes({
    "messaging.system": MESSAGING_SYSTEM,
    "messaging.destination.name": docketName,
    "messaging.operation.name": operation,
    ...attributes,
  });
  try {
    return await context.with(trace.setSpan(context.active(), span), run);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * The outcomes of `schedule`'s per-task writes (undefined for one that failed or was not
 * written).
 *
 * @example
 * ```ts ignore
 * sentOutcomes([{ status: "fulfilled", value: ["scheduled"] }]); // ["scheduled"]
 * ```
 */
export function sentOutcomes(
  settled: readonly PromiseSettledResult<ScheduleOutcome[] | undefined>[],
): (ScheduleOutcome | undefined)[] {
  const outcomes: (ScheduleOutcome | undefined)[] = [];
  for (const result of settled) {
    // A fulfilled undefined is an entry that had nothing to write (struck).
    if (result.status === "rejected") outcomes.push(undefined);
    else if (result.value) outcomes.push(result.value[0]);
  }
  return outcomes;
}

/** What `cancel` and `clear` need of the docket. */
export interface OperationHost {
  readonly name: string;
  readonly backend: Backend;
  readonly executionTtl: number;
}

/**
 * `cancel` under its span, counted in `docket_tasks_cancelled`.
 *
 * @example
 * ```ts ignore
 * await traceCancel(docket, "order-1002");
 * ```
 */
export async function traceCancel(host: OperationHost, key: string): Promise<void> {
  const cancel = () => host.backend.cancel(key, Date.now(), host.executionTtl);
  await traceOperation(host.name, "cancel", { "docket.key": key }, cancel);
  instruments().cancelled.add(1, { [DOCKET_NAME]: host.name });
}

/**
 * `clear` under its span.
 *
 * @example
 * ```ts ignore
 * const dropped = await traceClear(docket);
 * ```
 */
export function traceClear(host: OperationHost): Promise<number> {
  return traceOperation(host.name, "clear", {}, () => host.backend.clear(host.executionTtl));
}
