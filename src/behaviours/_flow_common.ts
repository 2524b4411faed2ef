/**
 * Checks shared by the flow-control constructors (concurrency, debounce, cooldown, rate limit).
 *
 * @module
 */

import { type Duration, toMillis } from "../duration.ts";

/** Refuses a parameter or scope name that is not a non-empty string. */
export function checkName(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A positive duration in milliseconds, or a RangeError naming `what`. */
export function positiveMillis(duration: Duration, what: string): number {
  const ms = toMillis(duration, what);
  if (!(ms > 0)) throw new RangeError(`${what} must be positive, got ${ms} ms`);
  return ms;
}

/** A whole number of at least 1, or a RangeError naming `what`. */
export function positiveCount(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a whole number of at least 1, got ${String(value)}`);
  }
  return value;
}
