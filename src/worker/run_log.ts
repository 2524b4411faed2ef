/**
 * A run's log lines: the logger bound to the run, the rendering of its call, and each line a run
 * writes as it starts and ends (each only made when its level is enabled).
 *
 * @module
 */

import type { Delivery } from "../storage/backend.ts";
import type { TaskDefinition } from "../definition.ts";
import type { Payload } from "../types.ts";
import { formatCall } from "../logging/call_repr.ts";
import { formatDuration, type Logger } from "../logging/logger.ts";

/**
 * A run's logging: the child logger (bound to task, key and attempt) and the rendering of the
 * call are made only when a line is actually written.
 */
export class RunLog {
  #parent: Logger;
  #message: Delivery["message"];
  #payload: Payload;
  #definition: TaskDefinition;
  #child?: Logger;
  #call?: string;

  /** Logs for `message`'s run under `parent`. */
  constructor(
    parent: Logger,
    message: Delivery["message"],
    payload: Payload,
    definition: TaskDefinition,
  ) {
    this.#parent = parent;
    this.#message = message;
    this.#payload = payload;
    this.#definition = definition;
  }

  /** The run's logger: `parent`'s child bound to task, key and attempt (made on first use). */
  get logger(): Logger {
    const message = this.#message;
    return this.#child ??= this.#parent.child({
      task: message.task,
      key: message.key,
      attempt: message.attempt,
    });
  }

  /** `process_order(customerId='1001', …){key}`. */
  get call(): string {
    const message = this.#message;
    return this.#call ??= formatCall(
      message.task,
      this.#payload,
      this.#definition.logged,
      message.key,
    );
  }

  /** Whether a line at `level` would be written (a logger without the method is assumed to). */
  enabled(level: "info" | "warn" | "error"): boolean {
    const logger = this.#child ?? this.#parent;
    return typeof logger.isLevelEnabled === "function" ? logger.isLevelEnabled(level) : true;
  }

  /** The line of a struck run (warn). */
  struck(): void {
    if (this.enabled("warn")) this.logger.warn(`🗙 ${this.call} is struck; cancelling`);
  }

  /** The line of a run whose flow controls cannot be applied (error). */
  notAdmitted(error: unknown): void {
    this.logger.error({ err: error }, `↩ ${this.call} cannot be admitted; marking it failed`);
  }

  /** The start line (info): `↪`, or `↬` for a retry, with how late the run started. */
  started(startedAt: number): void {
    if (!this.enabled("info")) return;
    const message = this.#message;
    const punctuality = startedAt - message.when;
    this.logger.info(
      { punctuality },
      `${message.attempt > 1 ? "↬" : "↪"} [${
        formatDuration(Math.max(0, punctuality))
      }] ${this.call}`,
    );
  }

  /** The line of a failed run about to be retried (warn). */
  retrying(error: unknown, duration: number): void {
    if (this.enabled("warn")) {
      this.logger.warn({ err: error, duration }, `↩ [${formatDuration(duration)}] ${this.call}`);
    }
  }

  /** The line once the retry is written (info): when it runs, or that it was superseded. */
  retried(retried: boolean, when: number, duration: number): void {
    if (!this.enabled("info")) return;
    const took = formatDuration(duration);
    if (retried) {
      this.logger.info(
        { duration },
        `↫ [${took}] ${this.call} retrying at ${new Date(when).toISOString()}`,
      );
    } else {
      this.logger.info({ duration }, `↬ [${took}] ${this.call} (superseded; not retried)`);
    }
  }

  /** The line of a completed run whose result cannot be encoded (error). */
  resultNotStored(error: unknown, duration: number): void {
    this.logger.error(
      { err: error, duration },
      `↩ [${formatDuration(duration)}] ${this.call}: result cannot be stored`,
    );
  }

  /** The end line of a completed run (info). */
  completed(duration: number): void {
    if (this.enabled("info")) {
      this.logger.info(
        { duration, outcome: "completed" },
        `↩ [${formatDuration(duration)}] ${this.call}`,
      );
    }
  }

  /** The end line of a failed run (error). */
  failed(error: unknown, duration: number): void {
    if (this.enabled("error")) {
      this.logger.error(
        { err: error, duration, outcome: "failed" },
        `↩ [${formatDuration(duration)}] ${this.call}`,
      );
    }
  }

  /** The line of a task dropped without running (warn), e.g. one no registered task serves. */
  dropped(reason: string): void {
    this.logger.warn({ duration: 0, outcome: "dropped" }, reason);
  }

  /** The end line of a cancelled run (info). */
  cancelled(duration: number): void {
    if (this.enabled("info")) {
      this.logger.info(
        { duration, outcome: "cancelled" },
        `✗ [${formatDuration(duration)}] ${this.call} (cancelled)`,
      );
    }
  }
}
