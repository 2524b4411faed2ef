/**
 * The dead-letter set as the docket shows it: listing the tasks that failed for good (newest
 * first, a page at a time), rerunning them one by one or in bounded batches, and purging them.
 * `Docket.failed`, `retry`, `retryFailed` and `purgeFailed` delegate here.
 *
 * @module
 */

import type { FailedPosition, FailedRecord } from "../storage/backend.ts";
import { decodeValue } from "../codec.ts";
import { type Duration, toMillis } from "../duration.ts";
import { FailedTaskNotFoundError } from "../errors.ts";
import { Execution, type ExecutionHost } from "../execution.ts";
import type { Payload } from "../types.ts";

/** How many failed tasks a page holds when `limit` is not given. */
export const DEFAULT_FAILED_LIMIT = 50;
/** The most failed tasks one page may hold. */
export const MAX_FAILED_LIMIT = 1000;
/** How many entries `retryFailed` and `purgeFailed` handle per round trip. */
export const FAILED_BATCH = 100;

/**
 * A task that ended failed for good, as the dead-letter set keeps it.
 *
 * @example
 * ```ts ignore
 * const { items } = await docket.failed();
 * for (const failed of items) console.log(failed.key, failed.task, failed.error.message);
 * ```
 */
export interface FailedTask {
  /** The task key. */
  key: string;
  /** The registered name the task was sent under. */
  task: string;
  /** The payload it failed with; undefined when it cannot be decoded (the error says why). */
  payload: Payload | undefined;
  /** The error it failed with: name, message (capped at 8 KB) and stack (capped at 8 KB). */
  error: { name: string; message: string; stack?: string };
  /** How many attempts were made, the failing one included. */
  attempts: number;
  /** The worker that recorded the failure. */
  worker: string | undefined;
  /** When the failing attempt was due. */
  when: Date;
  /** When the task failed. */
  failedAt: Date;
}

/**
 * What `docket.failed` lists.
 *
 * @example
 * ```ts ignore
 * await docket.failed({ task: "send_email", limit: 20 });
 * ```
 */
export interface FailedQuery {
  /** Only failures of this task name. */
  task?: string;
  /** How many at most, 1 to 1000. Default 50. */
  limit?: number;
  /** The `cursor` of the previous page, to continue after it. */
  cursor?: string;
}

/**
 * One page of failed tasks, newest first. `cursor` is present when more may follow: pass it to
 * the next call. A cursor names a place in the set, not an offset, so tasks that fail while
 * paging appear at the front and never shift or repeat the pages after it.
 *
 * @example
 * ```ts ignore
 * let page = await docket.failed({ limit: 100 });
 * while (page.cursor) page = await docket.failed({ limit: 100, cursor: page.cursor });
 * ```
 */
export interface FailedPage {
  /** The failed tasks of this page, newest first. */
  items: FailedTask[];
  /** Where the next page starts; absent on the last page. */
  cursor?: string;
}

/**
 * Which failed tasks `docket.purgeFailed` removes: all, a task's, those older than a span.
 *
 * @example
 * ```ts ignore
 * await docket.purgeFailed({ task: "send_email", olderThan: { days: 1 } });
 * ```
 */
export interface PurgeFailedOptions {
  /** Only failures of this task name. */
  task?: string;
  /** Only failures at least this long ago. */
  olderThan?: Duration;
}

/** What the dead-letter operations need of the docket; `Docket` implements it. */
export interface DeadLetterHost extends ExecutionHost {
  /** Milliseconds failed tasks are kept; 0 keeps none. */
  readonly failedTtl: number;
}

function checkTask(task: unknown): string | undefined {
  if (task === undefined) return undefined;
  if (typeof task !== "string" || task === "") {
    throw new TypeError(`task must be a non-empty task name, got ${JSON.stringify(task)}`);
  }
  return task;
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_FAILED_LIMIT;
  if (
    typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_FAILED_LIMIT
  ) {
    throw new RangeError(
      `limit must be a whole number from 1 to ${MAX_FAILED_LIMIT}, got ${String(limit)}`,
    );
  }
  return limit;
}

/**
 * The opaque cursor of a place in the set: the failure time, then the key.
 *
 * @example
 * ```ts
 * import { encodeCursor } from "./failed.ts";
 * encodeCursor({ failedAt: 1700000000000, key: "order-1" }); // "1700000000000:order-1"
 * ```
 */
export function encodeCursor(position: FailedPosition): string {
  return `${position.failedAt}:${position.key}`;
}

/**
 * The place a cursor names; a `TypeError` for anything `encodeCursor` did not make.
 *
 * @example
 * ```ts
 * import { decodeCursor } from "./failed.ts";
 * decodeCursor("1700000000000:order-1"); // { failedAt: 1700000000000, key: "order-1" }
 * ```
 */
export function decodeCursor(cursor: unknown): FailedPosition | undefined {
  if (cursor === undefined) return undefined;
  const match = typeof cursor === "string" ? /^(\d{1,16}):(.+)$/s.exec(cursor) : null;
  if (!match) {
    throw new TypeError(
      `cursor ${JSON.stringify(cursor)} is not one that docket.failed() returned`,
    );
  }
  return { failedAt: Number(match[1]), key: match[2] };
}

function decodePayload(data: Uint8Array): Payload | undefined {
  try {
    const payload = decodeValue(data);
    return payload !== null && typeof payload === "object" ? payload as Payload : undefined;
  } catch {
    return undefined;
  }
}

/** The public view of a stored entry. */
export function toFailedTask(record: FailedRecord): FailedTask {
  return {
    key: record.key,
    task: record.task,
    payload: decodePayload(record.data),
    error: { ...record.error },
    attempts: record.attempt,
    worker: record.worker,
    when: new Date(record.when),
    failedAt: new Date(record.failedAt),
  };
}

/** One page of failed tasks, newest first (`docket.failed`). */
export async function listFailed(
  host: DeadLetterHost,
  query: FailedQuery = {},
): Promise<FailedPage> {
  const task = checkTask(query?.task);
  const limit = checkLimit(query?.limit);
  const after = decodeCursor(query?.cursor);
  // One more than asked says whether another page follows.
  const records = await host.backend.failedPage(
    { task, after, limit: limit + 1 },
    Date.now(),
    host.failedTtl,
  );
  const items = records.slice(0, limit).map(toFailedTask);
  const last = records.length > limit ? records[limit - 1] : undefined;
  return last ? { items, cursor: encodeCursor(last) } : { items };
}

/** The failed task under `key`, or undefined (`failed show`). */
export async function readFailedTask(
  host: DeadLetterHost,
  key: string,
): Promise<FailedTask | undefined> {
  const record = await host.backend.readFailed(checkKey(key));
  return record && toFailedTask(record);
}

function checkKey(key: unknown): string {
  if (typeof key !== "string" || key === "") {
    throw new TypeError(`a task key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  return key;
}

/**
 * Reruns the failed task under `key` with its payload, as a fresh task due now (attempt 1, new
 * generation), and removes it from the set (`docket.retry`).
 */
export async function retryFailedTask(host: DeadLetterHost, key: string): Promise<Execution> {
  const record = await host.backend.readFailed(checkKey(key));
  if (!record) throw new FailedTaskNotFoundError(key);
  const now = Date.now();
  const [outcome] = await host.backend.retryFailed([key], now);
  if (outcome === "missing") throw new FailedTaskNotFoundError(key);
  if (outcome === "live") {
    throw new Error(
      `task "${key}" is scheduled, queued or running again, so it was not retried; its failure ` +
        `stays in the failed set (purge it, or retry once the task has ended)`,
    );
  }
  const execution = new Execution(host, {
    key,
    taskName: record.task,
    payload: decodePayload(record.data) ?? {},
    when: now,
    attempt: 1,
    state: "queued",
    disposition: "scheduled",
  });
  await execution.sync();
  return execution;
}

/**
 * Reruns every failed task (of one task name, when given) that failed before the call, a batch
 * per round trip; tasks that fail again meanwhile are not rerun twice. Returns how many were
 * rerun (keys live again are skipped and stay in the set).
 */
export async function retryFailedTasks(
  host: DeadLetterHost,
  options: { task?: string } = {},
): Promise<number> {
  const task = checkTask(options?.task);
  const cutoff = Date.now();
  let after: FailedPosition | undefined;
  let retried = 0;
  for (;;) {
    const page = await host.backend.failedPage(
      { task, after, failedBefore: cutoff, limit: FAILED_BATCH },
      Date.now(),
      host.failedTtl,
    );
    if (page.length === 0) break;
    const outcomes = await host.backend.retryFailed(page.map((record) => record.key), Date.now());
    retried += outcomes.filter((outcome) => outcome === "retried").length;
    if (page.length < FAILED_BATCH) break;
    after = page[page.length - 1];
  }
  return retried;
}

/** Removes failed tasks, a batch per round trip; returns how many (`docket.purgeFailed`). */
export async function purgeFailedTasks(
  host: DeadLetterHost,
  options: PurgeFailedOptions = {},
): Promise<number> {
  const task = checkTask(options?.task);
  const age = options?.olderThan === undefined ? 0 : toMillis(options.olderThan, "olderThan");
  if (age < 0) throw new RangeError("olderThan must not be negative");
  const failedBefore = Date.now() - age;
  let purged = 0;
  for (;;) {
    const batch = await host.backend.purgeFailed({ task, failedBefore, limit: FAILED_BATCH });
    purged += batch.purged;
    if (batch.removed === 0) break;
  }
  return purged;
}

/** How many failed tasks the set holds (`snapshot --stats`). */
export async function countFailedTasks(host: DeadLetterHost): Promise<number> {
  return await host.backend.countFailed(Date.now(), host.failedTtl);
}
