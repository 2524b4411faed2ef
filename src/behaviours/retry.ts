/**
 * Retries: run a failed task again after a delay, a fixed number of times or forever, with
 * fixed or exponentially growing delays. A task is never marked failed between attempts, and
 * cancellation is never retried.
 *
 * @module
 */

import { type Duration, toEpochMillis, toMillis, type When } from "../duration.ts";
import type { RetryDecision, RunHandle, TaskHook } from "../hooks.ts";

/**
 * Thrown by `ctx.retry.after()` / `ctx.retry.at()`: ends this attempt, and the next one runs at
 * `when`. It counts as a failed attempt: when no attempts are left the task fails with it.
 *
 * @example
 * ```ts
 * import { ForcedRetry } from "@docket/core";
 * const error = new ForcedRetry(Date.UTC(2030, 0, 1));
 * error.when; // 1893456000000
 * ```
 */
export class ForcedRetry extends Error {
  /** When the next attempt runs, epoch milliseconds. */
  readonly when: number;
  /** Creates the signal; `detail` is appended to the message. */
  constructor(when: number, detail = "") {
    super(`retry requested for ${new Date(when).toISOString()}${detail}`);
    this.name = "ForcedRetry";
    this.when = when;
  }
}

/**
 * What `ctx.retry` offers a task with a retry behaviour.
 *
 * @example
 * ```ts
 * import { Retry, task } from "@docket/core";
 * export const callPartner = task({
 *   name: "call_partner",
 *   retry: Retry({ attempts: 5, delay: { seconds: 10 } }),
 *   async run({ url }: { url: string }, ctx) {
 *     const response = await fetch(url);
 *     const wait = Number(response.headers.get("retry-after"));
 *     if (response.status === 429) ctx.retry.after({ seconds: wait || 30 }); // ends the attempt
 *     return `attempt ${ctx.retry.attempt} of ${ctx.retry.attempts}: ${response.status}`;
 *   },
 * });
 * ```
 */
export interface RetryControl {
  /** This attempt: 1 on the first run. */
  readonly attempt: number;
  /** Attempts in all (`Infinity` for `Retry.forever`). */
  readonly attempts: number;
  /** Ends this attempt now and runs again after `delay`. Never returns. */
  after(delay: Duration): never;
  /** Ends this attempt now and runs again at `when` (a past time means now). Never returns. */
  at(when: When): never;
}

/**
 * A retry behaviour (from {@linkcode Retry} or {@linkcode ExponentialRetry}).
 *
 * @example
 * ```ts
 * import { ExponentialRetry, type RetryBehaviour } from "@docket/core";
 * const backoff: RetryBehaviour = ExponentialRetry({ attempts: 4, minimumDelay: 100 });
 * [1, 2, 3].map((attempt) => backoff.delayAfter(attempt)); // [100, 200, 400]
 * ```
 */
export interface RetryBehaviour extends TaskHook {
  /** Always `"retry"`. */
  readonly kind: "retry";
  /** Attempts in all, the first run included. */
  readonly attempts: number;
  /** The delay before attempt `attempt + 1`, milliseconds. */
  delayAfter(attempt: number): number;
}

function checkAttempts(attempts: number): void {
  if (!(attempts === Infinity || (Number.isInteger(attempts) && attempts >= 1))) {
    throw new RangeError(`attempts must be a whole number of at least 1, got ${attempts}`);
  }
}

function retryBehaviour(attempts: number, delayAfter: (attempt: number) => number): RetryBehaviour {
  checkAttempts(attempts);
  return {
    kind: "retry",
    attempts,
    delayAfter,
    attach(run: RunHandle) {
      const force = (when: number): never => {
        const left = attempts - run.attempt;
        throw new ForcedRetry(
          when,
          left > 0 ? "" : ` after attempt ${run.attempt} of ${attempts}, but no attempts are left`,
        );
      };
      const control: RetryControl = {
        attempt: run.attempt,
        attempts,
        after(delay: Duration): never {
          return force(Date.now() + Math.max(0, toMillis(delay, "ctx.retry.after() delay")));
        },
        at(when: When): never {
          return force(Math.max(Date.now(), toEpochMillis(when, "ctx.retry.at() time")));
        },
      };
      run.context.retry = control;
    },
    onFailure(run: RunHandle, error: unknown): RetryDecision | undefined {
      // Every failure counts, a requested retry too: with no attempts left the task fails.
      if (run.attempt >= attempts) return undefined;
      if (error instanceof ForcedRetry) return { when: error.when };
      return { when: Date.now() + delayAfter(run.attempt) };
    },
  };
}

function checkDelay(delay: Duration | undefined, fallback: number, what: string): number {
  const ms = toMillis(delay ?? fallback, what);
  if (ms < 0) throw new RangeError(`${what} must not be negative, got ${ms} ms`);
  return ms;
}

function checkOptions(options: unknown, call: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${call} takes an options object, got ${String(options)}`);
  }
}

/**
 * Options of {@linkcode Retry}.
 *
 * @example
 * ```ts
 * import { Retry, type RetryOptions } from "@docket/core";
 * const options: RetryOptions = { attempts: 3, delay: { seconds: 1 } };
 * Retry(options);
 * ```
 */
export interface RetryOptions {
  /** Runs in all, the first included: 1 means no retry. */
  attempts: number;
  /** The wait before each retry. Default 0: at once. */
  delay?: Duration;
}

/**
 * Fixed-delay retries: `attempts` runs in all (1 = no retry), `delay` between them. Failures of
 * the body, of a dependency factory and timeouts are retried; cancellation never is. Between
 * attempts the task is scheduled (or queued), never failed.
 *
 * @example
 * ```ts
 * import { Retry, task } from "@docket/core";
 * const flaky = task({
 *   name: "flaky",
 *   retry: Retry({ attempts: 3, delay: { seconds: 1 } }),
 *   run(_payload: Record<string, never>, ctx) {
 *     if (ctx.retry.attempt < 3) throw new Error("not yet");
 *   },
 * });
 * ```
 */
export function Retry(options: RetryOptions): RetryBehaviour {
  checkOptions(options, "Retry()");
  const delay = checkDelay(options.delay, 0, "Retry delay");
  return retryBehaviour(options.attempts ?? 1, () => delay);
}

/**
 * Retries without limit, `delay` apart, until the task succeeds (or is cancelled).
 *
 * @example
 * ```ts
 * import { Retry, task } from "@docket/core";
 * const untilItWorks = task({
 *   name: "until_it_works",
 *   retry: Retry.forever({ delay: { seconds: 5 } }),
 *   run() {},
 * });
 * ```
 */
Retry.forever = (options: { delay?: Duration } = {}): RetryBehaviour => {
  checkOptions(options, "Retry.forever()");
  const delay = checkDelay(options.delay, 0, "Retry delay");
  return retryBehaviour(Infinity, () => delay);
};

/**
 * Options of {@linkcode ExponentialRetry}.
 *
 * @example
 * ```ts
 * import { ExponentialRetry, type ExponentialRetryOptions } from "@docket/core";
 * const options: ExponentialRetryOptions = { attempts: 6, minimumDelay: 500, maximumDelay: 8_000 };
 * ExponentialRetry(options);
 * ```
 */
export interface ExponentialRetryOptions {
  /** Runs in all, the first included: 1 means no retry. */
  attempts: number;
  /** The wait before the first retry; each later one doubles it. Default 1 s. */
  minimumDelay?: Duration;
  /** The longest wait. Default 64 s. */
  maximumDelay?: Duration;
}

function exponential(minimum: number, maximum: number): (attempt: number) => number {
  if (maximum < minimum) {
    throw new RangeError(
      `ExponentialRetry maximumDelay (${maximum} ms) must not be less than minimumDelay ` +
        `(${minimum} ms)`,
    );
  }
  return (attempt) => Math.min(maximum, minimum * 2 ** Math.max(0, attempt - 1));
}

/**
 * Retries with doubling delays: `minimumDelay` after the first failure, then twice that, and so
 * on, never more than `maximumDelay`. With `minimumDelay: 25`, retries wait 25, 50, 100, 200 ms…
 *
 * @example
 * ```ts
 * import { ExponentialRetry, task } from "@docket/core";
 * const callPartner = task({
 *   name: "call_partner",
 *   retry: ExponentialRetry({ attempts: 5, minimumDelay: 100, maximumDelay: { seconds: 10 } }),
 *   run() {},
 * });
 * ```
 */
export function ExponentialRetry(options: ExponentialRetryOptions): RetryBehaviour {
  checkOptions(options, "ExponentialRetry()");
  const minimum = checkDelay(options.minimumDelay, 1_000, "ExponentialRetry minimumDelay");
  const maximum = checkDelay(options.maximumDelay, 64_000, "ExponentialRetry maximumDelay");
  return retryBehaviour(options.attempts ?? 1, exponential(minimum, maximum));
}

/**
 * Exponential retries without limit, until the task succeeds (or is cancelled).
 *
 * @example
 * ```ts
 * import { ExponentialRetry } from "@docket/core";
 * ExponentialRetry.forever({ minimumDelay: { seconds: 1 }, maximumDelay: { minutes: 5 } });
 * ```
 */
ExponentialRetry.forever = (
  options: { minimumDelay?: Duration; maximumDelay?: Duration } = {},
): RetryBehaviour => {
  checkOptions(options, "ExponentialRetry.forever()");
  const minimum = checkDelay(options.minimumDelay, 1_000, "ExponentialRetry minimumDelay");
  const maximum = checkDelay(options.maximumDelay, 64_000, "ExponentialRetry maximumDelay");
  return retryBehaviour(Infinity, exponential(minimum, maximum));
};
