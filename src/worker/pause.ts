/**
 * Interruptible sleeps for the worker's loops: a {@linkcode Pause} whose `wake()` ends every sleep
 * under way at once (so `stop()` never waits out a loop's interval), and the
 * {@linkcode LoopControl} a background loop is given to know when to end.
 *
 * @module
 */

/** Sleeps that `wake()` ends early, for every loop sleeping on it at once. */
export class Pause {
  #sleepers = new Set<() => void>();

  /** Resolves after `ms`, or sooner when `wake()` is called or `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const sleepers = this.#sleepers;
      function done() {
        clearTimeout(timer);
        sleepers.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      sleepers.add(done);
      signal?.addEventListener("abort", done);
    });
  }

  /** Ends every sleep under way. */
  wake(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /**
   * The control of loops that go on while `running()` and sleep on this pause. A sleep asked for
   * once `running()` is false returns at once: `wake()` ends only the sleeps under way, so a loop
   * whose call to the store was in flight when its worker stopped would otherwise sleep its
   * whole interval (a heartbeat's, a lease renewal's) and hold up the stop that waits for it.
   */
  control(running: () => boolean): LoopControl {
    return {
      running,
      sleep: (ms, signal) => running() ? this.sleep(ms, signal) : Promise.resolve(),
    };
  }
}

/** What a background loop needs of its worker: whether to go on, and a sleep that stop ends. */
export interface LoopControl {
  /** False once the worker is stopping. */
  readonly running: () => boolean;
  /** Sleeps `ms`, or less if the worker stops (or `signal` aborts) meanwhile. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}
