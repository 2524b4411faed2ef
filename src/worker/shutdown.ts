/**
 * Draining a stopping worker: wait for running tasks to finish, and past the shutdown deadline
 * abort those still going, so a stop never hangs on a task that will not end. Aborted runs record
 * nothing; their messages stay pending for another worker.
 *
 * @module
 */

import type { RunAbort } from "./abort.ts";

/** A run being drained: its abort switch and the promise of its end. */
export interface DrainingRun {
  readonly abort: RunAbort;
  readonly done: Promise<void>;
}

/**
 * Resolves when every run has ended. With a `timeoutMs`, runs still going after it are aborted
 * with `reason(key)` first (their `ctx.signal` fires and the worker stops waiting for them).
 */
export async function drainRuns(
  runs: ReadonlyMap<string, DrainingRun>,
  timeoutMs: number | undefined,
  reason: (key: string) => unknown,
): Promise<void> {
  const draining = Promise.allSettled([...runs.values()].map((run) => run.done));
  if (timeoutMs !== undefined && runs.size > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), timeoutMs);
    });
    const first = await Promise.race([draining, deadline]);
    clearTimeout(timer);
    if (first === "deadline") {
      for (const [key, run] of runs) run.abort.abort(reason(key));
    }
  }
  await draining;
}

/**
 * Waits for `work` at most `ms`; true when it settled in time. A stopping worker's last writes
 * (releasing slots, leaving the registry) go through this, so a stop never waits on a store
 * that cannot be reached.
 */
export async function bounded(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
