/**
 * Every Redis key and channel of one docket, built in one place.
 *
 * Each name starts with the hash tag `{<docket>}`, so a whole docket lives in one Redis Cluster
 * slot: multi-key Lua scripts stay atomic, and the same layout serves standalone and cluster Redis.
 *
 * @module
 */

/**
 * The key layout of one docket.
 *
 * @example
 * ```ts
 * import { DocketKeys } from "@docket/core";
 * new DocketKeys("orders").runs("order-1"); // "{orders}:runs:order-1"
 * ```
 */
export class DocketKeys {
  /** The hash-tagged prefix shared by every key. */
  readonly prefix: string;
  /** The stream of due work. */
  readonly stream: string;
  /** The sorted set of future work, scored by due time in epoch milliseconds. */
  readonly queue: string;
  /** The stream of strike and restore instructions. */
  readonly strikes: string;
  /** The sorted set of live workers, scored by last heartbeat. */
  readonly workers: string;
  /** The channel on which cancellations of running tasks are announced. */
  readonly cancelChannel: string;
  /**
   * The channel on which a write that makes a future task the earliest one waiting is announced
   * (its due time, epoch ms), so schedulers sleeping until a later one wake up.
   */
  readonly nextDueChannel: string;
  /**
   * The sorted set of concurrency limits that have waiters, scored by when the safeguard should
   * look at them next (epoch ms); members are limit names (see {@linkcode DocketKeys.flow}).
   */
  readonly concurrencyWatch: string;
  /**
   * Present while cancellation tombstones of untracked (fire-and-forget) tasks may exist: it
   * outlives each one, so workers skip looking for tombstones while it is absent.
   */
  readonly tombstones: string;
  /**
   * The dead-letter index: the sorted set of the keys of tasks that ended failed for good, scored
   * by when they failed (epoch ms); each member's entry is {@linkcode DocketKeys.failedEntry}.
   */
  readonly failed: string;
  /** The consumer group every worker reads the stream through. */
  readonly group = "docket-workers";

  /** Builds the layout for a docket name; braces would break the hash tag, so they are refused. */
  constructor(readonly name: string) {
    if (!name || /[{}]/.test(name)) {
      throw new TypeError(`docket name must be non-empty and contain no braces, got "${name}"`);
    }
    this.prefix = `{${name}}`;
    this.stream = `${this.prefix}:stream`;
    this.queue = `${this.prefix}:queue`;
    this.strikes = `${this.prefix}:strikes`;
    this.workers = `${this.prefix}:workers`;
    this.cancelChannel = `${this.prefix}:cancel`;
    this.nextDueChannel = `${this.prefix}:next-due`;
    this.concurrencyWatch = `${this.prefix}:concurrency-watch`;
    this.tombstones = `${this.prefix}:tombstones`;
    this.failed = `${this.prefix}:failed`;
  }

  /** The execution record of a task. */
  runs(key: string): string {
    return `${this.prefix}:runs:${key}`;
  }
  /**
   * The message of an untracked future task, waiting to be moved to the stream (a tracked future
   * task's message is built from its runs record; dockets written by earlier versions may still
   * hold one for a tracked task, which is moved all the same).
   */
  parked(key: string): string {
    return `${this.prefix}:parked:${key}`;
  }
  /** The progress record of a running task. */
  progress(key: string): string {
    return `${this.prefix}:progress:${key}`;
  }
  /** The channel of a task's state events. */
  stateChannel(key: string): string {
    return `${this.prefix}:state:${key}`;
  }
  /** The channel of a task's progress events. */
  progressChannel(key: string): string {
    return `${this.prefix}:progress:${key}`;
  }
  /** The set of task names a worker serves. */
  workerTasks(worker: string): string {
    return `${this.prefix}:worker-tasks:${worker}`;
  }
  /** The sorted set of workers serving a task, scored by last heartbeat. */
  taskWorkers(task: string): string {
    return `${this.prefix}:task-workers:${task}`;
  }
  /**
   * The data of a flow control, by name: `concurrency:<param>:<value>` or `concurrency:<task>`
   * (a sorted set of slots), `debounce:…` (a hash), `cooldown:…` (a string), `ratelimit:…` (a
   * sorted set); a scoped control's name starts with `<scope>:`.
   */
  flow(name: string): string {
    return `${this.prefix}:${name}`;
  }
  /** The stream of tasks waiting for a slot of the concurrency limit `name`. */
  waiters(name: string): string {
    return `${this.prefix}:${name}:waiters`;
  }
  /** The dead-letter entry of a task that failed for good (a hash with a time to live). */
  failedEntry(key: string): string {
    return `${this.prefix}:failed:${key}`;
  }
  /** The dead-letter index of one task name (a sorted set scored like `failed`). */
  failedByTask(task: string): string {
    return `${this.prefix}:failed-task:${task}`;
  }
  /** The run counters of one minute (epoch ms / 60 000), for the dashboard; see `src/stats/`. */
  stats(minute: number): string {
    return `${this.prefix}:stats:${minute}`;
  }
  /** A lock key (automatic task seeding). */
  lock(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }
}

/**
 * One part of a control's name, escaped so that it never contains `:` (the separator between
 * parts): `%` becomes `%25`, `:` becomes `%3A`, and control characters become `%XX` too. Distinct
 * texts stay distinct (the escape is reversible), so no value can reach another control's data or
 * its `:waiters` stream.
 *
 * @example
 * ```ts
 * import { keyPart } from "./keys.ts";
 * keyPart("x:waiters"); // "x%3Awaiters"
 * ```
 */
export function keyPart(text: string): string {
  let escaped = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x25 && code !== 0x3a && code >= 0x20 && code !== 0x7f) continue;
    escaped += `${text.slice(from, i)}%${code.toString(16).toUpperCase().padStart(2, "0")}`;
    from = i + 1;
  }
  return from === 0 ? text : escaped + text.slice(from);
}
