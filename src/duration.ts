/**
 * Time spans and instants as the public API accepts them.
 *
 * @module
 */

/**
 * A span of time: milliseconds, or an object of parts that add up.
 *
 * @example
 * ```ts
 * import { toMillis } from "@docket/core";
 * toMillis({ minutes: 1, seconds: 30 }); // 90_000
 * toMillis(250); // 250
 * ```
 */
export type Duration = number | {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
};

/** An instant: a `Date` or epoch milliseconds. */
export type When = Date | number;

const PART_MS = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
  milliseconds: 1,
} as const;

/**
 * Converts a {@linkcode Duration} to milliseconds, refusing what is not a finite number.
 *
 * @example
 * ```ts
 * import { toMillis } from "@docket/core";
 * toMillis({ seconds: 2 }); // 2000
 * ```
 */
export function toMillis(duration: Duration, what = "duration"): number {
  if (typeof duration === "number") {
    if (!Number.isFinite(duration)) {
      throw new TypeError(`${what} must be a finite number of milliseconds, got ${duration}`);
    }
    return duration;
  }
  if (duration === null || typeof duration !== "object") {
    throw new TypeError(
      `${what} must be milliseconds or { days, hours, minutes, seconds, milliseconds }, got ${
        String(duration)
      }`,
    );
  }
  let total = 0;
  for (const [part, value] of Object.entries(duration)) {
    const scale = PART_MS[part as keyof typeof PART_MS];
    if (scale === undefined) throw new TypeError(`${what} has an unknown part "${part}"`);
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(`${what}.${part} must be a finite number, got ${String(value)}`);
    }
    total += value * scale;
  }
  return total;
}

/**
 * Converts a {@linkcode When} to epoch milliseconds.
 *
 * @example
 * ```ts
 * import { toEpochMillis } from "@docket/core";
 * toEpochMillis(new Date(0)); // 0
 * ```
 */
export function toEpochMillis(when: When, what = "when"): number {
  const ms = when instanceof Date ? when.getTime() : when;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new TypeError(`${what} must be a Date or epoch milliseconds, got ${String(when)}`);
  }
  return ms;
}
