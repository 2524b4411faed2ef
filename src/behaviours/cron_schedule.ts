/**
 * Next-run calculation for `Cron` tasks: a 5-field cron expression read in an IANA time zone.
 *
 * The matching itself is done by `croner`; this module decides what input is accepted, how it is
 * refused, and which of croner's DST rules apply, so that every worker computes the same runs.
 *
 * @module
 */

import { Cron } from "croner";

/**
 * A parsed cron expression bound to a time zone, able to say when it next fires.
 *
 * DST, in a time zone that has it (verified for Europe/Paris and America/New_York):
 *
 * - A **fixed-time** expression, whose minute and hour fields hold only numbers, lists or ranges
 *   (no `*` and no `/` step, e.g. `30 2 * * *` or `30 2,14 * * *`):
 *   - when its wall-clock time is skipped (spring forward), it runs once, at the first valid instant
 *     after the gap on that same day: `30 2 * * *` in Europe/Paris on 29 March 2026 runs at 03:00
 *     CEST (01:00 UTC);
 *   - when its wall-clock time occurs twice (fall back), it runs once, at the first occurrence
 *     (still on summer time): `30 1 * * *` in America/New_York on 1 November 2026 runs at 01:30
 *     EDT (05:30 UTC) and not again at 01:30 EST.
 * - An **interval** expression, with `*` or a step in its minute or hour field (e.g.
 *   `0 * * * *`, `0,30 * * * *`, `0 8-18/2 * * *`), follows real time: skipped wall-clock times
 *   are not run, and a repeated wall-clock time runs on both occurrences, so an hourly job still
 *   runs every real hour.
 *
 * Either way `next()` only moves forward: feeding each result back in gives strictly increasing
 * instants.
 *
 * @example
 * ```ts
 * import { parseCron } from "./cron_schedule.ts";
 * const schedule = parseCron("0 9 * * 1-5", "Europe/Paris");
 * new Date(schedule.next(Date.UTC(2026, 0, 9, 12))).toISOString(); // "2026-01-12T08:00:00.000Z"
 * ```
 */
export interface CronSchedule {
  /** The expression as given (trimmed), e.g. `"0 9 * * 1-5"` or `"@daily"`. */
  readonly expression: string;
  /** The IANA time zone the expression is read in, e.g. `"Europe/Paris"`. */
  readonly tz: string;
  /**
   * The first matching instant strictly after `after`.
   *
   * @param after Epoch milliseconds; fractions of a second count, so 09:00:00.500 is after 09:00.
   * @returns Epoch milliseconds of the next run, always a whole minute.
   * @throws {RangeError} If `after` is not a finite number within the range of `Date`.
   */
  next(after: number): number;
}

/** The supported `@` keywords and the 5-field expressions they stand for. */
const KEYWORDS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/**
 * Characters croner understands in a field (numbers, names, L/W, `* ? , - / # +`). Checked here
 * because croner reads any pattern containing `:` as a one-off ISO date instead of refusing it.
 */
const FIELD_CHARACTERS = /^[0-9A-Za-z*?,\/#+-]+$/;

/** A fixed instant to probe new schedules from: any 28 years hold every month/weekday combination. */
const PROBE_FROM = new Date(Date.UTC(2000, 0, 1));

/**
 * Parses a 5-field cron expression (minute hour day-of-month month day-of-week) or an `@` keyword
 * (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`), to be read in
 * the IANA time zone `tz`.
 *
 * Field syntax is croner's: numbers, `*`, lists, ranges, steps, `JAN`–`DEC`, `SUN`–`SAT` (0 and 7
 * are Sunday), plus croner's `L`, `W`, `#` and `+` extensions. When both day-of-month and
 * day-of-week are restricted, a day matching either one fires, as in Vixie cron. See
 * {@linkcode CronSchedule} for what happens across DST changes.
 *
 * @param expression The cron expression.
 * @param tz An IANA time zone name; defaults to `"UTC"`.
 * @returns A schedule whose `next()` computes run times; it keeps no timers.
 * @throws {TypeError} If the expression is malformed (wrong field count, a 6-field expression with
 * seconds, an unknown keyword, bad characters) or the arguments are not strings.
 * @throws {RangeError} If a field value is out of range, the expression can never fire (e.g.
 * `0 0 30 2 *`), or the time zone is unknown.
 *
 * @example
 * ```ts
 * import { parseCron } from "./cron_schedule.ts";
 * const nightly = parseCron("30 2 * * *", "America/New_York");
 * new Date(nightly.next(Date.UTC(2026, 0, 1))).toISOString(); // "2026-01-01T07:30:00.000Z"
 * parseCron("@hourly").next(Date.UTC(2026, 0, 1, 10, 15)); // Date.UTC(2026, 0, 1, 11)
 * ```
 */
export function parseCron(expression: string, tz = "UTC"): CronSchedule {
  if (typeof expression !== "string") {
    throw new TypeError(`Cron expression must be a string, got ${typeof expression}`);
  }
  const text = expression.trim();
  checkTimeZone(tz);
  const fields = expandKeyword(text);
  checkFields(text, fields);
  const job = compile(text, fields, tz);
  return Object.freeze({
    expression: text,
    tz,
    next: (after: number) => nextRun(job, text, tz, after),
  });
}

/** Refuses anything `Intl` does not know as a time zone, naming it. */
function checkTimeZone(tz: string): void {
  if (typeof tz !== "string") {
    throw new TypeError(`Cron time zone must be a string, got ${typeof tz}`);
  }
  try {
    // Intl is the source of truth croner relies on too; an empty name would silently mean UTC.
    if (tz === "") throw new RangeError("empty");
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new RangeError(`Unknown time zone "${tz}": expected an IANA name like "Europe/Paris"`);
  }
}

/** Replaces an `@` keyword by its 5-field form; other text passes through unchanged. */
function expandKeyword(text: string): string {
  if (!text.startsWith("@")) return text;
  const fields = KEYWORDS[text.toLowerCase()];
  if (fields === undefined) {
    const known = Object.keys(KEYWORDS).join(", ");
    throw new TypeError(`Invalid cron expression "${text}": unknown keyword (supported: ${known})`);
  }
  return fields;
}

/** Checks the field count and characters, which croner would otherwise accept or misread. */
function checkFields(text: string, fields: string): void {
  const parts = fields.split(/\s+/).filter((part) => part !== "");
  if (parts.length === 6) {
    throw new TypeError(
      `Invalid cron expression "${text}": 6 fields given, but a seconds field is not supported; ` +
        "use 5 fields (minute hour day-of-month month day-of-week)",
    );
  }
  if (parts.length !== 5) {
    throw new TypeError(
      `Invalid cron expression "${text}": expected 5 fields ` +
        `(minute hour day-of-month month day-of-week), got ${parts.length}`,
    );
  }
  const bad = parts.find((part) => !FIELD_CHARACTERS.test(part));
  if (bad !== undefined) {
    throw new TypeError(`Invalid cron expression "${text}": unexpected characters in "${bad}"`);
  }
}

/** Builds a croner job that can only compute dates, and proves it fires at least once. */
function compile(text: string, fields: string, tz: string): Cron {
  let job: Cron;
  try {
    // No callback and paused: croner sets a timer only when given a function to run, so this
    // instance never schedules anything. No name either, to stay out of croner's global registry.
    job = new Cron(fields, {
      timezone: tz,
      mode: "5-part",
      paused: true,
      // Vixie cron's rule: explicit lists and ranges of times are fixed times, not intervals.
      fixedTimeRule: "no-wildcard",
    });
  } catch (error) {
    throw rethrow(text, error);
  }
  if (job.nextRun(PROBE_FROM) === null) {
    throw new RangeError(`Invalid cron expression "${text}": it never matches any date`);
  }
  return job;
}

/** Wraps a croner error so the message names the expression; keeps TypeError vs RangeError. */
function rethrow(text: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const message = `Invalid cron expression "${text}": ${reason}`;
  return error instanceof RangeError
    ? new RangeError(message, { cause: error })
    : new TypeError(message, { cause: error });
}

/** Asks croner for the first run strictly after `after`. */
function nextRun(job: Cron, text: string, tz: string, after: number): number {
  if (typeof after !== "number" || Number.isNaN(new Date(after).getTime())) {
    throw new RangeError(`Cron next(): "after" must be epoch milliseconds, got ${String(after)}`);
  }
  // croner drops the milliseconds of the reference and returns runs strictly after the rest,
  // and a run is always at :00.000, so "strictly after `after`" holds for fractional inputs too.
  const run = job.nextRun(new Date(after));
  if (run === null) {
    throw new RangeError(
      `Cron expression "${text}" (${tz}) has no run after ${new Date(after).toISOString()}`,
    );
  }
  return run.getTime();
}
