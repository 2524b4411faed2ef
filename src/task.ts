/**
 * Defining tasks: `task({ name, run, …behaviours })`, and the context a task receives.
 *
 * @module
 */

import type { Docket } from "./docket.ts";
import type { Execution } from "./execution.ts";
import type { Logger } from "./logging/logger.ts";
import type { Payload, Progress } from "./types.ts";
import type { TaskHook } from "./hooks.ts";
import type { Dependency, ResolvedDependencies } from "./dependencies.ts";
import { defineTask, type LoggedSpec, type TaskDefinition } from "./definition.ts";
import type { Duration } from "./duration.ts";
import { Timeout, type TimeoutBehaviour, type TimeoutControl } from "./behaviours/timeout.ts";
import type { RetryBehaviour, RetryControl } from "./behaviours/retry.ts";
import type { PerpetualBehaviour, PerpetualControl } from "./behaviours/perpetual.ts";
import type { CronBehaviour } from "./behaviours/cron.ts";

/**
 * The worker running a task, as the task sees it (`ctx.worker`).
 *
 * @example
 * ```ts
 * import { task } from "@docket/core";
 * export const whoAmI = task({
 *   name: "who_am_i",
 *   run: (_payload: Record<string, never>, ctx) => `${ctx.worker.name} (${ctx.worker.concurrency})`,
 * });
 * ```
 */
export interface RunningWorker {
  /** The worker's name, as `docket.workers()` lists it. */
  readonly name: string;
  /** How many tasks it runs at once. */
  concurrency: number;
  /** Stops it: no new work is taken; running tasks (this one too) finish. */
  stop(): Promise<void>;
}

/**
 * The context every task receives as its second argument. `D` is the type of the resolved
 * `deps`, `P` the task's payload type (what `ctx.perpetual.perpetuate` takes).
 *
 * `perpetual`, `retry` and `timeout` are present on every task, so a task that has the behaviour
 * uses them without `?.` or `!`. On a task without it, touching them throws a `TypeError` that
 * says which option is missing (e.g. "ctx.retry is only available on tasks with a retry option").
 *
 * @example
 * ```ts
 * import { depends, Retry, task } from "@docket/core";
 * export const syncAccount = task({
 *   name: "sync_account",
 *   retry: Retry({ attempts: 5, delay: { seconds: 10 } }),
 *   timeout: { minutes: 2 },
 *   deps: { startedAt: depends(() => new Date()) },
 *   async run({ accountId }: { accountId: string }, ctx) {
 *     ctx.logger.info(`attempt ${ctx.attempt} of ${ctx.retry.attempts} for ${ctx.key}`);
 *     const response = await fetch(`https://example.com/accounts/${accountId}`, {
 *       signal: ctx.signal, // aborted on timeout and on docket.cancel(key)
 *     });
 *     if (response.status === 429) ctx.retry.after({ minutes: 1 }); // ends this attempt
 *     if (ctx.timeout.remaining() < 10_000) ctx.timeout.extend({ seconds: 30 });
 *     await ctx.docket.add("trace")({ message: `synced ${accountId}` });
 *     return { startedAt: ctx.deps.startedAt.toISOString() };
 *   },
 * });
 * ```
 */
export interface TaskContext<D = Record<string, never>, P = Payload> {
  /** The docket the worker serves: schedule follow-up work with `ctx.docket.add(…)`. */
  readonly docket: Docket;
  /** The worker running the task. */
  readonly worker: RunningWorker;
  /** This run's execution (key, task name, payload, due time, attempt, …). */
  readonly execution: Execution;
  /** The task key. */
  readonly key: string;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  /** A pino child logger bound to docket, worker, task, key and attempt. */
  readonly logger: Logger;
  /** Progress reporting: `setTotal(n)`, `increment(n = 1)`, `setMessage(text)`. */
  readonly progress: Progress;
  /** Aborted on timeout (reason: a `TimeoutError`), and on `docket.cancel(key)`. */
  readonly signal: AbortSignal;
  /** The resolved `deps` (and the worker's `dependencies`). */
  readonly deps: D;
  /**
   * Perpetual and cron tasks: steer the next run (`every`, `cancel()`, `perpetuate(payload)`,
   * `after(delay)`, `at(when)`). On other tasks, using it throws a `TypeError`.
   */
  readonly perpetual: PerpetualControl<P>;
  /**
   * Tasks with a `retry` option: `attempt`, `attempts`, and `after(delay)` / `at(when)`, which
   * end this attempt and schedule the next. On other tasks, using it throws a `TypeError`.
   */
  readonly retry: RetryControl;
  /**
   * Tasks with a `timeout` option: `remaining()` milliseconds and `extend(by?)`. On other
   * tasks, using it throws a `TypeError`.
   */
  readonly timeout: TimeoutControl;
}

function unavailable(field: string, needs: string, members: readonly string[], task: string) {
  const refuse = (): never => {
    throw new TypeError(
      `ctx.${field} is only available on ${needs}; task "${task}" has none`,
    );
  };
  const control = {};
  for (const member of members) {
    Object.defineProperty(control, member, { get: refuse, set: refuse, enumerable: true });
  }
  Object.defineProperty(control, Symbol.toStringTag, { value: `unavailable ctx.${field}` });
  return Object.freeze(control);
}

/**
 * The `ctx.perpetual`, `ctx.retry` and `ctx.timeout` of a task that lacks those behaviours:
 * every member throws a `TypeError` naming the option the task would need. The behaviours a task
 * has replace them with working controls.
 *
 * @example
 * ```ts ignore
 * const { retry } = unavailableControls("send_email");
 * retry.attempt; // throws: ctx.retry is only available on tasks with a retry option; …
 * ```
 */
export function unavailableControls(taskName: string): {
  perpetual: PerpetualControl;
  retry: RetryControl;
  timeout: TimeoutControl;
} {
  // Frozen, so one set per task name serves every run of that task.
  let controls = unavailableByTask.get(taskName);
  if (!controls) {
    // Names come from messages (unknown ones too): keep the cache from growing without bound.
    if (unavailableByTask.size >= 1_000) unavailableByTask.clear();
    controls = makeUnavailableControls(taskName);
    unavailableByTask.set(taskName, controls);
  }
  return controls;
}

type UnavailableControls = ReturnType<typeof makeUnavailableControls>;

const unavailableByTask = new Map<string, UnavailableControls>();

function makeUnavailableControls(taskName: string): {
  perpetual: PerpetualControl;
  retry: RetryControl;
  timeout: TimeoutControl;
} {
  return {
    perpetual: unavailable(
      "perpetual",
      "perpetual and cron tasks (a perpetual or cron option)",
      ["every", "cancel", "perpetuate", "after", "at"],
      taskName,
    ) as PerpetualControl,
    retry: unavailable(
      "retry",
      "tasks with a retry option",
      ["attempt", "attempts", "after", "at"],
      taskName,
    ) as RetryControl,
    timeout: unavailable(
      "timeout",
      "tasks with a timeout option",
      ["remaining", "extend"],
      taskName,
    ) as TimeoutControl,
  };
}

/**
 * The type of `ctx.deps` for a task's `deps`: the value each dependency resolves to. Without
 * `deps` it is `Record<string, never>`, as in a bare `TaskContext`, so a task's context can be
 * handed to helpers typed `TaskContext`.
 *
 * @example
 * ```ts
 * import { depends, type TaskDeps } from "@docket/core";
 * const deps = { now: depends(() => Date.now()) };
 * const resolved: TaskDeps<typeof deps> = { now: 0 };
 * ```
 */
export type TaskDeps<D> = string extends keyof D ? Record<string, never>
  : ResolvedDependencies<D>;

/**
 * What `task()` takes: the body and, all optional, its name and behaviours.
 *
 * @example
 * ```ts
 * import { Retry, task, type TaskOptions } from "@docket/core";
 * const options: TaskOptions<{ to: string }, void, Record<string, never>> = {
 *   name: "send_email",
 *   retry: Retry({ attempts: 3 }),
 *   logged: { to: true },
 *   run({ to }, ctx) {
 *     ctx.logger.info(`mailing ${to}`);
 *   },
 * };
 * const sendEmail = task(options);
 * ```
 */
export interface TaskOptions<P extends object, R, D extends Record<string, Dependency<unknown>>> {
  /** Default: the run function's own name. */
  name?: string;
  /** The body. Its return value is stored as the execution's result. */
  run: (payload: P, ctx: TaskContext<TaskDeps<D>, P>) => R | Promise<R>;
  /** Reschedule after every run, success or failure: `Perpetual({ every, automatic? })`. */
  perpetual?: PerpetualBehaviour;
  /** Run on a cron schedule: `Cron("0 9 * * 1-5", { tz })`. */
  cron?: CronBehaviour;
  /** Retry failures: `Retry(…)`, `ExponentialRetry(…)`, `Retry.forever(…)`. */
  retry?: RetryBehaviour;
  /** Cut the task off after this long (a duration, or `Timeout(duration)`). */
  timeout?: Duration | TimeoutBehaviour;
  /** Concurrency limits; all must hold. */
  concurrency?: TaskHook | readonly TaskHook[];
  /** Trailing-edge debounce. */
  debounce?: TaskHook;
  /** Leading-edge cooldowns; all must pass. */
  cooldown?: TaskHook | readonly TaskHook[];
  /** Sliding-window rate limits. */
  rateLimit?: TaskHook | readonly TaskHook[];
  /** Which payload keys appear in logs (others show as `...`). */
  logged?: LoggedSpec;
  /** Dependencies resolved into `ctx.deps`. */
  deps?: D;
}

/**
 * A task made by {@linkcode task}, typed by its payload `P` and result `R` (both inferred by
 * `task()` from the run function): `docket.add(t)` then only takes a `P`, and its execution's
 * `getResult()` resolves to an `R`.
 *
 * @example
 * ```ts
 * import { task, type Task } from "@docket/core";
 * export const double: Task<{ n: number }, number> = task({
 *   name: "double",
 *   run: ({ n }: { n: number }) => n * 2,
 * });
 * ```
 */
export interface Task<P extends object = Payload, R = unknown> extends TaskDefinition {
  /** The body, typed. */
  readonly run: (payload: P, ctx: TaskContext<any, P>) => R | Promise<R>;
}

const isTimeout = (value: Duration | TimeoutBehaviour): value is TimeoutBehaviour =>
  typeof value === "object" && value !== null && (value as TimeoutBehaviour).kind === "timeout";

const many = <T>(value: T | readonly T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? [...value] : [value as T];

/**
 * Defines a task. Its payload type is the run function's first parameter, its result type what
 * run returns (awaited); `docket.add` checks payloads against them, and `getResult()` is typed
 * by them. A run without a typed payload takes any {@linkcode Payload}.
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
  P extends object = Payload,
  R = unknown,
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
  if (options.timeout !== undefined) {
    hooks.push(isTimeout(options.timeout) ? options.timeout : Timeout(options.timeout));
  }
  const name = options.name ?? (options.run.name === "run" ? "" : options.run.name);
  return defineTask({
    name,
    run: options.run,
    hooks,
    logged: options.logged,
    deps: options.deps,
  }) as Task<P, R>;
}
