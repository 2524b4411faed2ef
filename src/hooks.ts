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

/** A run as a {@linkcode WorkerObserver} sees it when it starts. */
export interface ObservedRun {
  /** The task's name. */
  readonly taskName: string;
  /** The task key. */
  readonly key: string;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  /** When the task was due, epoch milliseconds. */
  readonly when: number;
  /** When the body started, epoch milliseconds. */
  readonly startedAt: number;
  /** The stream entry id of the run's message. */
  readonly messageId: string;
  /** True when the message was taken over from a worker that stopped renewing its lease. */
  readonly redelivered: boolean;
  /** The trace context the message carries (the sender's), if any. */
  readonly traceContext?: string;
}

/** How a run ended, as an observer is told. */
export interface RunEnd {
  /** How the body ended. */
  readonly outcome: RunOutcome;
  /** Milliseconds the run took. */
  readonly duration: number;
  /** A failure that was scheduled to run again. */
  readonly retried: boolean;
  /** What became of a successor (perpetual tasks): written, or superseded by a newer run. */
  readonly successor?: "scheduled" | "superseded";
}

/** What an observer keeps of one run, from its start to its end. */
export interface RunObservation {
  /** Calls the body (a tracing observer runs it within its span's context). */
  within<T>(body: () => T): T;
  /** The trace context messages this run writes carry (a successor's), if any. */
  readonly traceContext?: string;
  /** Called once, when the run's end is known. */
  ended(end: RunEnd): void;
}

/**
 * Watches a worker at fixed points of its life: each run's start and end, struck tasks, each
 * read of the store and its failures, and the start of its shutdown. Telemetry and the health
 * endpoints are observers; every member is optional and none may throw.
 *
 * @example
 * ```ts
 * import type { WorkerObserver } from "@docket/core";
 * let reads = 0;
 * const counter: WorkerObserver = { readCompleted: () => reads++ };
 * ```
 */
export interface WorkerObserver {
  /** A run passed its strike check (and admission) and its body is about to run. */
  runStarted?(run: ObservedRun): RunObservation | undefined;
  /** A delivered task was not run because a strike matched it. */
  runStruck?(taskName: string): void;
  /** A read of the store for work came back (with or without work). */
  readCompleted?(): void;
  /** The store could not be reached (connecting or reading work). */
  readFailed?(error: unknown): void;
  /** The worker took a turn of its main loop (it reads or waits for a free slot). */
  loopTurned?(): void;
  /** The worker stopped taking work (stop, SIGTERM). */
  stopping?(): void;
}
