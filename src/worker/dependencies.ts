/**
 * Resolving `deps` for a run: per-execution values made fresh and disposed after the run (last
 * made, first disposed), worker-wide values made once and disposed when the worker stops.
 *
 * @module
 */

import type { Dependency, DependencyScope } from "../dependencies.ts";

/**
 * A dependency's factory failed: the task fails (or is retried) without its body running. The
 * message names the dependency; `cause` is what the factory threw.
 *
 * @example
 * ```ts
 * import { DependencyError } from "@docket/core";
 * const error = new DependencyError("db", new Error("connection refused"));
 * error.message; // 'failed to resolve dependency "db": connection refused'
 * ```
 */
export class DependencyError extends Error {
  /** The name of the dependency in `deps`. */
  readonly dependency: string;
  /** Creates the error. */
  constructor(dependency: string, cause: unknown) {
    super(
      `failed to resolve dependency "${dependency}": ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "DependencyError";
    this.dependency = dependency;
  }
}

async function dispose(value: unknown): Promise<void> {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return;
  const disposable = value as Partial<AsyncDisposable & Disposable>;
  if (typeof disposable[Symbol.asyncDispose] === "function") {
    await disposable[Symbol.asyncDispose]!();
  } else if (typeof disposable[Symbol.dispose] === "function") {
    disposable[Symbol.dispose]!();
  }
}

/**
 * Disposes `values` last first. One that throws does not keep the others from being disposed;
 * the first error is thrown once all have been tried.
 */
async function disposeInReverse(values: readonly unknown[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (let i = values.length - 1; i >= 0; i--) {
    try {
      await dispose(values[i]);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

/**
 * Values made once per worker, keyed by factory, and disposed (last made first) when the worker
 * stops.
 *
 * @example
 * ```ts ignore
 * const values = new SharedDependencies();
 * const pool = await values.get(shared(() => createPool()), scope); // made on first use
 * await values.disposeAll();
 * ```
 */
export class SharedDependencies {
  #values = new Map<unknown, Promise<unknown>>();
  #order: unknown[] = [];

  /** The value for a worker-wide dependency, made on first use. */
  get(dependency: Dependency<unknown>, scope: DependencyScope): Promise<unknown> {
    let value = this.#values.get(dependency.factory);
    if (!value) {
      value = Promise.resolve().then(() => dependency.factory(scope));
      value.then((made) => this.#order.push(made), () => this.#values.delete(dependency.factory));
      this.#values.set(dependency.factory, value);
    }
    return value;
  }

  /** Disposes every value made, last made first. */
  async disposeAll(): Promise<void> {
    const values = this.#order;
    this.#order = [];
    this.#values.clear();
    await disposeInReverse(values);
  }
}

/**
 * Resolves a run's dependencies, in the order they are declared. Returns the values and a
 * function that disposes the per-execution ones, last made first (calling it again does
 * nothing); throws a {@linkcode DependencyError} naming the one that failed (after disposing
 * those already made).
 *
 * @example
 * ```ts ignore
 * const { values, dispose } = await resolveDependencies(deps, scope, sharedValues);
 * try {
 *   await body(values);
 * } finally {
 *   await dispose();
 * }
 * ```
 */
export async function resolveDependencies(
  deps: Readonly<Record<string, Dependency<unknown>>>,
  scope: DependencyScope,
  sharedValues: SharedDependencies,
): Promise<{ values: Record<string, unknown>; dispose: () => Promise<void> }> {
  const values: Record<string, unknown> = {};
  const made: unknown[] = [];
  const perExecution = new Map<unknown, unknown>();
  let disposed = false;
  const disposeMade = async () => {
    if (disposed) return;
    disposed = true;
    await disposeInReverse(made);
  };
  for (const [name, dependency] of Object.entries(deps)) {
    try {
      if (dependency.scope === "worker") {
        values[name] = await sharedValues.get(dependency, scope);
      } else if (perExecution.has(dependency.factory)) {
        values[name] = perExecution.get(dependency.factory);
      } else {
        const value = await dependency.factory(scope);
        perExecution.set(dependency.factory, value);
        made.push(value);
        values[name] = value;
      }
    } catch (error) {
      await disposeMade().catch(() => undefined);
      throw new DependencyError(name, error);
    }
  }
  return { values, dispose: disposeMade };
}
