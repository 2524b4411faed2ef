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

/**
 * What `ctx.timeout` offers a task with a timeout.
 *
 * @example
 * ```ts
 * import { task } from "@docket/core";
 * export const crawl = task({
 *   name: "crawl",
 *   timeout: { seconds: 30 },
 *   async run({ pages }: { pages: string[] }, ctx) {
 *     for (const page of pages) {
 *       if (ctx.timeout.remaining() < 5_000) ctx.timeout.extend(); // 30 s more
 *       await fetch(page, { signal: ctx.signal });
 *     }
 *   },
 * });
 * ```
 */
export interface TimeoutControl {
  /** Milliseconds left before the task is cut off (0 once it has been). */
  remaining(): number;
  /** Pushes the deadline back by `by` (default: the task's whole timeout again). */
  extend(by?: Duration): void;
}

/**
 * A timeout behaviour (from {@linkcode Timeout}).
 *
 * @example
 * ```ts
 * import { Timeout, type TimeoutBehaviour } from "@docket/core";
 * const timeout: TimeoutBehaviour = Timeout({ minutes: 1 });
 * timeout.limit; // 60000
 * ```
 */
export interface TimeoutBehaviour extends TaskHook {
  /** Always `"timeout"`. */
  readonly kind: "timeout";
  /** The time allowed, milliseconds. */
  readonly limit: number;
}

/**
 * Cuts a task off after `limit`: its `ctx.signal` aborts with a `TimeoutError` and the run fails
 * with it (so a `retry` option applies). The worker stops waiting at once, so a body that ignores
 * its signal does not hold the worker's slot past the timeout. `task({ timeout })` takes a
 * duration and builds this for you.
 *
 * @example
 * ```ts
 * import { task, Timeout } from "@docket/core";
 * export const render = task({
 *   name: "render",
 *   timeout: Timeout({ seconds: 30 }), // the same as timeout: { seconds: 30 }
 *   async run({ url }: { url: string }, ctx) {
 *     return (await fetch(url, { signal: ctx.signal })).status;
 *   },
 * });
 * ```
 */
export function Timeout(limit: Duration): TimeoutBehaviour {
  const base = toMillis(limit, "timeout");
  if (!(base > 0)) throw new RangeError(`timeout must be positive, got ${base} ms`);
  const deadlines = new WeakMap<RunHandle, { at: number; from: number }>();
  return {
    kind: "timeout",
    limit: base,
    attach(run: RunHandle) {
      const deadline = { at: Date.now() + base, from: Date.now() };
      deadlines.set(run, deadline);
      const control: TimeoutControl = {
        remaining: () => Math.max(0, deadline.at - Date.now()),
        extend(by?: Duration) {
          const more = by === undefined ? base : toMillis(by, "ctx.timeout.extend()");
          if (more < 0) throw new RangeError(`ctx.timeout.extend() needs a positive span`);
          deadline.at += more;
        },
      };
      run.context.timeout = control;
    },
    around(run: RunHandle, body: () => Promise<unknown>): Promise<unknown> {
      const deadline = deadlines.get(run) ?? { at: Date.now() + base, from: Date.now() };
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const check = () => {
          const left = deadline.at - Date.now();
          if (left > 0) {
            timer = setTimeout(check, left);
            return;
          }
          const allowed = deadline.at - deadline.from;
          const error = new TimeoutError(
            `task ${run.key} exceeded its timeout of ${base} ms` +
              (allowed > base ? ` (extended to ${allowed} ms)` : ""),
          );
          run.abort(error);
          reject(error);
        };
        timer = setTimeout(check, Math.max(0, deadline.at - Date.now()));
        body().then(resolve, reject).finally(() => clearTimeout(timer));
      });
    },
  };
}
