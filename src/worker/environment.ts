/**
 * What a run needs of the worker running it: the {@linkcode RunEnvironment} every run of a worker
 * shares, and the {@linkcode Admit} step of tasks with flow controls.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { FinishRequest } from "../storage/backend.ts";
import type { Dependency } from "../dependencies.ts";
import type { Logger } from "../logging/logger.ts";
import type { Payload } from "../types.ts";
import type { SharedDependencies } from "./dependencies.ts";
import type { WorkerObserver } from "../hooks.ts";

/** What a run needs of its worker; one environment serves every run of a worker. */
export interface RunEnvironment {
  /** The docket served. */
  readonly docket: Docket;
  /** The worker running the tasks. */
  readonly worker: { readonly name: string };
  /** The worker's logger. */
  readonly logger: Logger;
  /** Dependencies made once per worker and shared by its runs. */
  readonly sharedDependencies: SharedDependencies;
  /** Dependencies every task of the worker receives. */
  readonly workerDependencies: Readonly<Record<string, Dependency<unknown>>>;
  /** Records the end of a run (batched with others). */
  finish(request: FinishRequest): Promise<void>;
  /** True when the task must not run (strikes, `runAtMost`). */
  isStruck(taskName: string, key: string, payload: Payload): boolean;
  /** Called when a run passes its strike check and starts. */
  onStart(key: string): void;
  /** The worker's observers, as one (telemetry, health, the application's own). */
  readonly observer: Required<WorkerObserver>;
}

/**
 * Flow control, for tasks that have it: asks the store to admit the run (after the strike check,
 * before anything else). False: the run was parked, rescheduled or dropped and must not go on;
 * the store has recorded that. Throws when the task's controls cannot be applied to its payload
 * (a missing parameter): the task fails.
 */
export type Admit = (payload: Payload, logger: Logger) => Promise<boolean>;
