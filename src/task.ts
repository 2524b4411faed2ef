/**
 * Defining tasks: `task({ name, run, …behaviours })`, and the context a task receives.
 *
 * @module
 */

import type { Docket } from "./docket.ts";
import type { Execution } from "./execution.ts";
import type { Logger } from "./logging/logger.ts";
import type { Progress } from "./worker/progress.ts";
import type { TaskHook } from "./hooks.ts";
import type { Dependency, ResolvedDependencies } from "./dependencies.ts";
import { defineTask, type LoggedSpec, type TaskDefinition } from "./definition.ts";
import type { Duration } from "./duration.ts";
import { Timeout, type TimeoutControl } from "./behaviours/timeout.ts";
import type { RetryControl } from "./behaviours/retry.ts";
import type { PerpetualControl } from "./behaviours/perpetual.ts";
import type { Payload } from "./types.ts";

/** The worker running a task, as the task sees it. */
export interface RunningWorker {
  readonly name: string;
  concurrency: number;
  stop(): Promise<void>;
}

/** The context every task receives as its second argument. */
export interface TaskContext<D = Record<string, never>> {
  /** The docket the worker serves (schedule follow-up work with it). */
  readonly docket: Docket;
  /** The worker running the task. */
  readonly worker: RunningWorker;
  /** This run's execution. */
  readonly execution: Execution;
  /** The task key. */
  readonly key: string;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  /** A pino child logger bound to docket, worker, task, key and attempt. */
  readonly logger: Logger;
  /** Progress reporting. */
  readonly progress: Progress;
  /** Aborted on timeout, on `docket.cancel(key)`. */
  readonly signal: AbortSignal;
  /** The resolved `deps`. */
  readonly deps: D;
  /** Perpetual and cron tasks only: steer the next run. */
  readonly perpetual: PerpetualControl;
  /** Tasks with `retry` only: retry on purpose. */
  readonly retry: RetryControl;
  /** Tasks with `timeout` only: time left, and more of it. */
  readonly timeout: TimeoutControl;
}

/** A behaviour or a list of them. */
type OneOrMany<T> = T | readonly T[];

/** What `task()` takes. */
export interface TaskOptions<P extends Payload, R, D extends Record<string, Dependency<unknown>>> {
  /** Default: the run function's own name. */
  name?: string;
  /** The body. Its return value is stored as the execution's result. */
  run: (payload: P, ctx: TaskContext<ResolvedDependencies<D>>) => R | Promise<R>;
  /** Reschedule after every run: `Perpetual({ every })`. */
  perpetual?: TaskHook;
  /** Run on a cron schedule: `Cron("0 9 * * 1-5", { tz })`. */
  cron?: TaskHook;
  /** Retry failures: `Retry(…)`, `ExponentialRetry(…)`, `Retry.forever(…)`. */
  retry?: TaskHook;
  /** Cut the task off after this long. */
  timeout?: Duration;
  /** Concurrency limits; all must hold. */
  concurrency?: OneOrMany<TaskHook>;
  /** Trailing-edge debounce. */
  debounce?: TaskHook;
  /** Leading-edge cooldowns; all must pass. */
  cooldown?: OneOrMany<TaskHook>;
  /** Sliding-window rate limits. */
  rateLimit?: OneOrMany<TaskHook>;
  /** Which payload keys appear in logs (others show as `...`). */
  logged?: LoggedSpec;
  /** Dependencies resolved into `ctx.deps`. */
  deps?: D;
}

/** A task made by {@linkcode task}, typed by its payload and result. */
export interface Task<P extends Payload = Payload, R = unknown> extends TaskDefinition {
  /** The body, typed. */
  readonly run: (payload: P, ctx: TaskContext<any>) => R | Promise<R>;
}

const many = <T>(value: OneOrMany<T> | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? [...value] : [value as T];

/**
 * Defines a task.
 *
 * @example
 * ```ts
 * import { Retry, task } from "@docket/core";
 * export const processOrder = task({
 *   name: "process_order",
 *   retry: Retry({ attempts: 3, delay: { seconds: 1 } }),
 *   timeout: { seconds: 30 },
 *   logged: { customerId: true, items: "length" },
 *   async run({ customerId, items }: { customerId: string; items: string[] }, ctx) {
 *     ctx.logger.info(`processing ${customerId}`);
 *     await ctx.progress.setTotal(Math.max(1, items.length));
 *     return { processed: items.length };
 *   },
 * });
 * ```
 */
export function task<
  P extends Payload,
  R,
  D extends Record<string, Dependency<unknown>> = Record<string, never>,
>(options: TaskOptions<P, R, D>): Task<P, R> {
  const hooks: TaskHook[] = [
    ...many(options.concurrency),
    ...many(options.debounce),
    ...many(options.cooldown),
    ...many(options.rateLimit),
    ...many(options.perpetual),
    ...many(options.cron),
    ...many(options.retry),
  ];
  if (options.timeout !== undefined) hooks.push(Timeout(options.timeout));
  const name = options.name ?? (options.run.name === "run" ? "" : options.run.name);
  return defineTask({
    name,
    run: options.run,
    hooks,
    logged: options.logged,
    deps: options.deps,
  }) as Task<P, R>;
}
