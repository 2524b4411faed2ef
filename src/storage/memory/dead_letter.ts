/**
 * The dead-letter set of a `memory://` docket, with the rules of the Redis keys `{d}:failed`,
 * `{d}:failed:<key>` and `{d}:failed-task:<task>`: entries expire with their time to live, and
 * index members whose entry is gone are trimmed when met.
 *
 * @module
 */

import type {
  DeadLetterWrite,
  FailedPageRequest,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
} from "../dead_letter.ts";
import type { ScheduleOutcome } from "../backend.ts";
import { ExpiringMap, SortedQueue } from "./structures.ts";

/** Writes a dead-letter entry's task back as a fresh one (`add` due now); as `scheduleTask`. */
export type Rerun = (entry: FailedRecord) => ScheduleOutcome;

/** One docket's dead-letter entries and their indexes. */
export class FailedSet {
  #entries = new ExpiringMap<FailedRecord>();
  #index = new SortedQueue();
  #byTask = new Map<string, SortedQueue>();

  /** Keeps a failure, replacing any earlier entry of the key (the dead_letter Lua). */
  record(key: string, letter: DeadLetterWrite, now: number): void {
    const entry: FailedRecord = {
      key,
      task: letter.task,
      data: letter.data.slice(),
      when: Math.round(letter.when),
      attempt: letter.attempt,
      worker: letter.worker || undefined,
      failedAt: now,
      error: {
        name: letter.errorName,
        message: letter.errorMessage,
        ...(letter.errorStack ? { stack: letter.errorStack } : {}),
      },
    };
    this.#entries.set(key, entry);
    this.#entries.expire(key, letter.ttlMs);
    // Every index is trimmed here, as each Redis index expires with its newest entry.
    this.#index.removeUpTo(now - letter.ttlMs);
    for (const [task, index] of this.#byTask) {
      index.removeUpTo(now - letter.ttlMs);
      this.#forgetEmpty(task);
    }
    this.#index.add(key, now);
    this.#taskIndex(letter.task, true)!.add(key, now);
  }

  /** One page, newest first, removing members whose entry is gone or names another task. */
  page(request: FailedPageRequest, now: number, ttlMs: number): FailedRecord[] {
    const index = this.#scanned(request.task);
    if (!index) return [];
    if (ttlMs > 0) index.removeUpTo(now - ttlMs);
    const records: FailedRecord[] = [];
    let from = request.after
      ? { score: request.after.failedAt, key: request.after.key }
      : request.failedBefore !== undefined
      ? { score: request.failedBefore + 1, key: "" }
      : { score: Infinity, key: "" };
    while (records.length < request.limit) {
      const members = index.before(request.limit - records.length, from.score, from.key);
      if (members.length === 0) break;
      for (const member of members) {
        const entry = this.#entries.get(member.key);
        if (entry === undefined || entry.task !== (request.task ?? entry.task)) {
          index.remove(member.key);
        } else {
          records.push(copyRecord(entry));
        }
      }
      from = members[members.length - 1];
    }
    this.#forgetEmpty(request.task);
    return records;
  }

  /** One entry, as a copy. */
  read(key: string): FailedRecord | undefined {
    const entry = this.#entries.get(key);
    return entry && copyRecord(entry);
  }

  /** Reruns entries through `rerun`; a live key is left alone, entry and all. */
  retry(keys: string[], rerun: Rerun): FailedRetryOutcome[] {
    return keys.map((key) => {
      const entry = this.#entries.get(key);
      if (entry === undefined) {
        this.#index.remove(key);
        return "missing";
      }
      if (rerun(entry) === "exists") return "live";
      this.#remove(entry);
      return "retried";
    });
  }

  /** Removes up to `limit` entries that failed at or before the cutoff. */
  purge(request: FailedPurgeRequest): { removed: number; purged: number } {
    const index = this.#scanned(request.task);
    if (!index) return { removed: 0, purged: 0 };
    let removed = 0;
    let purged = 0;
    for (const key of index.dueBy(request.failedBefore, request.limit)) {
      const entry = this.#entries.get(key);
      removed++;
      if (entry === undefined || entry.task !== (request.task ?? entry.task)) {
        index.remove(key);
        if (entry === undefined) this.#index.remove(key);
        continue;
      }
      this.#remove(entry);
      purged++;
    }
    this.#forgetEmpty(request.task);
    return { removed, purged };
  }

  /** How many entries the index holds, after trimming members older than `ttlMs`. */
  count(now: number, ttlMs: number): number {
    if (ttlMs > 0) this.#index.removeUpTo(now - ttlMs);
    return this.#index.size;
  }

  #remove(entry: FailedRecord): void {
    this.#entries.delete(entry.key);
    this.#index.remove(entry.key);
    this.#taskIndex(entry.task)?.remove(entry.key);
    this.#forgetEmpty(entry.task);
  }

  #scanned(task: string | undefined): SortedQueue | undefined {
    return task === undefined ? this.#index : this.#taskIndex(task);
  }

  #taskIndex(task: string, create = false): SortedQueue | undefined {
    let index = this.#byTask.get(task);
    if (index === undefined && create) this.#byTask.set(task, index = new SortedQueue());
    return index;
  }

  /** Drops a task's index once it is empty, as Redis drops an empty sorted set. */
  #forgetEmpty(task: string | undefined): void {
    if (task !== undefined && this.#byTask.get(task)?.size === 0) this.#byTask.delete(task);
  }
}

function copyRecord(entry: FailedRecord): FailedRecord {
  return { ...entry, data: entry.data.slice(), error: { ...entry.error } };
}
