/**
 * Aborting a run: the {@linkcode RunAbort} switch a run's signal comes from, and the
 * {@linkcode CancelledByRequest} reason `docket.cancel` aborts a running task with, and the
 * {@linkcode WorkerShutdown} reason of a run cut off by its worker's shutdown deadline.
 *
 * @module
 */

/** Marks the abort reason of a run cancelled with `docket.cancel`. */
export class CancelledByRequest extends Error {
  /** Creates the reason. */
  constructor(key: string) {
    super(`task ${key} was cancelled`);
    this.name = "CancelledByRequest";
  }
}

/**
 * The abort reason of a run still going when its worker's shutdown deadline passed. The run is
 * not recorded: its message stays pending, and another worker runs it again after
 * `redeliveryTimeout`, so nothing is lost.
 */
export class WorkerShutdown extends Error {
  /** Creates the reason. */
  constructor(worker: string, key: string) {
    super(`worker ${worker} stopped before task ${key} finished; it will be redelivered`);
    this.name = "WorkerShutdown";
  }
}

/**
 * A run's abort switch, standing in for an `AbortController` that is only made when something
 * asks for the run's signal (most tasks never do, and a controller per run is not free).
 */
export class RunAbort {
  #controller?: AbortController;
  #aborted = false;
  #reason: unknown;
  /** Called once, when the run is aborted. */
  onAbort?: (reason: unknown) => void;

  /** The run's signal (made on first use, already aborted if the run is). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether the run has been aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the run was aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts the run; without a reason, the reason is the `AbortError` a controller would give. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    if (reason === undefined) {
      const signal = this.signal;
      this.#controller!.abort();
      reason = signal.reason;
    }
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
  }
}
