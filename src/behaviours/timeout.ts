/**
 * Timeouts: a task that runs past its time has its signal aborted and fails with a
 * `TimeoutError` (so retries apply). The worker stops waiting for it at once, so a task that
 * ignores its signal does not hold its slot past the timeout.
 *
 * @module
 */

import { type Duration, toMillis } from "../duration.ts";
import { TimeoutError } from "../errors.ts";
import type { RunHandle, TaskHook } from "../hooks.ts";

/** What `ctx.timeout` offers a task with a timeout. */
export interface TimeoutControl {
  /** Milliseconds left before the task is cut off. */
  remaining(): number;
  /** Pushes the deadline back by `by` (default: the task's whole timeout again). */
  extend(by?: Duration): void;
}

/** A timeout behaviour (from {@linkcode Timeout}). */
export interface TimeoutBehaviour extends TaskHook {
  readonly kind: "timeout";
  /** The time allowed, milliseconds. */
  readonly limit: number;
}

/**
 * Cuts a task off after `limit`.
 *
 * @example
 * ```ts
 * import { Timeout } from "@docket/core";
 * Timeout({ seconds: 30 }).limit; // 30000
 * ```
 */
export function Timeout(limit: Duration): TimeoutBehaviour {
  const base = toMillis(limit, "timeout");
  if (!(base > 0)) throw new RangeError(`timeout must be positive, got ${base} ms`);
  const deadlines = new WeakMap<RunHandle, { at: number }>();
  return {
    kind: "timeout",
    limit: base,
    attach(run: RunHandle) {
      const deadline = { at: Date.now() + base };
      deadlines.set(run, deadline);
      const control: TimeoutControl = {
        remaining: () => Math.max(0, deadline.at - Date.now()),
        extend(by?: Duration) {
          deadline.at += by === undefined ? base : toMillis(by, "extend");
        },
      };
      run.context.timeout = control;
    },
    around(run: RunHandle, body: () => Promise<unknown>): Promise<unknown> {
      const deadline = deadlines.get(run) ?? { at: Date.now() + base };
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const check = () => {
          const left = deadline.at - Date.now();
          if (left > 0) {
            timer = setTimeout(check, left);
            return;
          }
          const error = new TimeoutError(`task ${run.key} exceeded its timeout of ${base} ms`);
          run.abort(error);
          reject(error);
        };
        timer = setTimeout(check, Math.max(0, deadline.at - Date.now()));
        body().then(resolve, reject).finally(() => clearTimeout(timer));
      });
    },
  };
}
