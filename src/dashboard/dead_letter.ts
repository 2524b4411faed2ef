/**
 * The dashboard's one view of the dead-letter set (executions that failed for good), through
 * the docket's `failed`, `retry`, `retryFailed` and `purgeFailed`: this is the only module of the
 * dashboard that names them.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { FailedTask } from "../dead_letter/failed.ts";

/** One failed execution, as the dashboard lists it. */
export interface FailedEntry {
  key: string;
  taskName: string;
  error?: string;
  failedAt?: Date;
  attempt?: number;
}

/** A page of failed executions, newest first. */
export interface FailedPage {
  entries: FailedEntry[];
  /** Pass back to read the next page; undefined on the last one. */
  cursor?: string;
}

/**
 * The dead-letter set of a docket, in the shapes the dashboard renders.
 *
 * @example
 * ```ts ignore
 * const failed = new DeadLetters(docket);
 * console.log((await failed.list({ limit: 20 })).entries);
 * ```
 */
export class DeadLetters {
  readonly #docket: Docket;

  constructor(docket: Docket) {
    this.#docket = docket;
  }

  /** A page of failed executions (newest first). */
  async list(options: { task?: string; limit?: number; cursor?: string }): Promise<FailedPage> {
    const { items, cursor } = await this.#docket.failed(options);
    return { entries: items.map(toEntry), cursor: cursor || undefined };
  }

  /** Runs one failed execution again. */
  async retry(key: string): Promise<void> {
    await this.#docket.retry(key);
  }

  /** Runs every failed execution (of one task) again. */
  async retryAll(task?: string): Promise<void> {
    await this.#docket.retryFailed({ task });
  }

  /** Drops failed executions (of one task, older than a span). */
  async purge(task?: string, olderThanMs?: number): Promise<void> {
    await this.#docket.purgeFailed({ task, olderThan: olderThanMs });
  }
}

function toEntry(failed: FailedTask): FailedEntry {
  return {
    key: failed.key,
    taskName: failed.task,
    error: `${failed.error.name}: ${failed.error.message}`,
    failedAt: failed.failedAt,
    attempt: failed.attempts,
  };
}
