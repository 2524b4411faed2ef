/**
 * The timing of `Agenda.scatter`: when each of the agenda's tasks is due.
 *
 * @module
 */

import { type Duration, toEpochMillis, toMillis, type When } from "./duration.ts";

/**
 * Options for {@linkcode planScatter}.
 *
 * @example
 * ```ts
 * import type { ScatterPlanOptions } from "./agenda_plan.ts";
 * const options: ScatterPlanOptions = { start: Date.now(), over: { minutes: 50 } };
 * ```
 */
export interface ScatterPlanOptions {
  /** The start of the window (epoch milliseconds or a `Date`). */
  start: When;
  /** The length of the window; must be positive. */
  over: Duration;
  /** Each time moves by a uniform random offset in `[-jitter, +jitter]`; default 0. */
  jitter?: Duration;
  /** The source of randomness for the jitter, returning values in `[0, 1)`; default `Math.random`. */
  random?: () => number;
}

/**
 * Spreads `count` tasks evenly over a window and returns their due times, in
 * order, as whole epoch milliseconds.
 *
 * One task goes in the middle of the window (`start + over/2`); `n > 1` tasks go
 * at `start + i * over / (n - 1)`, so the first is due at `start` and the last at
 * `start + over`. With `jitter`, each time then moves by a uniform random offset
 * in `[-jitter, +jitter]` and is clamped so that none is before `start`.
 *
 * Throws a `RangeError` when `over` is not positive, `jitter` is negative or
 * `count` is not a whole number >= 0.
 *
 * @example
 * ```ts
 * import { planScatter } from "./agenda_plan.ts";
 * planScatter(3, { start: 0, over: 60_000 }); // [0, 30_000, 60_000]
 * planScatter(1, { start: 0, over: { minutes: 10 } }); // [300_000]
 * ```
 */
export function planScatter(count: number, options: ScatterPlanOptions): number[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a whole number >= 0, got ${count}`);
  }
  const start = toEpochMillis(options.start, "start");
  const over = toMillis(options.over, "over");
  if (!(over > 0)) {
    throw new RangeError(`over must be a positive duration, got ${over} ms`);
  }
  const jitter = options.jitter === undefined ? 0 : toMillis(options.jitter, "jitter");
  if (!(jitter >= 0)) {
    throw new RangeError(`jitter must be a duration >= 0, got ${jitter} ms`);
  }
  const random = options.random ?? Math.random;

  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    let time = count === 1 ? start + over / 2 : start + (i * over) / (count - 1);
    if (jitter > 0) {
      const r = Math.min(1, Math.max(0, random()));
      time += (2 * r - 1) * jitter;
      if (time < start) time = start;
    }
    times.push(Math.round(time));
  }
  return times;
}
