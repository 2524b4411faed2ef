/**
 * `Agenda`: collect tasks, then scatter them evenly over a time window ("find and flood").
 *
 * @module
 */

import type { Docket } from "./docket.ts";
import type { ScheduleEntry } from "./docket_schedule.ts";
import type { Execution } from "./execution.ts";
import { type TaskDefinition, type TaskLike, toDefinition } from "./definition.ts";
import type { Duration, When } from "./duration.ts";
import type { Payload } from "./types.ts";
import type { PayloadArgs, PayloadOf } from "./task_types.ts";
import { planScatter } from "./agenda_plan.ts";

/**
 * One task recorded on an {@linkcode Agenda}: what `add(task, { key })(payload)` was given.
 *
 * @example
 * ```ts ignore
 * for (const { task, payload, key } of agenda) console.log(task, payload, key);
 * ```
 */
export interface AgendaEntry {
  /** The task, or the name it is registered under. */
  readonly task: TaskLike | string;
  /** Its arguments. */
  readonly payload: Payload;
  /** The explicit key, if one was given (otherwise each scatter uses a new UUIDv7). */
  readonly key?: string;
}

/**
 * Options of {@linkcode Agenda.scatter}.
 *
 * @example
 * ```ts ignore
 * const options: ScatterOptions = { over: { minutes: 50 }, jitter: { seconds: 30 } };
 * ```
 */
export interface ScatterOptions {
  /** The length of the window; must be positive. */
  over: Duration;
  /** The start of the window; default now. */
  start?: When;
  /** Moves each time by a uniform random offset in `[-jitter, +jitter]`, never before `start`. */
  jitter?: Duration;
}

/**
 * A list of tasks to spread evenly over a time window, rather than run all at once.
 *
 * `add` only records a task; `scatter` schedules them all. An agenda can be scattered again
 * (a template): each scatter schedules every task anew, and tasks with an explicit `key` are
 * then `already_scheduled` while the earlier ones are still live, so a re-scatter with keys is
 * idempotent.
 *
 * @example
 * ```ts ignore
 * import { Agenda } from "@docket/core";
 * const agenda = new Agenda();
 * for (let itemId = 1; itemId <= 100; itemId++) agenda.add(processItem)({ itemId });
 * const executions = await agenda.scatter(docket, { over: { minutes: 50 } });
 * ```
 */
export class Agenda implements Iterable<AgendaEntry> {
  #entries: AgendaEntry[] = [];

  /**
   * Records a task: returns a function that takes its payload (default `{}`) and adds it to the
   * agenda (and returns the agenda). Nothing is scheduled until `scatter`. A task given by name
   * is checked against the docket when scattered. The payload is typed by the task, as in
   * `docket.add`; a task given by name takes any payload.
   *
   * @example
   * ```ts ignore
   * agenda.add(processItem)({ itemId: 1 });
   * agenda.add("send_email", { key: "welcome-u1" })({ userId: "u1", template: "welcome" });
   * ```
   */
  add<T extends TaskLike = TaskDefinition>(
    task: T | string,
    options: { key?: string } = {},
  ): (...payload: PayloadArgs<PayloadOf<T>>) => Agenda {
    if (typeof task === "string") {
      if (!task) throw new TypeError("a task name must be a non-empty string");
    } else {
      toDefinition(task);
    }
    const key = options?.key;
    if (key !== undefined && (typeof key !== "string" || !key)) {
      throw new TypeError(`key must be a non-empty string, got ${String(key)}`);
    }
    return (payload?: Payload) => {
      const value: Payload = payload ?? {};
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new TypeError(
          `a task's payload must be a plain object, got ${
            value === null ? "null" : Array.isArray(value) ? "an array" : typeof value
          }`,
        );
      }
      this.#entries.push(
        key === undefined ? { task, payload: value } : { task, payload: value, key },
      );
      return this;
    };
  }

  /**
   * How many tasks are on the agenda.
   *
   * @example
   * ```ts ignore
   * new Agenda().size; // 0
   * ```
   */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The tasks on the agenda, in the order they were added.
   *
   * @example
   * ```ts ignore
   * const names = [...agenda].map((entry) => entry.task);
   * ```
   */
  [Symbol.iterator](): Iterator<AgendaEntry> {
    return this.#entries.slice()[Symbol.iterator]();
  }

  /**
   * Removes every task from the agenda (nothing already scheduled is touched).
   *
   * @example
   * ```ts ignore
   * agenda.clear();
   * agenda.size; // 0
   * ```
   */
  clear(): void {
    this.#entries = [];
  }

  /**
   * Schedules every task on the agenda, spread evenly over `over` from `start` (default now), in
   * the order they were added: the first at `start`, the last at `start + over`, task `i` of `n`
   * at `start + i * over / (n - 1)`; a single task at `start + over / 2`. With `jitter`, each time
   * moves by a random offset in `[-jitter, +jitter]`, never before `start`.
   *
   * Everything is checked before anything is written: `over` must be positive (`RangeError`),
   * every name must be registered (`UnknownTaskError`; a task given as a function is registered
   * if it is not), every payload must encode. Then all tasks are written in one round trip. Each
   * execution carries its disposition (`scheduled`, `already_scheduled` for a live explicit key,
   * `struck`). If the store fails part-way, a `ScheduleError` says how many were scheduled (they
   * stay scheduled). An empty agenda schedules nothing and resolves to `[]`.
   *
   * @example
   * ```ts ignore
   * const executions = await agenda.scatter(docket, {
   *   start: Date.now() + 2 * 60 * 60 * 1000,
   *   over: { minutes: 30 },
   *   jitter: { seconds: 30 },
   * });
   * ```
   */
  async scatter(docket: Docket, options: ScatterOptions): Promise<Execution[]> {
    if (options === null || typeof options !== "object") {
      throw new TypeError("scatter needs options: scatter(docket, { over, start?, jitter? })");
    }
    const entries = this.#entries.slice();
    const times = planScatter(entries.length, {
      start: options.start ?? Date.now(),
      over: options.over,
      jitter: options.jitter,
    });
    if (entries.length === 0) return [];
    const schedule: ScheduleEntry[] = entries.map((entry, i) => ({
      task: entry.task,
      payload: entry.payload,
      when: times[i],
      key: entry.key,
    }));
    return await docket.schedule(schedule);
  }
}
