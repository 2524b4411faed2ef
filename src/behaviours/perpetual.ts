/**
 * Perpetual tasks: after every run, success or failure, the task schedules its next run under
 * the same key. The successor is written with `replace`, which bumps the record's generation, so
 * a stale copy of the chain (a redelivery, a crashed worker's run) can never add a second one.
 *
 * @module
 */

import { type Duration, toEpochMillis, toMillis, type When } from "../duration.ts";
import type { RunHandle, RunOutcome, Successor, TaskHook } from "../hooks.ts";
import type { Payload } from "../types.ts";

/** What `ctx.perpetual` offers a perpetual or cron task. */
export interface PerpetualControl {
  /** The interval between starts, milliseconds (settable: `ctx.perpetual.every = 30_000`). */
  every: number;
  /** Ends the chain after this run. */
  cancel(): void;
  /** Gives the next run this payload instead of this run's. */
  perpetuate(payload: Payload): void;
  /** Runs next after `delay`, from now. */
  after(delay: Duration): void;
  /** Runs next at `when`. */
  at(when: When): void;
}

interface PerpetualState {
  every: number;
  cancelled: boolean;
  payload?: Payload;
  nextAt?: number;
}

/** A perpetual behaviour (from {@linkcode Perpetual}). */
export interface PerpetualBehaviour extends TaskHook {
  readonly kind: "perpetual" | "cron";
  /** The interval between starts, milliseconds. */
  readonly every: number;
}

/** Builds the hook shared by Perpetual and Cron; `next` gives the default next run time. */
export function perpetualHook(
  kind: "perpetual" | "cron",
  every: number,
  automatic: boolean,
  next: (state: { every: number; startedAt: number; now: number }) => number,
  firstRun: (now: number) => number,
): PerpetualBehaviour {
  const states = new WeakMap<RunHandle, PerpetualState>();
  return {
    kind,
    every,
    automatic: automatic ? { firstRun } : undefined,
    attach(run: RunHandle) {
      const state: PerpetualState = { every, cancelled: false };
      states.set(run, state);
      const control: PerpetualControl = {
        get every() {
          return state.every;
        },
        set every(value: number) {
          state.every = toMillis(value, "every");
        },
        cancel() {
          state.cancelled = true;
        },
        perpetuate(payload: Payload) {
          state.payload = payload;
        },
        after(delay: Duration) {
          state.nextAt = Date.now() + toMillis(delay, "delay");
        },
        at(when: When) {
          state.nextAt = toEpochMillis(when);
        },
      };
      run.context.perpetual = control;
    },
    onSettled(run: RunHandle, _outcome: RunOutcome): Successor | undefined {
      const state = states.get(run);
      if (!state || state.cancelled) return undefined;
      const now = Date.now();
      const when = state.nextAt ?? next({ every: state.every, startedAt: run.startedAt, now });
      return { when, payload: state.payload ?? run.payload };
    },
  };
}

/**
 * Reschedules the task after every run, `every` from the start of this one (start to start).
 * With `automatic: true` a worker schedules it by itself, keyed by the task's name.
 *
 * @example
 * ```ts
 * import { Perpetual, task } from "@docket/core";
 * export const healthCheck = task({
 *   name: "health_check",
 *   perpetual: Perpetual({ every: { minutes: 5 }, automatic: true }),
 *   run() {},
 * });
 * ```
 */
export function Perpetual(
  options: { every?: Duration; automatic?: boolean } = {},
): PerpetualBehaviour {
  const every = Math.max(0, toMillis(options.every ?? 0, "every"));
  return perpetualHook(
    "perpetual",
    every,
    options.automatic ?? false,
    ({ every, startedAt, now }) => Math.max(now, startedAt + every),
    (now) => now,
  );
}
