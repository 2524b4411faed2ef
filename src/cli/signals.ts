/**
 * SIGTERM and SIGINT for the worker command, listened for before anything slow happens (loading
 * task modules, connecting), so a stop asked for in a worker's first moments is a clean stop:
 * the first signal asks the worker to drain and exit, a second one exits at once.
 *
 * @module
 */

import { exitProcess, onSignal } from "../runtime.ts";

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** What the first signal does: handlers added by the worker command as it gets going. */
const onStop = new Set<(signal: string) => void>();
let received: string | undefined;
let installed = false;

/**
 * Starts listening for SIGTERM and SIGINT (once per process; later calls do nothing).
 *
 * @example
 * ```ts ignore
 * import { installStopSignals } from "./signals.ts";
 * installStopSignals();
 * ```
 */
export function installStopSignals(): void {
  if (installed) return;
  installed = true;
  const handle = (signal: string) => {
    if (received !== undefined) {
      // A second signal: the operator does not want to wait for the drain.
      console.error(`Received ${signal} again: exiting now`);
      exitProcess(128 + (SIGNAL_NUMBERS[signal] ?? 1));
    }
    received = signal;
    for (const listener of onStop) listener(signal);
  };
  onSignal("SIGTERM", () => handle("SIGTERM"));
  onSignal("SIGINT", () => handle("SIGINT"));
}

/**
 * The signal received so far, if any.
 *
 * @example
 * ```ts ignore
 * if (stopSignal() !== undefined) return 0;
 * ```
 */
export function stopSignal(): string | undefined {
  return received;
}

/**
 * Calls `listener` on the first signal (at once if one came already); returns a function that
 * removes it.
 *
 * @example
 * ```ts ignore
 * const remove = onStopSignal((signal) => worker.stop());
 * ```
 */
export function onStopSignal(listener: (signal: string) => void): () => void {
  onStop.add(listener);
  if (received !== undefined) listener(received);
  return () => onStop.delete(listener);
}
