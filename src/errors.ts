/**
 * The errors docket throws, each named for what went wrong.
 *
 * @module
 */

/**
 * A task name that is not registered on the docket.
 *
 * @example
 * ```ts
 * import { UnknownTaskError } from "@docket/core";
 * const error = new UnknownTaskError("nope", ["trace", "fail", "sleep"]);
 * error.message; // 'Task "nope" is not registered ...'
 * ```
 */
export class UnknownTaskError extends Error {
  /** The name that was asked for. */
  readonly taskName: string;
  /** Creates the error, listing the names that are registered. */
  constructor(taskName: string, registered: Iterable<string> = []) {
    const known = [...registered].sort();
    super(
      `Task "${taskName}" is not registered on this docket` +
        (known.length ? ` (registered: ${known.join(", ")})` : "") +
        `; register it with docket.register(...) or the worker's --tasks module`,
    );
    this.name = "UnknownTaskError";
    this.taskName = taskName;
  }
}

/**
 * Raised by `getResult()` when the execution was cancelled.
 *
 * @example
 * ```ts
 * import { ExecutionCancelledError } from "@docket/core";
 * new ExecutionCancelledError("order-1").name; // "ExecutionCancelledError"
 * ```
 */
export class ExecutionCancelledError extends Error {
  /** The cancelled task's key. */
  readonly key: string;
  /** Creates the error for a task key. */
  constructor(key: string) {
    super(`Execution ${key} was cancelled`);
    this.name = "ExecutionCancelledError";
    this.key = key;
  }
}

/**
 * A wait that ran out of time (`getResult`), or a task that ran past its `timeout`.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@docket/core";
 * new TimeoutError("too slow").name; // "TimeoutError"
 * ```
 */
export class TimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

/**
 * Redis could not be reached, or the connection dropped.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@docket/core";
 * new ConnectionError("cannot reach redis://localhost:6379").name; // "ConnectionError"
 * ```
 */
export class ConnectionError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/**
 * Raised by `docket.retry(key)` when the key is not in the dead-letter set (it never failed for
 * good, was retried or purged already, or its entry expired after `failedTtl`).
 *
 * @example
 * ```ts
 * import { FailedTaskNotFoundError } from "@docket/core";
 * new FailedTaskNotFoundError("order-1").key; // "order-1"
 * ```
 */
export class FailedTaskNotFoundError extends Error {
  /** The key asked for. */
  readonly key: string;
  /** Creates the error for a task key. */
  constructor(key: string) {
    super(
      `task "${key}" is not in the failed set: it did not fail for good, was already retried ` +
        `or purged, or its entry expired (failedTtl)`,
    );
    this.name = "FailedTaskNotFoundError";
    this.key = key;
  }
}

/**
 * A key of the docket holds a value of the wrong type (say a string where a task's runs hash
 * belongs), so the task it belongs to cannot be read or recorded. Something other than docket
 * wrote it; the task it names fails, and nothing else is held up.
 *
 * @example
 * ```ts
 * import { WrongTypeKeyError } from "@docket/core";
 * const error = new WrongTypeKeyError("{orders}:runs:order-1", "hash");
 * error.message; // 'key "{orders}:runs:order-1" holds the wrong type of value (a hash belongs there)…'
 * ```
 */
export class WrongTypeKeyError extends Error {
  /** The store key that holds the wrong type. */
  readonly storeKey: string;
  /** Creates the error for a store key and the type that belongs there. */
  constructor(storeKey: string, expected: string, detail?: string) {
    super(
      `key "${storeKey}" holds the wrong type of value (a ${expected} belongs there)` +
        (detail ? `: ${detail}` : "") + `; delete or rename it to use this task key again`,
    );
    this.name = "WrongTypeKeyError";
    this.storeKey = storeKey;
  }
}

/**
 * Redis refused a command, key or channel to this docket's user (an ACL `NOPERM`). The message
 * names what was refused and the `ACL SETUSER` line that grants what the docket needs.
 *
 * @example
 * ```ts
 * import { PermissionError } from "@docket/core";
 * new PermissionError("Redis refused the 'xadd' command").name; // "PermissionError"
 * ```
 */
export class PermissionError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermissionError";
  }
}

/**
 * A task whose workers vanished while running it more often than `maxRedeliveries` allows
 * (each stopped renewing its lease: killed, blocked or cut off): it is not run again.
 *
 * @example
 * ```ts
 * import { AbandonedTaskError } from "@docket/core";
 * const error = new AbandonedTaskError("spin-1", 4, ["host#12", "host#13"]);
 * error.message; // 'task spin-1 was abandoned 4 times by its workers (host#12, host#13)…'
 * ```
 */
export class AbandonedTaskError extends Error {
  /** How many times a worker vanished while holding the task. */
  readonly times: number;
  /** The workers that held it, as far as known, oldest first. */
  readonly workers: string[];
  /** Creates the error. */
  constructor(key: string, times: number, workers: string[]) {
    super(
      `task ${key} was abandoned ${times} times by its workers` +
        (workers.length ? ` (${workers.join(", ")})` : "") +
        `; not run again (maxRedeliveries exceeded)`,
    );
    this.name = "AbandonedTaskError";
    this.times = times;
    this.workers = workers;
  }
}
