/**
 * The dashboard's one view of the dead-letter set (executions that failed for good), through
 * the docket's `failed`, `retry`, `retryFailed` and `purgeFailed`. A docket of a version without
 * them reports the set as unavailable; this is the only module that names them.
 *
 * @module
 */

import type { Docket } from "../docket.ts";

/** Shown where the dead-letter set would be, on a docket without it. */
export const DEAD_LETTER_UNAVAILABLE = "the dead-letter set is not available in this version";

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

/** The dead-letter operations, in the shapes the docket API promises. */
interface DeadLetterApi {
  failed(options: { task?: string; limit?: number; cursor?: string }): Promise<unknown>;
  retry(key: string): Promise<unknown>;
  retryFailed(options: { task?: string }): Promise<unknown>;
  purgeFailed(options: { task?: string; olderThan?: number }): Promise<unknown>;
}

/**
 * The dead-letter set of a docket, or a clear "unavailable" when the docket has none.
 *
 * @example
 * ```ts ignore
 * const failed = new DeadLetters(docket);
 * if (failed.available) console.log((await failed.list({ limit: 20 })).entries);
 * ```
 */
export class DeadLetters {
  readonly #api?: DeadLetterApi;

  constructor(docket: Docket) {
    const candidate = docket as unknown as Partial<DeadLetterApi>;
    if (typeof candidate.failed === "function") this.#api = candidate as DeadLetterApi;
  }

  /** True when the docket keeps a dead-letter set. */
  get available(): boolean {
    return this.#api !== undefined;
  }

  /** A page of failed executions (newest first). */
  async list(options: { task?: string; limit?: number; cursor?: string }): Promise<FailedPage> {
    const reply = await this.#require().failed(options);
    return toPage(reply);
  }

  /** Runs one failed execution again. */
  async retry(key: string): Promise<void> {
    await this.#require().retry(key);
  }

  /** Runs every failed execution (of one task) again. */
  async retryAll(task?: string): Promise<void> {
    await this.#require().retryFailed({ task });
  }

  /** Drops failed executions (of one task, older than a span). */
  async purge(task?: string, olderThanMs?: number): Promise<void> {
    await this.#require().purgeFailed({ task, olderThan: olderThanMs });
  }

  #require(): DeadLetterApi {
    if (!this.#api) throw new Error(DEAD_LETTER_UNAVAILABLE);
    return this.#api;
  }
}

/** Reads a reply of `failed()`: an array of executions, or `{ executions|items, cursor }`. */
function toPage(reply: unknown): FailedPage {
  const record = (reply ?? {}) as Record<string, unknown>;
  const list = Array.isArray(reply)
    ? reply
    : (record.executions ?? record.items ?? record.entries ?? []) as unknown[];
  const cursor = typeof record.cursor === "string" && record.cursor ? record.cursor : undefined;
  return { entries: (list as Record<string, unknown>[]).map(toEntry), cursor };
}

function toEntry(item: Record<string, unknown>): FailedEntry {
  const failedAt = item.failedAt ?? item.completedAt;
  return {
    key: String(item.key),
    taskName: String(item.taskName ?? item.task ?? ""),
    error: errorText(item.error),
    failedAt: failedAt instanceof Date
      ? failedAt
      : typeof failedAt === "number"
      ? new Date(failedAt)
      : undefined,
    attempt: typeof item.attempts === "number"
      ? item.attempts
      : typeof item.attempt === "number"
      ? item.attempt
      : undefined,
  };
}

/** An error as one line: `Name: message` for an error record, the text itself for a string. */
function errorText(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === "object") {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return `${String(name ?? "Error")}: ${String(message ?? "")}`;
  }
  return String(error);
}
