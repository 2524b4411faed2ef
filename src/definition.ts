/**
 * What the docket and the worker know of a task: its name, its function and its behaviours.
 * Users build definitions with `task()`; a plain named function is a task with no behaviours.
 *
 * @module
 */

import type { TaskHook } from "./hooks.ts";
import type { Dependency } from "./dependencies.ts";

/** Which payload keys may appear in logs: `true` shows the value, `"length"` only its size. */
export type LoggedSpec = Record<string, true | "length">;

/** Marks objects made by `task()`. */
export const TASK_DEFINITION: unique symbol = Symbol.for("docket.task");

/** A registered task, as the docket and worker use it. */
export interface TaskDefinition {
  /**
   * The brand that tells a definition made by `task()` from a plain function.
   *
   * @internal
   */
  readonly [TASK_DEFINITION]: true;
  /** The name the task is registered and sent under. */
  readonly name: string;
  /** The body. */
  // deno-lint-ignore no-explicit-any
  readonly run: (payload: any, ctx: any) => unknown;
  /** Behaviours, in the order they wrap the body (first = outermost). */
  readonly hooks: readonly TaskHook[];
  /** Which payload keys appear in logs. */
  readonly logged?: LoggedSpec;
  /** Dependencies resolved into `ctx.deps`. */
  readonly deps?: Readonly<Record<string, Dependency<unknown>>>;
}

/**
 * A definition whose body is typed by its payload `P` and result `R`, so that `docket.add` checks
 * payloads against it (what `task()` returns is one; the built-in tasks are too).
 *
 * @example
 * ```ts
 * import { type TaskDefinitionOf, trace } from "@docket/core";
 * const traced: TaskDefinitionOf<{ message?: string }, void> = trace;
 * ```
 */
export interface TaskDefinitionOf<P, R> extends TaskDefinition {
  /** The body, typed by payload and result. */
  // deno-lint-ignore no-explicit-any
  readonly run: (payload: P, ctx: any) => R | Promise<R>;
}

/** Anything `register` and `add` accept as a task. */
// deno-lint-ignore no-explicit-any
export type TaskLike = TaskDefinition | ((payload: any, ctx: any) => unknown);

/**
 * The tasks of a `docket.schedule` call, one per entry: each a task or a registered name.
 *
 * @example
 * ```ts ignore
 * import type { TaskList } from "@docket/core";
 * const tasks: TaskList = [double, "trace"];
 * ```
 */
export type TaskList = readonly (TaskLike | string)[];

/** True for objects made by `task()`. */
export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[TASK_DEFINITION] === true;
}

/** Builds a definition from its parts, checking them; typed by its run function. */
// deno-lint-ignore no-explicit-any
export function defineTask<P = any, R = unknown>(
  parts: Omit<TaskDefinition, typeof TASK_DEFINITION | "run"> & {
    // deno-lint-ignore no-explicit-any
    readonly run: (payload: P, ctx: any) => R | Promise<R>;
  },
): TaskDefinitionOf<P, R> {
  if (typeof parts.run !== "function") {
    throw new TypeError(`task "${parts.name}" needs a run function`);
  }
  if (typeof parts.name !== "string" || parts.name.length === 0) {
    throw new TypeError(
      "a task needs a name: give { name } or use a named function (an arrow function assigned " +
        "to a const is named after the const)",
    );
  }
  const kinds = new Set<string>();
  for (const hook of parts.hooks) {
    if (hook.kind !== "concurrency" && hook.kind !== "cooldown" && hook.kind !== "rate-limit") {
      if (kinds.has(hook.kind)) {
        throw new TypeError(`task "${parts.name}" has more than one ${hook.kind} behaviour`);
      }
    }
    kinds.add(hook.kind);
  }
  if (kinds.has("perpetual") && kinds.has("cron")) {
    throw new TypeError(`task "${parts.name}" cannot be both perpetual and cron`);
  }
  return Object.freeze({ [TASK_DEFINITION]: true as const, ...parts });
}

/** A definition for anything `register` and `add` accept. */
export function toDefinition(task: TaskLike): TaskDefinition {
  if (isTaskDefinition(task)) return task;
  if (typeof task === "function") return defineTask({ name: task.name, run: task, hooks: [] });
  throw new TypeError(`expected a task (from task()) or a named function, got ${typeof task}`);
}
