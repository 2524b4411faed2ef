/**
 * The dead-letter entry of a run that failed for good, as a worker records it: the task, its
 * payload, the attempt and the error, with the error's texts capped so that what a kept failure
 * costs is its payload plus a few kilobytes.
 *
 * @module
 */

import type { DeadLetterWrite, TaskMessage } from "../storage/backend.ts";
import { toErrorRecord } from "../codec.ts";

/** Longest error stack kept, in UTF-8 bytes. */
export const STACK_LIMIT_BYTES = 8192;
/** Longest error message kept, in UTF-8 bytes. */
export const MESSAGE_LIMIT_BYTES = 8192;
/** Longest error name kept, in UTF-8 bytes. */
export const NAME_LIMIT_BYTES = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `text` cut to at most `limit` UTF-8 bytes (on a character boundary), marked as cut.
 *
 * @example
 * ```ts
 * import { capText } from "./entry.ts";
 * capText("x".repeat(10_000), 100).length <= 100; // true
 * ```
 */
export function capText(text: string, limit: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short texts need no encoding.
  if (text.length * 3 <= limit) return text;
  const bytes = encoder.encode(text);
  if (bytes.length <= limit) return text;
  const marker = "… (truncated)";
  const room = limit - encoder.encode(marker).length;
  // A cut inside a character decodes to U+FFFD at the end; drop it.
  return decoder.decode(bytes.subarray(0, Math.max(0, room))).replace(/\uFFFD+$/, "") + marker;
}

/** The error's name, message and stack as plain strings, whatever was thrown. */
function describe(error: unknown): { name: string; message: string; stack?: string } {
  try {
    const record = toErrorRecord(error);
    return {
      name: String(record.name),
      message: String(record.message),
      stack: typeof record.stack === "string" ? record.stack : undefined,
    };
  } catch {
    // A thrown value whose description itself throws still ends up in the set.
    return { name: "Error", message: "(the error could not be described)" };
  }
}

/**
 * The dead-letter entry for a run of `message` that failed for good with `error`, recorded by
 * `worker`; undefined when failures are not kept (`failedTtl` 0).
 *
 * @example
 * ```ts ignore
 * const letter = deadLetterFor(docket.failedTtl, delivery.message, "worker-1", error);
 * ```
 */
export function deadLetterFor(
  failedTtl: number,
  message: TaskMessage,
  worker: string,
  error: unknown,
): DeadLetterWrite | undefined {
  if (!(failedTtl > 0)) return undefined;
  const { name, message: text, stack } = describe(error);
  return {
    ttlMs: failedTtl,
    task: message.task,
    data: message.data,
    when: message.when,
    attempt: message.attempt,
    worker,
    errorName: capText(name, NAME_LIMIT_BYTES),
    errorMessage: capText(text, MESSAGE_LIMIT_BYTES),
    errorStack: stack === undefined ? undefined : capText(stack, STACK_LIMIT_BYTES),
  };
}
