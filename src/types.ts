/**
 * Shapes shared by every layer: execution states, dispositions and events.
 *
 * @module
 */

/**
 * Where an execution is in its life.
 *
 * `SCHEDULED → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED`
 *
 * @example
 * ```ts
 * import { ExecutionState } from "@docket/core";
 * ExecutionState.COMPLETED; // "completed"
 * ```
 */
export const ExecutionState = {
  SCHEDULED: "scheduled",
  QUEUED: "queued",
  RUNNING: "running",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "cancelled",
} as const;

/** One of the values of {@linkcode ExecutionState}. */
export type ExecutionState = typeof ExecutionState[keyof typeof ExecutionState];

/** The states an execution does not leave. */
export const TERMINAL_STATES: ReadonlySet<ExecutionState> = new Set([
  ExecutionState.COMPLETED,
  ExecutionState.FAILED,
  ExecutionState.CANCELLED,
]);

/**
 * What one `add` or `replace` call did.
 *
 * - `scheduled`: the task was written.
 * - `already_scheduled`: the key was scheduled, queued or running; nothing was written.
 * - `struck`: a strike matched; nothing was written.
 * - `loaded`: the execution was read back (`getExecution`, `snapshot`), not added.
 */
export type Disposition = "scheduled" | "already_scheduled" | "struck" | "loaded";

/** A task's arguments: one plain object whose keys are the parameter names. */
export type Payload = Record<string, unknown>;

/** Progress a task reports while it runs. */
export interface ProgressInfo {
  /** Units done so far (`undefined` before the task reports anything). */
  current: number | undefined;
  /** Units in all. */
  total: number | undefined;
  /** The last message set. */
  message: string | undefined;
  /** When progress last changed. */
  updatedAt: Date | undefined;
}

/** A state change, as `Execution.subscribe()` yields it. */
export interface StateEvent {
  type: "state";
  key: string;
  state: ExecutionState;
  when: Date | undefined;
  worker: string | undefined;
  startedAt: Date | undefined;
  completedAt: Date | undefined;
  error: string | undefined;
}

/** A progress change, as `Execution.subscribe()` yields it. */
export interface ProgressEvent {
  type: "progress";
  key: string;
  current: number | undefined;
  total: number | undefined;
  message: string | undefined;
  updatedAt: Date | undefined;
}

/** Any event `Execution.subscribe()` yields. */
export type ExecutionEvent = StateEvent | ProgressEvent;
