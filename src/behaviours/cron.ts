/**
 * Cron tasks: perpetual tasks whose runs fall on the matches of a cron expression in a time
 * zone, DST included. Automatic by default: workers seed them, keyed by the task's name, for the
 * next match (never at start-up).
 *
 * @module
 */

import { type CronSchedule, parseCron } from "./cron_schedule.ts";
import { type PerpetualBehaviour, perpetualHook } from "./perpetual.ts";

/**
 * Options of {@linkcode Cron}.
 *
 * @example
 * ```ts
 * import { Cron, type CronOptions } from "@docket/core";
 * const options: CronOptions = { tz: "Europe/Paris", automatic: true };
 * Cron("0 9 * * 1-5", options);
 * ```
 */
export interface CronOptions {
  /** The IANA time zone the expression is read in, e.g. `"Europe/Paris"`. Default `"UTC"`. */
  tz?: string;
  /**
   * Workers schedule the task by themselves (keyed by the task's name) for the next match, and
   * re-check every minute so a severed chain heals. The task then takes an empty payload.
   * Default true; with false, add the task once and it keeps going.
   */
  automatic?: boolean;
}

/**
 * A cron behaviour (from {@linkcode Cron}).
 *
 * @example
 * ```ts
 * import { Cron, type CronBehaviour } from "@docket/core";
 * const nightly: CronBehaviour = Cron("30 2 * * *", { tz: "America/New_York" });
 * new Date(nightly.next(Date.UTC(2026, 0, 1))).toISOString(); // "2026-01-01T07:30:00.000Z"
 * ```
 */
export interface CronBehaviour extends PerpetualBehaviour {
  /** Always `"cron"`. */
  readonly kind: "cron";
  /** The expression as given (trimmed). */
  readonly expression: string;
  /** The time zone the expression is read in. */
  readonly tz: string;
  /** The first match strictly after `after` (epoch milliseconds). */
  next(after: number): number;
}

/**
 * Runs the task on the matches of a 5-field cron expression (minute hour day-of-month month
 * day-of-week) or a keyword (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
 * `@midnight`, `@hourly`), read in `tz`. After each run, success or failure, the next run is the
 * first match after the one just due (or after now, when the run ended later: missed matches are
 * skipped, not caught up). `ctx.perpetual.after()` / `at()` move the next run, `cancel()` ends
 * the chain, `perpetuate()` changes its payload.
 *
 * Across DST changes, an expression with fixed minutes and hours (`30 2 * * *`) runs once a day:
 * at the first valid instant after a skipped time, at the first occurrence of a repeated one.
 * One with `*` or a step in those fields (`0 * * * *`) follows real time.
 *
 * @example
 * ```ts
 * import { Cron, task } from "@docket/core";
 * export const morningReport = task({
 *   name: "morning_report",
 *   cron: Cron("0 9 * * 1-5", { tz: "Europe/Paris" }), // weekdays at 09:00, Paris time
 *   run(_payload: Record<string, never>, ctx) {
 *     ctx.logger.info("sending the morning report");
 *   },
 * });
 * ```
 */
export function Cron(expression: string, options: CronOptions = {}): CronBehaviour {
  if (options === null || typeof options !== "object") {
    throw new TypeError('Cron() takes options as its second argument: Cron(expr, { tz: "UTC" })');
  }
  const schedule: CronSchedule = parseCron(expression, options.tz ?? "UTC");
  const hook = perpetualHook({
    kind: "cron",
    every: 0,
    automatic: options.automatic ?? true,
    // After the later of the due time and now: never the match just run again (even on a worker
    // whose clock is a little behind), and no burst of catch-up runs after a long one.
    next: ({ when, now }) => schedule.next(Math.max(when, now)),
    firstRun: (now) => schedule.next(now),
    everyIsFixed: `ctx.perpetual.every cannot be set on a cron task (${schedule.expression}); ` +
      "use ctx.perpetual.after() or at() to move its next run",
  });
  return Object.freeze({
    ...hook,
    kind: "cron" as const,
    expression: schedule.expression,
    tz: schedule.tz,
    next: (after: number) => schedule.next(after),
  });
}
