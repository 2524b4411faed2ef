/**
 * Parsing command-line values: durations, numbers, environment defaults.
 *
 * @module
 */

import { readEnv } from "../runtime.ts";

/**
 * A command-line mistake: printed as one line, exit code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./parsing.ts";
 * const mistake = new UsageError("watch needs the KEY of a task");
 * mistake.name; // "UsageError"
 * ```
 */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses a duration: `250ms`, `30` or `30s` (seconds), `5m`, `2h`, `mm:ss` or `hh:mm:ss`.
 * Returns milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./parsing.ts";
 * parseDuration("1:02:03"); // 3_723_000
 * ```
 */
export function parseDuration(text: string, what = "duration"): number {
  const value = text.trim();
  const unit = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  if (unit) {
    const amount = Number(unit[1]);
    const scale = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit[2] ?? "s"]!;
    return amount * scale;
  }
  const clock = /^(?:(\d+):)?(\d{1,2}):(\d{1,2})$/.exec(value);
  if (clock) {
    const [, hours = "0", minutes, seconds] = clock;
    return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1_000;
  }
  throw new UsageError(
    `${what}: "${text}" is not a duration (use 250ms, 30s, 5m, 2h, mm:ss or hh:mm:ss)`,
  );
}

/**
 * Parses a whole number of at least `minimum`.
 *
 * @example
 * ```ts
 * import { parseCount } from "./parsing.ts";
 * parseCount("10", "--concurrency"); // 10
 * ```
 */
export function parseCount(text: string, what: string, minimum = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    throw new UsageError(`${what}: "${text}" must be a whole number of at least ${minimum}`);
  }
  return value;
}

/**
 * An environment variable, when the process may read it (an empty value counts as unset).
 *
 * @example
 * ```ts
 * import { env } from "./parsing.ts";
 * const url = env("DOCKET_URL") ?? "redis://localhost:6379/0";
 * ```
 */
export function env(name: string): string | undefined {
  const value = readEnv(name);
  return value === "" ? undefined : value;
}

/**
 * Interprets a strike value typed on the command line: JSON where the text parses as JSON
 * (`42`, `true`, `null`, `"quoted"`, `[1, 5]`), else the text itself.
 *
 * @example
 * ```ts
 * import { parseValue } from "./parsing.ts";
 * parseValue("1000"); // 1000
 * parseValue("12345abc"); // "12345abc"
 * ```
 */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
