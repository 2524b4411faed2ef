/**
 * Carrying a trace across the store: the sender's span context is written into the task message
 * as a W3C `traceparent` (and `tracestate`), and the worker reads it back to link its run to it.
 *
 * @module
 */

import { createTraceState, isSpanContextValid, type SpanContext } from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * A span context as the message field carries it: `traceparent`, then a newline and
 * `tracestate` when there is one (neither may contain a newline). Undefined for an invalid
 * context, so a process with no tracing writes nothing.
 *
 * @example
 * ```ts ignore
 * encodeTraceContext({ traceId: "4bf9…", spanId: "00f0…", traceFlags: 1 }); // "00-4bf9…-00f0…-01"
 * ```
 */
export function encodeTraceContext(context: SpanContext): string | undefined {
  if (!isSpanContextValid(context)) return undefined;
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, "0");
  const parent = `00-${context.traceId}-${context.spanId}-${flags}`;
  const state = context.traceState?.serialize();
  return state ? `${parent}\n${state}` : parent;
}

/**
 * The remote span context a message carries, or undefined when it carries none (or a malformed
 * one: a bad trace context never stops a task from running).
 *
 * @example
 * ```ts ignore
 * decodeTraceContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.isRemote; // true
 * ```
 */
export function decodeTraceContext(text: string | undefined): SpanContext | undefined {
  if (!text) return undefined;
  const newline = text.indexOf("\n");
  const parent = newline < 0 ? text : text.slice(0, newline);
  const match = TRACEPARENT.exec(parent);
  if (!match) return undefined;
  const context: SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16),
    isRemote: true,
  };
  if (newline >= 0) context.traceState = createTraceState(text.slice(newline + 1));
  return isSpanContextValid(context) ? context : undefined;
}
