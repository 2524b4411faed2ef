/**
 * The narrow interface through which behaviours (retry, timeout, perpetual, cron, …) plug into
 * the worker. A behaviour is a plain object implementing some of these hooks; the worker calls
 * them at fixed points of a run and knows nothing else about them.
 *
 * @module
 */

import type { Payload } from "./types.ts";

/** How a run's body ended. */
export type RunOutcome =
  | { kind: "completed"; result: unknown }
  | { kind: "failed"; error: unknown }
  | { kind: "cancelled" };

/** What a hook sees of the run in progress. */
export interface RunHandle {
  /** The task's name. */
  readonly taskName: string;
  /** The task key. */
  readonly key: string;
  /** The payload this run received. */
  readonly payload: Payload;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  /** When the body started, epoch milliseconds. */
  readonly startedAt: number;
  /** The context handed to the body; hooks add their fields to it. */
  readonly context: Record<string, unknown>;
  /** Aborts the run's signal (a timeout does this). */
  abort(reason: unknown): void;
  /** The run's signal. */
  readonly signal: AbortSignal;
}

/** A request to run the task again later, instead of failing (retries). */
export interface RetryDecision {
  /** When the next attempt runs, epoch milliseconds. */
  when: number;
}

/** The next run of a self-rescheduling task. */
export interface Successor {
  /** When the next run is due, epoch milliseconds. */
  when: number;
  /** The next run's payload. */
  payload: Payload;
}

/**
 * A flow control, described as data the storage backends understand: concurrency limits,
 * debounce, cooldown and rate limits (made by `ConcurrencyLimit`, `Debounce`, `Cooldown` and
 * `RateLimit`). Every control of a task is evaluated in one atomic step after the task is claimed
 * and before it is marked running. `param` names the payload key the control is kept per value
 * of; without it the control is per task. Controls with the same kind, `param` and `scope` share
 * their data across tasks; a `scope` keeps a control apart from others. Durations are
 * milliseconds.
 *
 * @example
 * ```ts
 * import type { AdmissionControl } from "@docket/core";
 * const perCustomer: AdmissionControl = { kind: "concurrency", param: "customerId", max: 1 };
 * ```
 */
export type AdmissionControl =
  | {
    readonly kind: "concurrency";
    readonly param?: string;
    readonly scope?: string;
    /** Runs at once, across every worker. */
    readonly max: number;
  }
  | {
    readonly kind: "debounce";
    readonly param?: string;
    readonly scope?: string;
    /** Quiet time before the one run of a burst. */
    readonly settle: number;
  }
  | {
    readonly kind: "cooldown";
    readonly param?: string;
    readonly scope?: string;
    /** How long after a run starts repeats are dropped. */
    readonly window: number;
  }
  | {
    readonly kind: "rate-limit";
    readonly param?: string;
    readonly scope?: string;
    /** Runs started per window. */
    readonly limit: number;
    /** The sliding window. */
    readonly per: number;
    /** Drop the excess instead of waiting for a slot. */
    readonly drop: boolean;
  };

/**
 * A behaviour, seen from the worker. Every member is optional.
 *
 * @example
 * ```ts
 * import type { TaskHook } from "@docket/core";
 * const stamp: TaskHook = {
 *   kind: "stamp",
 *   attach(run) {
 *     run.context.stampedAt = run.startedAt;
 *   },
 * };
 * ```
 */
export interface TaskHook {
  /** A short name for errors and logs ("retry", "timeout", "perpetual", …). */
  readonly kind: string;
  /** Adds fields to the context before the body runs (e.g. `ctx.retry`). */
  attach?(run: RunHandle): void;
  /** Wraps the body; the first hook wraps outermost. */
  around?(run: RunHandle, body: () => Promise<unknown>): Promise<unknown>;
  /** After a failure: return a time to run again, or nothing to let the task fail. */
  onFailure?(run: RunHandle, error: unknown): RetryDecision | undefined;
  /** After a run that is not retried and not cancelled: return the next run, if any. */
  onSettled?(run: RunHandle, outcome: RunOutcome): Successor | undefined;
  /** Tasks that start themselves: the first due time, when a worker seeds them. */
  automatic?: { firstRun(now: number): number };
  /**
   * Flow control: a task with any of these is admitted (or parked, rescheduled or dropped) by
   * the store before it is marked running.
   */
  readonly admission?: AdmissionControl;
}
