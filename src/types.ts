/**
 * Shapes shared by every layer: execution states, dispositions, events and `ctx.progress`.
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

/**
 * What `ctx.progress` offers a running task.
 *
 * @example
 * ```ts
 * import { task } from "@docket/core";
 *
 * export const importRecords = task({
 *   name: "import_records",
 *   async run({ records }: { records: string[] }, ctx) {
 *     await ctx.progress.setTotal(records.length);
 *     for (const record of records) {
 *       await ctx.progress.setMessage(`importing ${record}`);
 *       await ctx.progress.increment();
 *     }
 *     return ctx.progress.current;
 *   },
 * });
 * ```
 */
export interface Progress {
  /** Units done so far, as of this run's last write (`undefined` before the first). */
  readonly current: number | undefined;
  /** Units in all, as of this run's last write. */
  readonly total: number | undefined;
  /** The last message, as of this run's last write. */
  readonly message: string | undefined;
  /** Sets how many units there are in all (a whole number; 0 for an empty batch). */
  setTotal(total: number): Promise<void>;
  /** Adds `amount` (default 1; a whole number, at least 1) units done; exact under concurrent calls. */
  increment(amount?: number): Promise<void>;
  /** Sets the message shown with the progress; `null` or `""` clears it. */
  setMessage(message: string | null): Promise<void>;
}

/**
 * A state change, as `Execution.subscribe()` yields it. The first event carries everything the
 * execution knows; later ones carry only the fields their change sets.
 */
export interface StateEvent {
  /** Always `"state"`: tells this event from a {@linkcode ProgressEvent}. */
  type: "state";
  /** The task key of the execution. */
  key: string;
  /** The state the execution is now in. */
  state: ExecutionState;
  /** When the task is due; set on `scheduled`, `queued` and `running` events. */
  when: Date | undefined;
  /** The worker running the task; set on `running` events. */
  worker: string | undefined;
  /** When the current run started; set on `running` events. */
  startedAt: Date | undefined;
  /** When the task completed, failed or was cancelled; set on those events. */
  completedAt: Date | undefined;
  /** `"Name: message"` of the failure; set on `failed` events. */
  error: string | undefined;
}

/**
 * A progress change, as `Execution.subscribe()` yields it. The first event is the progress as
 * last read; each later one carries the whole record after its change.
 */
export interface ProgressEvent {
  /** Always `"progress"`: tells this event from a {@linkcode StateEvent}. */
  type: "progress";
  /** The task key of the execution. */
  key: string;
  /** Units done so far (`undefined` before the task reports anything). */
  current: number | undefined;
  /** Units in all, once the task has set it. */
  total: number | undefined;
  /** The last message set, if any. */
  message: string | undefined;
  /** When progress last changed. */
  updatedAt: Date | undefined;
}

/** Any event `Execution.subscribe()` yields. */
export type ExecutionEvent = StateEvent | ProgressEvent;
