/**
 * What the storage keeps of tasks that ended failed for good (the dead-letter set), as the
 * backends write and read it. The client's view of it is in `src/dead_letter/`.
 *
 * @module
 */

/**
 * A failed run's dead-letter entry, written by the same atomic step that records the run's end
 * (see `FinishRequest.deadLetter`). Texts are already capped by the caller.
 */
export interface DeadLetterWrite {
  /** How long the entry is kept, milliseconds (positive). */
  ttlMs: number;
  /** The registered name the task was sent under. */
  task: string;
  /** The payload, MessagePack-encoded, as the message carried it. */
  data: Uint8Array;
  /** When the failing attempt was due, epoch milliseconds. */
  when: number;
  /** How many attempts were made (the failing attempt's number). */
  attempt: number;
  /** The worker that recorded the failure. */
  worker: string;
  /** The error's name. */
  errorName: string;
  /** The error's message. */
  errorMessage: string;
  /** The error's stack, when it had one. */
  errorStack?: string;
}

/** A dead-letter entry as stored. */
export interface FailedRecord {
  /** The task key. */
  key: string;
  /** The registered name the task was sent under. */
  task: string;
  /** The payload, MessagePack-encoded. */
  data: Uint8Array;
  /** When the failing attempt was due, epoch milliseconds. */
  when: number;
  /** How many attempts were made. */
  attempt: number;
  /** The worker that recorded the failure. */
  worker?: string;
  /** When the task failed, epoch milliseconds (the index score). */
  failedAt: number;
  /** The error's name, message and (capped) stack. */
  error: { name: string; message: string; stack?: string };
}

/** A place in the dead-letter index, which is ordered newest first by (failedAt, key). */
export interface FailedPosition {
  /** When the entry failed, epoch milliseconds. */
  failedAt: number;
  /** The task key. */
  key: string;
}

/** One page of the dead-letter index, newest first. */
export interface FailedPageRequest {
  /** Only entries of this task name. */
  task?: string;
  /** Only entries strictly after this place (the last entry of the previous page). */
  after?: FailedPosition;
  /** Only entries that failed at or before this instant (epoch ms). */
  failedBefore?: number;
  /** At most this many entries (positive). */
  limit: number;
}

/** Purging one batch: up to `limit` entries that failed at or before `failedBefore`. */
export interface FailedPurgeRequest {
  /** Only entries of this task name. */
  task?: string;
  /** Only entries that failed at or before this instant (epoch ms). */
  failedBefore: number;
  /** How many index members to look at, at most. */
  limit: number;
}

/**
 * What retrying a dead-letter entry did: `retried` (back on the stream as a fresh task, entry
 * removed), `missing` (no such entry), `live` (the key is scheduled, queued or running again:
 * nothing is written and the entry stays).
 */
export type FailedRetryOutcome = "retried" | "missing" | "live";
