/**
 * Retries: run a failed task again after a delay, a fixed number of times or forever, with
 * fixed or exponentially growing delays. A task is never marked failed between attempts, and
 * cancellation is never retried.
 *
 * @module
 */

import { type Duration, toEpochMillis, toMillis, type When } from "../duration.ts";
import type { RetryDecision, RunHandle, TaskHook } from "../hooks.ts";

/** Thrown by `ctx.retry.after()` / `ctx.retry.at()`: end this attempt and run again then. */
export class ForcedRetry extends Error {
  /** When the next attempt runs, epoch milliseconds. */
  readonly when: number;
  /** Creates the signal. */
  constructor(when: number) {
    super(`retry requested for ${new Date(when).toISOString()}`);
    this.name = "ForcedRetry";
    this.when = when;
  }
}

/** What `ctx.retry` offers a task with a retry behaviour. */
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

/** A retry behaviour (from {@linkcode Retry} or {@linkcode ExponentialRetry}). */
export interface RetryBehaviour extends TaskHook {
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
      const control: RetryControl = {
        attempt: run.attempt,
        attempts,
        after(delay: Duration): never {
          throw new ForcedRetry(Date.now() + Math.max(0, toMillis(delay, "delay")));
        },
        at(when: When): never {
          throw new ForcedRetry(Math.max(Date.now(), toEpochMillis(when)));
        },
      };
      run.context.retry = control;
    },
    onFailure(run: RunHandle, error: unknown): RetryDecision | undefined {
      if (error instanceof ForcedRetry) return { when: error.when };
      if (run.attempt >= attempts) return undefined;
      return { when: Date.now() + delayAfter(run.attempt) };
    },
  };
}

/**
 * Fixed-delay retries: `attempts` runs in all (1 = no retry), `delay` between them.
 *
 * @example
 * ```ts
 * import { Retry, task } from "@docket/core";
 * const flaky = task({
 *   name: "flaky",
 *   retry: Retry({ attempts: 3, delay: { seconds: 1 } }),
 *   run() {},
 * });
 * ```
 */
export function Retry(options: { attempts: number; delay?: Duration }): RetryBehaviour {
  const delay = Math.max(0, toMillis(options?.delay ?? 0, "retry delay"));
  return retryBehaviour(options?.attempts ?? 1, () => delay);
}

/**
 * Retries without limit, `delay` apart.
 *
 * @example
 * ```ts
 * import { Retry } from "@docket/core";
 * Retry.forever({ delay: { seconds: 5 } });
 * ```
 */
Retry.forever = (options: { delay?: Duration } = {}): RetryBehaviour => {
  const delay = Math.max(0, toMillis(options.delay ?? 0, "retry delay"));
  return retryBehaviour(Infinity, () => delay);
};

/**
 * Retries with doubling delays: `minimumDelay` after the first failure, then twice that, and so
 * on, never more than `maximumDelay`.
 *
 * @example
 * ```ts
 * import { ExponentialRetry } from "@docket/core";
 * ExponentialRetry({ attempts: 5, minimumDelay: 100, maximumDelay: { seconds: 10 } });
 * ```
 */
export function ExponentialRetry(options: {
  attempts: number;
  minimumDelay?: Duration;
  maximumDelay?: Duration;
}): RetryBehaviour {
  const minimum = Math.max(0, toMillis(options?.minimumDelay ?? 1_000, "minimumDelay"));
  const maximum = Math.max(minimum, toMillis(options?.maximumDelay ?? 64_000, "maximumDelay"));
  return retryBehaviour(
    options?.attempts ?? 1,
    (attempt) => Math.min(maximum, minimum * 2 ** (attempt - 1)),
  );
}
