/**
 * The options of a {@linkcode Worker}: the public ones, and the test knobs that are not exported.
 *
 * @module
 */

import type { TaskLike } from "../definition.ts";
import type { Dependency } from "../dependencies.ts";
import { type Duration, toMillis } from "../duration.ts";
import { checkMaxRedeliveries } from "../docket_options.ts";
import { RESEED_INTERVAL_MS } from "./automatic_tasks.ts";
import { NEXT_DUE_RECHECK_MS } from "./scheduler_loop.ts";
import type { Logger } from "../logging/logger.ts";
import type { WorkerObserver } from "../hooks.ts";

/** Options of a {@linkcode Worker}; durations are milliseconds or `{ seconds, … }`. */
export interface WorkerOptions {
  /** Default `<hostname>#<pid>`. */
  name?: string;
  /** Tasks run at once. Default 10. */
  concurrency?: number;
  /** How long a task may go without its worker renewing the lease before another takes it. Default 5 min. */
  redeliveryTimeout?: Duration;
  /** How long to wait before retrying after the store could not be reached. Default 5 s. */
  reconnectionDelay?: Duration;
  /** The longest the worker waits for new work before checking again. Default 250 ms. */
  minimumCheckInterval?: Duration;
  /**
   * How often future tasks that have come due are moved to the stream. Default 250 ms. (A task
   * due sooner than that is moved when it comes due.)
   */
  schedulingResolution?: Duration;
  /** Seed tasks marked `automatic` (perpetual, cron) when the worker starts. Default true. */
  scheduleAutomaticTasks?: boolean;
  /**
   * How long running tasks get to finish after `stop()` (or SIGTERM). Past it their `ctx.signal`
   * aborts and they are left for another worker to run again after `redeliveryTimeout`. Default:
   * no deadline, running tasks always finish.
   */
  shutdownTimeout?: Duration;
  /** Runs tasks whose name is not registered. Default: warn and acknowledge. */
  fallbackTask?: TaskLike;
  /** Dependencies every task of this worker receives in `ctx.deps`. */
  dependencies?: Record<string, Dependency<unknown>>;
  /** Default: the docket's logger. */
  logger?: Logger;
  /**
   * How many times a task's worker may vanish while running it (stop renewing its lease:
   * killed, blocked, cut off) before the task is no longer run again: past it, the task ends
   * FAILED with an `AbandonedTaskError`. Default: the docket's `maxRedeliveries` (3).
   */
  maxRedeliveries?: number;
  /**
   * Ends the process (after logging the running tasks to stderr) when the worker's event loop
   * has been blocked this long, say by a task that never yields, so its supervisor restarts it.
   * 0 or absent: off (the worker command turns it on, with the redelivery timeout).
   */
  watchdogTimeout?: Duration;
  /**
   * Watch the worker's runs, reads and shutdown (health checks, custom metrics). Telemetry
   * (OpenTelemetry spans and metrics) is always observed as well.
   */
  observers?: WorkerObserver[];
}

/**
 * Worker options that are not part of the public API (not exported from `mod.ts`): knobs for
 * tests. `reseedInterval` is how often automatic tasks are seeded again (default 60 s);
 * `nextDueRecheck` the longest the scheduler sleeps while it follows the next-due channel
 * (default 10 s).
 *
 * @example
 * ```ts ignore
 * const options: WorkerInternalOptions = { reseedInterval: 300 };
 * const worker = new Worker(docket, options);
 * ```
 */
export interface WorkerInternalOptions extends WorkerOptions {
  reseedInterval?: Duration;
  nextDueRecheck?: Duration;
}

/** A worker's numeric options, checked and in milliseconds. */
export interface WorkerTimings {
  concurrency: number;
  redeliveryTimeout: number;
  reconnectionDelay: number;
  minimumCheckInterval: number;
  schedulingResolution: number;
  shutdownTimeout: number | undefined;
  maxRedeliveries: number;
  watchdogTimeout: number;
  reseedInterval: number;
  nextDueRecheck: number;
}

/**
 * Resolves a worker's numeric options with their defaults (`maxRedeliveries` from the docket);
 * throws a RangeError naming the option that is out of range.
 *
 * @example
 * ```ts ignore
 * resolveTimings({ redeliveryTimeout: { seconds: 30 } }, 3).redeliveryTimeout; // 30000
 * ```
 */
export function resolveTimings(options: WorkerOptions, maxRedeliveries: number): WorkerTimings {
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  }
  const watchdogTimeout = toMillis(options.watchdogTimeout ?? 0, "watchdogTimeout");
  if (!(watchdogTimeout >= 0)) throw new RangeError("watchdogTimeout must not be negative");
  return {
    concurrency,
    redeliveryTimeout: toMillis(options.redeliveryTimeout ?? { minutes: 5 }, "redeliveryTimeout"),
    reconnectionDelay: toMillis(options.reconnectionDelay ?? 5_000, "reconnectionDelay"),
    minimumCheckInterval: toMillis(options.minimumCheckInterval ?? 250, "minimumCheckInterval"),
    schedulingResolution: toMillis(options.schedulingResolution ?? 250, "schedulingResolution"),
    shutdownTimeout: options.shutdownTimeout === undefined
      ? undefined
      : Math.max(0, toMillis(options.shutdownTimeout, "shutdownTimeout")),
    maxRedeliveries: checkMaxRedeliveries(options.maxRedeliveries ?? maxRedeliveries),
    watchdogTimeout,
    reseedInterval: toMillis(
      (options as WorkerInternalOptions).reseedInterval ?? RESEED_INTERVAL_MS,
      "reseedInterval",
    ),
    nextDueRecheck: toMillis(
      (options as WorkerInternalOptions).nextDueRecheck ?? NEXT_DUE_RECHECK_MS,
      "nextDueRecheck",
    ),
  };
}
