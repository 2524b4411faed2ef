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
