/**
 * The worker's observers taken together: one {@linkcode WorkerObserver} that tells each of them,
 * so the worker and its runs call one object at each point and know nothing of what observes.
 *
 * @module
 */

import type { ObservedRun, RunEnd, RunObservation, WorkerObserver } from "../hooks.ts";
import { workerTelemetry } from "../telemetry/worker_telemetry.ts";

/** Every observer of a worker, as one object with every member. */
export type CombinedObserver = Required<WorkerObserver>;

/**
 * A worker's observers: its telemetry (always), then the application's own.
 *
 * @example
 * ```ts ignore
 * const observer = workerObservers({ name: "orders", group: "orders-workers" }, "w1", []);
 * ```
 */
export function workerObservers(
  docket: { readonly name: string; readonly group: string },
  workerName: string,
  observers: readonly WorkerObserver[] = [],
): CombinedObserver {
  return combineObservers([workerTelemetry(docket.name, workerName, docket.group), ...observers]);
}

/** Observations of a run by several observers, as one. */
class CombinedObservation implements RunObservation {
  readonly #parts: RunObservation[];
  readonly traceContext?: string;

  constructor(parts: RunObservation[]) {
    this.#parts = parts;
    this.traceContext = parts.find((part) => part.traceContext)?.traceContext;
  }

  within<T>(body: () => T): T {
    let call = body;
    for (let i = this.#parts.length - 1; i >= 0; i--) {
      const part = this.#parts[i];
      const next = call;
      call = () => part.within(next);
    }
    return call();
  }

  ended(end: RunEnd): void {
    for (const part of this.#parts) part.ended(end);
  }
}

/**
 * One observer telling all of `observers`, in order.
 *
 * @example
 * ```ts ignore
 * const observer = combineObservers([workerTelemetry("orders", "w1"), health]);
 * ```
 */
export function combineObservers(observers: readonly WorkerObserver[]): Required<WorkerObserver> {
  const list = [...observers];
  if (list.length === 1) {
    const [only] = list;
    return {
      runStarted: (run) => only.runStarted?.(run),
      runStruck: (task) => only.runStruck?.(task),
      readCompleted: () => only.readCompleted?.(),
      readFailed: (error) => only.readFailed?.(error),
      loopTurned: () => only.loopTurned?.(),
      stopping: () => only.stopping?.(),
    };
  }
  return {
    runStarted(run: ObservedRun) {
      const parts: RunObservation[] = [];
      for (const observer of list) {
        const part = observer.runStarted?.(run);
        if (part) parts.push(part);
      }
      return parts.length === 0
        ? undefined
        : parts.length === 1
        ? parts[0]
        : new CombinedObservation(parts);
    },
    runStruck: (task) => list.forEach((observer) => observer.runStruck?.(task)),
    readCompleted: () => list.forEach((observer) => observer.readCompleted?.()),
    readFailed: (error) => list.forEach((observer) => observer.readFailed?.(error)),
    loopTurned: () => list.forEach((observer) => observer.loopTurned?.()),
    stopping: () => list.forEach((observer) => observer.stopping?.()),
  };
}
