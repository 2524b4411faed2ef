/**
 * Preparing tasks to schedule: checking and encoding each one into the request the store writes
 * (or not, when it is struck), reading the store's answers back into dispositions, and the
 * entries and error of {@linkcode Docket.schedule}.
 *
 * @module
 */

import type { ScheduleOutcome, ScheduleRequest } from "./storage/backend.ts";
import { encodeValue } from "./codec.ts";
import { toEpochMillis, type When } from "./duration.ts";
import { Execution, type ExecutionHost } from "./execution.ts";
import type { TaskLike } from "./definition.ts";
import type { Logger } from "./logging/logger.ts";
import { formatCall } from "./logging/call_repr.ts";
import { uuid7 } from "./uuid7.ts";
import { UnknownTaskError } from "./errors.ts";
import { sendTasks, sentOutcomes } from "./telemetry/tracing.ts";
import { ExecutionState, type Payload } from "./types.ts";

/** Where and when a task is scheduled: `when` defaults to now, `key` to a new UUIDv7. */
export interface AddOptions {
  /** When the task is due; default now. */
  when?: When;
  /** Its key; default a new UUIDv7. A key that is already live is left alone. */
  key?: string;
}

/**
 * One task for {@linkcode Docket.schedule}: the task (or its registered name), its payload, and
 * where and when it goes (`when` defaults to now, `key` to a new UUIDv7). Loosely typed: a list
 * written inline is checked entry by entry against each task (see `ScheduleEntryFor`).
 *
 * @example
 * ```ts ignore
 * import type { ScheduleEntry } from "@docket/core";
 * const entry: ScheduleEntry = { task: "send_email", payload: { to: "a@example.com" }, key: "e-1" };
 * ```
 */
export interface ScheduleEntry<P extends Payload = Payload> {
  /** The task, or the name it is registered under. */
  task: TaskLike | string;
  /** The task's arguments; default `{}`. */
  payload?: P;
  /** When it is due; default now. */
  when?: When;
  /** Its key; default a new UUIDv7. A key that is already live is left alone. */
  key?: string;
}

/**
 * {@linkcode Docket.schedule} could not write every task: the store failed part-way. The message
 * says how many were scheduled; `executions` are the tasks the store answered for (each with its
 * disposition), `unconfirmed` those it did not (not scheduled, or written without an answer).
 *
 * @example
 * ```ts ignore
 * import { ScheduleError } from "@docket/core";
 * try {
 *   await docket.schedule(entries);
 * } catch (error) {
 *   if (error instanceof ScheduleError) console.log(error.scheduled, "scheduled before", error.cause);
 * }
 * ```
 */
export class ScheduleError extends Error {
  /** The executions the store answered for, in entry order, each with its disposition. */
  readonly executions: Execution[];
  /** The executions the store did not confirm, in entry order. */
  readonly unconfirmed: Execution[];
  /** How many tasks were written (disposition `scheduled`). */
  readonly scheduled: number;

  /** Creates the error; `cause` is the store's first error. */
  constructor(executions: Execution[], unconfirmed: Execution[], cause: unknown) {
    const total = executions.length + unconfirmed.length;
    const scheduled = executions.filter((e) => e.disposition === "scheduled").length;
    const skipped = executions.length - scheduled;
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      executions.length === 0
        ? `the store failed: none of the ${total} tasks were scheduled: ${reason}`
        : `the store failed part-way: ${scheduled} of ${total} tasks were scheduled` +
          (skipped ? ` (${skipped} more were already scheduled or struck)` : "") +
          `, ${unconfirmed.length} were not (or without confirmation): ${reason}`,
      { cause },
    );
    this.name = "ScheduleError";
    this.executions = executions;
    this.unconfirmed = unconfirmed;
    this.scheduled = scheduled;
  }
}

/** How a task is written: `add` leaves a live key alone, `replace` supersedes it. */
export type ScheduleMode = "add" | "replace";

/** What preparing a task needs of the docket: its executions' host, logger and strikes. */
export interface ScheduleHost extends ExecutionHost {
  /** The docket's name (spans and metrics are labelled with it). */
  readonly name: string;
  /** Where a struck task is reported. */
  readonly logger: Logger;
  /** True when a strike in effect matches this task. */
  isStruck(name: string, key: string, payload: Payload): boolean;
}

/** One task ready to write: its execution, and the request for the store (none when struck). */
export interface PreparedTask {
  /** The execution the caller gets back. */
  execution: Execution;
  /** What to write; absent when a strike matched (the execution is then `struck`). */
  request?: ScheduleRequest;
}

/** Throws a `TypeError` unless `key` is absent or a non-empty string. */
export function checkKey(key: unknown): void {
  if (key !== undefined && (typeof key !== "string" || !key)) {
    throw new TypeError(`key must be a non-empty string, got ${String(key)}`);
  }
}

/** When a task is due: `when` as epoch milliseconds, or `now` when it is absent. */
export function dueTime(when: When | undefined, now: number, what?: string): number {
  return when === undefined ? now : toEpochMillis(when, what);
}

/** The disposition the store's answer gives a task that was written. */
export function dispositionOf(
  outcome: ScheduleOutcome | undefined,
): "already_scheduled" | "scheduled" {
  return outcome === "exists" ? "already_scheduled" : "scheduled";
}

/**
 * Checks and encodes one task to write: its execution, and the request for the store
 * (none when a strike in effect matches it: the execution is then `struck`).
 */
export function prepareTask(
  host: ScheduleHost,
  mode: ScheduleMode,
  name: string,
  payload: Payload,
  when: number,
  explicitKey: string | undefined,
  now: number,
): PreparedTask {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new TypeError(`a task's payload must be a plain object, got ${describe(payload)}`);
  }
  const key = explicitKey ?? uuid7(now);
  const data = encodeValue(payload, "payload");
  const execution = new Execution(host, {
    key,
    taskName: name,
    payload,
    when,
    attempt: 1,
    state: when <= now ? ExecutionState.QUEUED : ExecutionState.SCHEDULED,
  });
  if (host.isStruck(name, key, payload)) {
    execution.disposition = "struck";
    host.logger.warn(`${formatCall(name, payload, undefined, key)} is struck; not scheduled`);
    return { execution };
  }
  const request: ScheduleRequest = {
    mode,
    key,
    task: name,
    data,
    when,
    attempt: 1,
    tracked: host.executionTtl > 0 || explicitKey !== undefined,
  };
  return { execution, request };
}

/**
 * Prepares `schedule`'s entries (under their resolved `names`), checking each one's `when` and
 * `key` on the way; any bad entry throws before anything is written.
 */
export function prepareEntries(
  host: ScheduleHost,
  entries: readonly ScheduleEntry[],
  names: string[],
  now: number,
): PreparedTask[] {
  return entries.map((entry, i) => {
    const when = dueTime(entry.when, now, `entries[${i}].when`);
    if (entry.key !== undefined && (typeof entry.key !== "string" || !entry.key)) {
      throw new TypeError(
        `entries[${i}].key must be a non-empty string, got ${String(entry.key)}`,
      );
    }
    return prepareTask(host, "add", names[i], entry.payload ?? {}, when, entry.key, now);
  });
}

/**
 * Gives each written task the disposition the store answered (`outcomes` are in the order of
 * the requests, struck tasks having none); returns the executions in entry order.
 */
export function applyOutcomes(
  prepared: PreparedTask[],
  outcomes: ScheduleOutcome[],
): Execution[] {
  let next = 0;
  for (const { execution, request } of prepared) {
    if (!request) continue;
    execution.disposition = dispositionOf(outcomes[next++]);
  }
  return prepared.map(({ execution }) => execution);
}

/**
 * Reads `schedule`'s per-task answers: the executions in entry order, each with its disposition,
 * or a {@linkcode ScheduleError} when the store failed for any of them.
 */
export function settleEntries(
  prepared: PreparedTask[],
  settled: PromiseSettledResult<ScheduleOutcome[] | undefined>[],
): Execution[] {
  const answered: Execution[] = [];
  const unconfirmed: Execution[] = [];
  let failure: { reason: unknown } | undefined;
  settled.forEach((result, i) => {
    const { execution, request } = prepared[i];
    if (result.status === "rejected") {
      failure ??= { reason: result.reason };
      unconfirmed.push(execution);
      return;
    }
    if (request) execution.disposition = dispositionOf(result.value?.[0]);
    answered.push(execution);
  });
  if (failure) throw new ScheduleError(answered, unconfirmed, failure.reason);
  return answered;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** What {@linkcode scheduleEntries} needs of the docket: preparing tasks and resolving names. */
export interface ScheduleEntriesHost extends ScheduleHost {
  /** The registered tasks by name. */
  readonly tasks: ReadonlyMap<string, unknown>;
  /** The name a task is scheduled under, registering a task object on first use. */
  resolveTask(task: TaskLike | string): { name: string };
}

/**
 * The body of {@linkcode Docket.schedule}: every name is checked before anything is
 * registered or written, then every task is sent at once.
 */
export async function scheduleEntries(
  host: ScheduleEntriesHost,
  entries: readonly ScheduleEntry[],
): Promise<Execution[]> {
  if (!Array.isArray(entries)) {
    throw new TypeError(`schedule takes an array of { task, payload?, when?, key? }`);
  }
  // Names first, before any task is auto-registered or written.
  for (const entry of entries) {
    if (typeof entry?.task === "string" && !host.tasks.has(entry.task)) {
      throw new UnknownTaskError(entry.task, host.tasks.keys());
    }
  }
  const names = entries.map((entry) => host.resolveTask(entry.task).name);
  const now = Date.now();
  const prepared = prepareEntries(host, entries, names, now);
  // One call per task, all sent at once: on Redis they travel in one pipelined round trip, and
  // each is answered on its own, so a failure part-way is known task by task.
  const requests = prepared.flatMap(({ request }) => request ? [request] : []);
  const write = () =>
    Promise.allSettled(
      prepared.map(({ request }) => request ? host.backend.schedule([request], now) : undefined),
    );
  const settled = await sendTasks(host.name, "schedule", requests, write, sentOutcomes);
  return settleEntries(prepared, settled);
}
