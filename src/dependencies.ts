/**
 * User dependencies: values a task receives in `ctx.deps`, made per execution or once per worker.
 *
 * @module
 */

/**
 * What a dependency factory receives: the execution it is made for (for a `shared` dependency,
 * the first execution that uses it on the worker).
 */
export interface DependencyScope {
  /** The task key of the execution. */
  readonly key: string;
  /** The name the task was sent under. */
  readonly taskName: string;
  /** The task's arguments. */
  readonly payload: Record<string, unknown>;
}

/** A factory, sync or async. */
export type DependencyFactory<T> = (scope: DependencyScope) => T | Promise<T>;

/** A dependency: made per execution (`depends`) or once per worker (`shared`). */
export interface Dependency<T> {
  /** `"execution"`: made for each run; `"worker"`: made once per worker, disposed when it stops. */
  readonly scope: "execution" | "worker";
  /** Makes the value. */
  readonly factory: DependencyFactory<T>;
}

/** The resolved values of a task's `deps`. */
export type ResolvedDependencies<D> = {
  [K in keyof D]: D[K] extends Dependency<infer T> ? Awaited<T> : never;
};

function checkFactory(factory: unknown, what: string): void {
  if (typeof factory !== "function") {
    throw new TypeError(`${what}(factory) needs a function, got ${typeof factory}`);
  }
}

/**
 * A dependency made for each execution and disposed after it (`Symbol.asyncDispose` or
 * `Symbol.dispose`, last made first disposed). Within one execution a factory runs once.
 *
 * @example
 * ```ts
 * import { depends, task } from "@docket/core";
 * const report = task({
 *   name: "report",
 *   deps: { startedAt: depends(() => Date.now()) },
 *   run(_payload: Record<string, never>, ctx) {
 *     return ctx.deps.startedAt;
 *   },
 * });
 * ```
 */
export function depends<T>(factory: DependencyFactory<T>): Dependency<T> {
  checkFactory(factory, "depends");
  return { scope: "execution", factory };
}

/**
 * A dependency made once per worker, on first use, and disposed when the worker stops.
 *
 * @example
 * ```ts
 * import { shared, task } from "@docket/core";
 * const lookup = task({
 *   name: "lookup",
 *   deps: { cache: shared(() => new Map<string, string>()) },
 *   run({ id }: { id: string }, ctx) {
 *     return ctx.deps.cache.get(id) ?? null;
 *   },
 * });
 * ```
 */
export function shared<T>(factory: DependencyFactory<T>): Dependency<T> {
  checkFactory(factory, "shared");
  return { scope: "worker", factory };
}
