/**
 * Resolving `deps` for a run: per-execution values made fresh and disposed after the run (last
 * made, first disposed), worker-wide values made once and disposed when the worker stops.
 *
 * @module
 */

import type { Dependency, DependencyScope } from "../dependencies.ts";

/** Thrown when a dependency's factory fails; the task fails without its body running. */
export class DependencyError extends Error {
  /** The name of the dependency in `deps`. */
  readonly dependency: string;
  /** Creates the error. */
  constructor(dependency: string, cause: unknown) {
    super(
      `dependency "${dependency}" failed: ${
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

/** Values made once per worker, keyed by factory. */
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
    const values = this.#order.reverse();
    this.#order = [];
    this.#values.clear();
    for (const value of values) await dispose(value);
  }
}

/**
 * Resolves a run's dependencies. Returns the values and a function that disposes the
 * per-execution ones; throws a {@linkcode DependencyError} naming the one that failed (after
 * disposing those already made).
 */
export async function resolveDependencies(
  deps: Readonly<Record<string, Dependency<unknown>>>,
  scope: DependencyScope,
  sharedValues: SharedDependencies,
): Promise<{ values: Record<string, unknown>; dispose: () => Promise<void> }> {
  const values: Record<string, unknown> = {};
  const made: unknown[] = [];
  const perExecution = new Map<unknown, unknown>();
  const disposeMade = async () => {
    for (const value of made.reverse()) await dispose(value);
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
      await disposeMade();
      throw new DependencyError(name, error);
    }
  }
  return { values, dispose: disposeMade };
}
