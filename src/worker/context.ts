/**
 * What a task and its hooks see of a run: the lazily-built `ctx` ({@linkcode RunContext}) and the
 * handle hooks are given ({@linkcode Run}).
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Delivery } from "../storage/backend.ts";
import type { RunHandle } from "../hooks.ts";
import { Execution } from "../execution.ts";
import { ExecutionState, type Payload, type Progress } from "../types.ts";
import type { Logger } from "../logging/logger.ts";
import { unavailableControls } from "../task.ts";
import { createProgress } from "./progress.ts";
import type { RunAbort } from "./abort.ts";
import type { RunEnvironment } from "./environment.ts";
import type { RunLog } from "./run_log.ts";

/**
 * The `ctx` a task receives. `execution`, `logger`, `signal` and `progress` are made on first
 * read (most tasks never touch them, and each costs something to make); like every field, they
 * can be replaced (a hook may wrap the logger, say).
 */
export class RunContext {
  /** The docket the task belongs to. */
  readonly docket: Docket;
  /** The worker running it. */
  readonly worker: RunEnvironment["worker"];
  /** The task's key. */
  readonly key: string;
  /** The attempt (1 for the first). */
  readonly attempt: number;
  /** The task's resolved dependencies. */
  deps: unknown = {};
  // Replaced by the task's own behaviours; on a task without one, using it throws clearly.
  /** The `Perpetual` behaviour's controls. */
  perpetual: unknown;
  /** The `Retry` behaviour's controls. */
  retry: unknown;
  /** The `Timeout` behaviour's controls. */
  timeout: unknown;
  #message: Delivery["message"];
  #payload: Payload;
  #startedAt: number;
  #abort: RunAbort;
  #log: RunLog;
  #execution?: Execution;
  #logger?: Logger;
  #signal?: AbortSignal;
  #progress?: Progress;

  /** The context of `message`'s run; nothing per-run is made until it is read. */
  constructor(
    env: RunEnvironment,
    message: Delivery["message"],
    payload: Payload,
    startedAt: number,
    abort: RunAbort,
    log: RunLog,
  ) {
    this.docket = env.docket;
    this.worker = env.worker;
    this.key = message.key;
    this.attempt = message.attempt;
    const controls = unavailableControls(message.task);
    this.perpetual = controls.perpetual;
    this.retry = controls.retry;
    this.timeout = controls.timeout;
    this.#message = message;
    this.#payload = payload;
    this.#startedAt = startedAt;
    this.#abort = abort;
    this.#log = log;
  }

  /** The run as an `Execution` (made on first read). */
  get execution(): Execution {
    const message = this.#message;
    return this.#execution ??= new Execution(this.docket, {
      key: message.key,
      taskName: message.task,
      payload: this.#payload,
      when: message.when,
      attempt: message.attempt,
      generation: message.generation,
      state: ExecutionState.RUNNING,
      worker: this.worker.name,
      startedAt: this.#startedAt,
    });
  }
  set execution(value: Execution) {
    this.#execution = value;
  }

  /** The run's logger (made on first read). */
  get logger(): Logger {
    return this.#logger ?? this.#log.logger;
  }
  set logger(value: Logger) {
    this.#logger = value;
  }

  /** Aborted when the run is cut off or cancelled (made on first read). */
  get signal(): AbortSignal {
    return this.#signal ?? this.#abort.signal;
  }
  set signal(value: AbortSignal) {
    this.#signal = value;
  }

  /** Reports the run's progress (made on first read). */
  get progress(): Progress {
    const message = this.#message;
    return this.#progress ??= createProgress(
      this.docket.backend,
      message.key,
      message.generation,
      this.docket.executionTtl > 0,
    );
  }
  set progress(value: Progress) {
    this.#progress = value;
  }
}

/** What hooks see of a run. */
export class Run implements RunHandle {
  /** The task's registered name. */
  readonly taskName: string;
  /** The task's key. */
  readonly key: string;
  /** The decoded payload. */
  readonly payload: Payload;
  /** The attempt (1 for the first). */
  readonly attempt: number;
  /** When the run started, epoch milliseconds. */
  readonly startedAt: number;
  /** The task's `ctx`. */
  readonly context: Record<string, unknown>;
  #abort: RunAbort;

  /** The handle of `message`'s run. */
  constructor(
    message: Delivery["message"],
    payload: Payload,
    startedAt: number,
    context: RunContext,
    abort: RunAbort,
  ) {
    this.taskName = message.task;
    this.key = message.key;
    this.payload = payload;
    this.attempt = message.attempt;
    this.startedAt = startedAt;
    this.context = context as unknown as Record<string, unknown>;
    this.#abort = abort;
  }

  /** The run's signal. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Aborts the run. */
  abort(reason: unknown): void {
    this.#abort.abort(reason);
  }
}
