/**
 * Perpetual tasks: after every run, success or failure, the task schedules its next run under
 * the same key. The successor is written with `replace`, which bumps the record's generation, so
 * a stale copy of the chain (a redelivery, a crashed worker's run) can never add a second one:
 * the worker only perpetuates a run whose generation is still the record's.
 *
 * @module
 */

import { type Duration, toEpochMillis, toMillis, type When } from "../duration.ts";
import type { RunHandle, RunOutcome, Successor, TaskHook } from "../hooks.ts";
import type { Payload } from "../types.ts";
import { encodeValue } from "../codec.ts";

/**
 * What `ctx.perpetual` offers a perpetual or cron task. Every call only affects the next run,
 * which is scheduled when this one ends (whether it succeeded or failed). `P` is the task's
 * payload type: `perpetuate` takes only that.
 *
 * @example
 * ```ts
 * import { Perpetual, task } from "@docket/core";
 * export const monitorDeployment = task({
 *   name: "monitor_deployment",
 *   perpetual: Perpetual({ every: { seconds: 30 } }),
 *   run({ deploymentId, checks }: { deploymentId: string; checks: number }, ctx) {
 *     if (checks >= 10) return ctx.perpetual.cancel(); // stop the chain after this run
 *     if (checks > 5) ctx.perpetual.every = 60_000; // the next run comes a minute later
 *     ctx.perpetual.perpetuate({ deploymentId, checks: checks + 1 }); // next run's payload
 *   },
 * });
 * ```
 */
export interface PerpetualControl<P = Payload> {
  /**
   * The interval between starts, in milliseconds. Set it to space the next run differently: it
   * then starts `every` after this one started (`ctx.perpetual.every = toMillis({ seconds: 30 })`
   * for a span in other units). The run after that goes back to the task's own interval unless it
   * sets `every` too. On cron tasks it reads 0 and cannot be set: use `after()` or `at()`.
   */
  every: number;
  /** Ends the chain: no run follows this one. */
  cancel(): void;
  /** Gives the next run this payload instead of this run's. */
  perpetuate(payload: P): void;
  /** Runs next after `delay`, counted from now, instead of the usual interval. */
  after(delay: Duration): void;
  /** Runs next at `when` (a past time means at once), instead of the usual interval. */
  at(when: When): void;
}

interface PerpetualState {
  every: number;
  cancelled: boolean;
  payload?: Payload;
  nextAt?: number;
}

/**
 * A perpetual behaviour (from {@linkcode Perpetual}, or `Cron`).
 *
 * @example
 * ```ts
 * import { Perpetual, type PerpetualBehaviour } from "@docket/core";
 * const every5: PerpetualBehaviour = Perpetual({ every: { minutes: 5 }, automatic: true });
 * every5.every; // 300000
 * every5.isAutomatic; // true
 * ```
 */
export interface PerpetualBehaviour extends TaskHook {
  /** `"perpetual"`, or `"cron"` for `Cron`. */
  readonly kind: "perpetual" | "cron";
  /** The interval between starts, milliseconds (0 for cron). */
  readonly every: number;
  /** Whether workers seed the task by themselves, keyed by its name. */
  readonly isAutomatic: boolean;
}

/**
 * What a run looks like to a perpetual schedule's `next`.
 *
 * @example
 * ```ts ignore
 * const startToStart = ({ every, startedAt, now }: PerpetualRunTimes) =>
 *   Math.max(now, startedAt + every);
 * ```
 */
export interface PerpetualRunTimes {
  /** The interval for this run's successor (the task's, or what the run set `every` to). */
  every: number;
  /** When this run was due, epoch milliseconds. */
  when: number;
  /** When this run started, epoch milliseconds. */
  startedAt: number;
  /** Now (the run has ended), epoch milliseconds. */
  now: number;
}

/**
 * How a perpetual behaviour schedules itself; `Perpetual` and `Cron` are built on it.
 *
 * @example
 * ```ts ignore
 * const schedule: PerpetualSchedule = {
 *   kind: "perpetual",
 *   every: 1_000,
 *   automatic: false,
 *   next: ({ every, startedAt, now }) => Math.max(now, startedAt + every),
 *   firstRun: (now) => now,
 * };
 * ```
 */
export interface PerpetualSchedule {
  /** `"perpetual"` or `"cron"`. */
  kind: "perpetual" | "cron";
  /** The interval between starts, milliseconds. */
  every: number;
  /** Whether workers seed the task by themselves. */
  automatic: boolean;
  /** The next run's time when the run did not pick one with `after()` / `at()`. */
  next(times: PerpetualRunTimes): number;
  /** The first run of an automatic task that a worker seeds at `now`. */
  firstRun(now: number): number;
  /** When set, assigning `ctx.perpetual.every` throws this message. */
  everyIsFixed?: string;
}

function checkPayload(payload: unknown): Payload {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new TypeError(
      `ctx.perpetual.perpetuate() needs the next run's payload as a plain object, got ${
        payload === null ? "null" : Array.isArray(payload) ? "an array" : typeof payload
      }`,
    );
  }
  // Refused here, in the body, rather than when the successor is written after the run.
  encodeValue(payload, "ctx.perpetual.perpetuate() payload");
  return payload as Payload;
}

function checkInterval(value: Duration, what: string): number {
  const ms = toMillis(value, what);
  if (ms < 0) throw new RangeError(`${what} must not be negative, got ${ms} ms`);
  return ms;
}

/** When the run was due: from `ctx.execution`, else its start. */
function dueTime(run: RunHandle): number {
  const when = (run.context.execution as { when?: unknown } | undefined)?.when;
  return when instanceof Date && Number.isFinite(when.getTime()) ? when.getTime() : run.startedAt;
}

/**
 * Builds the hook shared by `Perpetual` and `Cron`: it gives each run its `ctx.perpetual`, and
 * when the run ends (success or failure, not cancellation, not a retry) names the next run.
 *
 * @example
 * ```ts ignore
 * const everyTenSeconds = perpetualHook({
 *   kind: "perpetual",
 *   every: 10_000,
 *   automatic: false,
 *   next: ({ every, startedAt, now }) => Math.max(now, startedAt + every),
 *   firstRun: (now) => now,
 * });
 * ```
 */
export function perpetualHook(schedule: PerpetualSchedule): PerpetualBehaviour {
  const states = new WeakMap<RunHandle, PerpetualState>();
  const { kind, every, automatic } = schedule;
  return {
    kind,
    every,
    isAutomatic: automatic,
    automatic: automatic ? { firstRun: (now) => schedule.firstRun(now) } : undefined,
    attach(run: RunHandle) {
      const state: PerpetualState = { every, cancelled: false };
      states.set(run, state);
      const control: PerpetualControl = {
        get every(): number {
          return state.every;
        },
        set every(value: number) {
          if (schedule.everyIsFixed) throw new TypeError(schedule.everyIsFixed);
          state.every = checkInterval(value, "ctx.perpetual.every");
        },
        cancel() {
          state.cancelled = true;
        },
        perpetuate(payload: Payload) {
          state.payload = checkPayload(payload);
        },
        after(delay: Duration) {
          state.nextAt = Date.now() + checkInterval(delay, "ctx.perpetual.after() delay");
        },
        at(when: When) {
          state.nextAt = toEpochMillis(when, "ctx.perpetual.at() time");
        },
      };
      run.context.perpetual = control;
    },
    onSettled(run: RunHandle, _outcome: RunOutcome): Successor | undefined {
      const state = states.get(run);
      if (!state || state.cancelled) return undefined;
      const now = Date.now();
      const when = state.nextAt ??
        schedule.next({ every: state.every, when: dueTime(run), startedAt: run.startedAt, now });
      return { when, payload: state.payload ?? run.payload };
    },
  };
}

/**
 * Options of {@linkcode Perpetual}.
 *
 * @example
 * ```ts
 * import { Perpetual, type PerpetualOptions } from "@docket/core";
 * const options: PerpetualOptions = { every: { minutes: 15 }, automatic: true };
 * Perpetual(options);
 * ```
 */
export interface PerpetualOptions {
  /** The interval between starts (start to start). Default 0: again as soon as it ends. */
  every?: Duration;
  /**
   * Workers schedule the task by themselves when they start, keyed by the task's name, and
   * re-check every minute so a severed chain heals. The task then takes an empty payload.
   * Default false.
   */
  automatic?: boolean;
}

/**
 * Reschedules the task after every run, success or failure, `every` from the start of this run
 * (start to start: a run that took longer than `every` is followed at once). With
 * `automatic: true` a worker schedules it by itself, keyed by the task's name; otherwise add it
 * once and it keeps going. `docket.cancel(key)` or `ctx.perpetual.cancel()` stops the chain.
 *
 * @example
 * ```ts
 * import { Perpetual, task } from "@docket/core";
 * export const backgroundCleanup = task({
 *   name: "background_cleanup",
 *   perpetual: Perpetual({ every: { hours: 1 }, automatic: true }),
 *   run() {
 *     // delete old records…
 *   },
 * });
 * ```
 */
export function Perpetual(options: PerpetualOptions = {}): PerpetualBehaviour {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Perpetual() takes options: Perpetual({ every, automatic })");
  }
  const every = checkInterval(options.every ?? 0, "Perpetual every");
  return perpetualHook({
    kind: "perpetual",
    every,
    automatic: options.automatic ?? false,
    next: ({ every, startedAt, now }) => Math.max(now, startedAt + every),
    firstRun: (now) => now,
  });
}
