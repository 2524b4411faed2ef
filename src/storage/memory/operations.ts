/**
 * The atomic operations of the memory backend, one function per Lua script of the Redis
 * backend (schedule, claim, finish, cancel, move_due, progress) and with the same rules.
 *
 * Every function here is synchronous: it reads and writes the docket's structures in one go, so
 * nothing else can interleave, which is what running a Lua script gives the Redis backend.
 *
 * @module
 */

import { countRun, minuteOf, STATS_TTL_MS } from "../../stats/minute_stats.ts";
import type {
  Delivery,
  FailedRetryOutcome,
  FinishRequest,
  ProgressRecord,
  ScheduleOutcome,
  ScheduleRequest,
  TaskMessage,
} from "../backend.ts";
import type { ExecutionState } from "../../types.ts";
import type { DocketState, StoredRun } from "./store.ts";
import type { StreamEntry } from "./stream.ts";

/** How long a cancellation tombstone lives for a key with no record (fire-and-forget tasks). */
export const TOMBSTONE_TTL_MS = 3_600_000;
/** How long a progress record lives without an update (it is deleted when the task ends). */
export const PROGRESS_TTL_MS = 86_400_000;

/** A task to write, in any of the three modes of the schedule script. */
export interface TaskWrite extends Omit<ScheduleRequest, "mode"> {
  /** `add` skips a live key; `replace` removes waiting copies first; `reschedule` does neither. */
  mode: "add" | "replace" | "reschedule";
  /** A stream entry to acknowledge and delete first (`""`: none). */
  ackId: string;
}

/** True for the states in which a task still waits or runs. */
export function isLive(state: ExecutionState | undefined): boolean {
  return state === "scheduled" || state === "queued" || state === "running";
}

/** A copy of some bytes, so neither side of the store boundary can change the other's copy. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/** A message with its own copy of the payload, for handing out. */
export function copyMessage(message: TaskMessage): TaskMessage {
  return { ...message, data: copyBytes(message.data) };
}

/**
 * Writes a task like schedule.ts: immediate tasks to the stream, future ones to the queue and
 * the parked map; a tracked task gets a fresh runs record with the next generation.
 */
export function scheduleTask(d: DocketState, write: TaskWrite, now: number): ScheduleOutcome {
  // The Redis backend rounds `when` before sending it, and compares the rounded value. It is
  // checked before anything changes, so a bad request leaves no half-written task behind.
  const when = Math.round(write.when);
  if (!Number.isFinite(when)) throw new RangeError(`when must be a finite time, got ${write.when}`);
  if (write.ackId !== "") d.stream.remove(write.ackId);
  let generation = 0;
  if (write.tracked) {
    const current = d.runs.get(write.key);
    if (write.mode === "add" && isLive(current?.state)) return "exists";
    if (
      write.expectGeneration !== undefined &&
      !(isLive(current?.state) && current?.generation === write.expectGeneration)
    ) {
      return "stale";
    }
    if (write.mode === "replace") removeWaitingCopies(d, write.key, current?.sid);
    generation = (current?.generation ?? 0) + 1;
    // A fresh record: no result, error or expiry left over from an earlier run of this key.
    d.runs.delete(write.key);
  }
  const { key, task, attempt } = write;
  const message: TaskMessage = {
    key,
    task,
    data: copyBytes(write.data),
    when,
    attempt,
    generation,
  };
  if (write.traceContext) message.traceContext = write.traceContext;
  const state = when <= now ? "queued" : "scheduled";
  const sid = state === "queued" ? d.stream.append(message) : park(d, message);
  if (write.tracked) {
    d.runs.set(key, { key, state, task, data: message.data, when, attempt, generation, sid });
    d.publishEvent(d.keys.stateChannel(key), { type: "state", key, state, when });
  }
  return "scheduled";
}

/** Removes the queued copy (by its stream id) and any future copy of `key`. */
function removeWaitingCopies(d: DocketState, key: string, sid: string | undefined): void {
  if (sid !== undefined) d.stream.remove(sid);
  d.queue.remove(key);
  d.parked.delete(key);
}

/** Parks a future message; returns undefined, as a parked task has no stream id yet. */
function park(d: DocketState, message: TaskMessage): undefined {
  d.parked.set(message.key, message);
  d.enqueue(message.key, message.when);
  return undefined;
}

/** A stream entry handed to a consumer, with whether it was taken over from another one. */
export interface DeliveredEntry {
  entry: StreamEntry;
  redelivered: boolean;
}

/**
 * Applies the rules of claim.ts to delivered entries: a tracked message runs only when its runs
 * record is live with the same generation, an untracked one only when no record (a cancellation
 * tombstone) exists. Runnable messages are marked running unless gated; the rest are
 * acknowledged and deleted. Returns the runnable ones.
 */
export function claimEntries(
  d: DocketState,
  delivered: DeliveredEntry[],
  worker: string,
  now: number,
  gated?: (task: string) => boolean,
  maxRedeliveries?: number,
): Delivery[] {
  // Admission control is asked about every message before any is judged, as the Redis backend
  // computes the gate flags before it sends the claim script.
  const gates = delivered.map(({ entry }) => gated?.(entry.message.task) ?? false);
  const runnable: Delivery[] = [];
  delivered.forEach(({ entry, redelivered }, i) => {
    const holder = d.stream.holder(entry.id);
    const times = (holder?.deliveries ?? 1) - 1;
    const abandoned = maxRedeliveries !== undefined && maxRedeliveries >= 0 &&
      times > maxRedeliveries;
    if (claimOne(d, entry.message, worker, now, gates[i] || abandoned)) {
      const delivery: Delivery = { id: entry.id, message: copyMessage(entry.message), redelivered };
      if (abandoned) delivery.abandoned = { times, workers: [...holder!.holders] };
      runnable.push(delivery);
    } else {
      d.stream.remove(entry.id);
    }
  });
  return runnable;
}

/** Decides one message; marks it running when it is live and not gated. */
function claimOne(
  d: DocketState,
  message: TaskMessage,
  worker: string,
  now: number,
  gated: boolean,
): boolean {
  const record = d.runs.get(message.key);
  if (message.generation === 0) return record === undefined;
  const live = record !== undefined && isLive(record.state) &&
    record.generation === message.generation;
  if (live && !gated) markRunning(d, record, message.key, worker, now);
  return live;
}

function markRunning(d: DocketState, record: StoredRun, key: string, worker: string, now: number) {
  record.state = "running";
  record.worker = worker;
  record.startedAt = now;
  delete record.sid;
  d.publishEvent(d.keys.stateChannel(key), {
    type: "state",
    key,
    state: "running",
    worker,
    startedAt: now,
    when: record.when,
  });
}

/**
 * Records how runs ended, like finish.ts, and acknowledges their messages. A run whose record
 * has moved on to another generation is superseded: the record is left alone, but the terminal
 * event is still published so nobody waiting on that run hangs.
 */
export function finishRuns(
  d: DocketState,
  requests: FinishRequest[],
  now: number,
  ttlMs: number,
): void {
  const minute = String(minuteOf(now));
  const stats = d.stats.get(minute) ?? {};
  for (const request of requests) {
    // Generation 0 is an untracked run: there is no record, progress owner or listener.
    // Read before the end is recorded: the duration counts only runs still current.
    const record = request.generation === 0 ? undefined : d.runs.get(request.key);
    const started = record?.generation === request.generation ? record.startedAt : undefined;
    const current = request.generation === 0 || recordEnd(d, request, now, ttlMs);
    // Like the finish script: a superseded run leaves no dead-letter entry.
    if (request.deadLetter && current) d.failed.record(request.key, request.deadLetter, now);
    if (request.id !== "") d.stream.remove(request.id);
    countRun(
      stats,
      request.state,
      started === undefined ? undefined : now - started,
      d.stream.length,
    );
    if (request.generation !== 0) {
      dropProgress(d, request.key, request.generation);
      const event: Record<string, unknown> = {
        type: "state",
        key: request.key,
        state: request.state,
        completedAt: now,
      };
      if (request.error) event.error = request.error;
      d.publishEvent(d.keys.stateChannel(request.key), event);
    }
  }
  if (requests.length > 0) {
    d.stats.set(minute, stats);
    d.stats.expire(minute, STATS_TTL_MS);
  }
}

/**
 * Writes the terminal state into the record of the same generation (or deletes it: ttl 0);
 * false when the run was superseded (no record of its generation).
 */
function recordEnd(d: DocketState, request: FinishRequest, now: number, ttlMs: number): boolean {
  const record = d.runs.get(request.key);
  if (record === undefined || record.generation !== request.generation) return false;
  if (ttlMs <= 0) {
    d.runs.delete(request.key);
    return true;
  }
  record.state = request.state;
  record.completedAt = now;
  // Empty values are "none", as the script receives them as empty strings and skips them.
  if (request.error) record.error = request.error;
  if (request.failure?.length) record.failure = copyBytes(request.failure);
  if (request.result?.length) record.result = copyBytes(request.result);
  delete record.sid;
  d.runs.expire(request.key, ttlMs);
  return true;
}

/** Reruns dead-letter entries like retry_failed.ts: each as a fresh task (`add`) due now. */
export function rerunFailed(d: DocketState, keys: string[], now: number): FailedRetryOutcome[] {
  return d.failed.retry(
    keys,
    ({ key, task, data }) =>
      scheduleTask(d, {
        mode: "add",
        key,
        task,
        data,
        when: now,
        attempt: 1,
        tracked: true,
        ackId: "",
      }, now),
  );
}

/** Deletes the progress record unless a newer run (a later generation) has started writing it. */
function dropProgress(d: DocketState, key: string, generation: number): void {
  const progress = d.progress.get(key);
  if (progress === undefined || progress.generation <= generation) d.progress.delete(key);
}

/**
 * Cancels a task in any state, like cancel.ts: its waiting copies go, the record becomes a
 * cancelled tombstone (a fresh one, with a default lifetime, when there was no record), and the
 * key is announced on the cancel channel so a worker running it aborts. Returns the state the
 * task was in (`""`: no record).
 */
export function cancelTask(d: DocketState, key: string, now: number, ttlMs: number): string {
  const record = d.runs.get(key);
  const state = record?.state;
  if (record?.sid !== undefined) d.stream.remove(record.sid);
  d.queue.remove(key);
  d.parked.delete(key);
  d.progress.delete(key);
  if (record === undefined) {
    d.runs.set(key, { key, state: "cancelled", completedAt: now });
    d.runs.expire(key, ttlMs > 0 ? ttlMs : TOMBSTONE_TTL_MS);
  } else if (isLive(state)) {
    cancelRecord(d, record, key, now, ttlMs);
  }
  d.channels.publish(d.keys.cancelChannel, key);
  return state ?? "";
}

/** Marks a live record cancelled; a running task's event comes from its worker instead. */
function cancelRecord(d: DocketState, record: StoredRun, key: string, now: number, ttl: number) {
  const wasRunning = record.state === "running";
  record.state = "cancelled";
  record.completedAt = now;
  delete record.sid;
  if (ttl > 0) d.runs.expire(key, ttl);
  else d.runs.delete(key);
  if (!wasRunning) {
    d.publishEvent(d.keys.stateChannel(key), {
      type: "state",
      key,
      state: "cancelled",
      completedAt: now,
    });
  }
}

/**
 * Moves up to `limit` due future tasks to the stream, like move_due.ts (a negative limit, as
 * with ZRANGEBYSCORE, means no limit). A task whose record is still `scheduled` becomes
 * `queued`. Returns how many moved.
 */
export function moveDueTasks(d: DocketState, now: number, limit: number): number {
  let moved = 0;
  for (const key of d.queue.dueBy(now, limit < 0 ? Infinity : limit)) {
    const when = d.queue.score(key)!;
    d.queue.remove(key);
    const message = d.parked.get(key);
    if (message === undefined) continue;
    const id = d.stream.append(message);
    d.parked.delete(key);
    moved++;
    const record = d.runs.get(key);
    if (record?.state === "scheduled") {
      record.state = "queued";
      record.sid = id;
      d.publishEvent(d.keys.stateChannel(key), { type: "state", key, state: "queued", when });
    }
  }
  return moved;
}

/** The change a progress write makes; see {@linkcode updateProgress}. */
export interface ProgressChange {
  total?: number;
  /** A new message; `null` clears it; `""` or undefined leaves it unchanged. */
  message?: string | null;
  /** Added to `current`; must be an integer, as HINCRBY requires. */
  increment?: number;
}

/**
 * Updates a progress record like progress.ts (created with `current` 0 when missing), renews
 * its lifetime and publishes the whole new record.
 */
export function updateProgress(
  d: DocketState,
  key: string,
  generation: number,
  change: ProgressChange,
  now: number,
): ProgressRecord {
  const increment = change.increment ?? 0;
  // Checked before anything is written, so a bad increment leaves the record as it was.
  if (!Number.isInteger(increment)) {
    throw new RangeError(`progress increment must be an integer, got ${change.increment}`);
  }
  let record = d.progress.get(key);
  // A record from an earlier generation belongs to a previous attempt (a retry, a replaced
  // run): this attempt starts afresh.
  if (record !== undefined && record.generation < generation) {
    d.progress.delete(key);
    record = undefined;
  }
  if (record === undefined) {
    record = { generation, current: 0, updatedAt: now };
    d.progress.set(key, record);
  }
  record.generation = generation;
  record.updatedAt = now;
  if (change.total !== undefined) record.total = change.total;
  if (change.message === null) delete record.message;
  else if (change.message) record.message = change.message;
  record.current += increment;
  d.progress.expire(key, PROGRESS_TTL_MS);
  const { current, total, message, updatedAt } = record;
  const event: Record<string, unknown> = { type: "progress", key, current, total, updatedAt };
  if (message !== undefined) event.message = message;
  d.publishEvent(d.keys.progressChannel(key), event);
  return { current, total, message, updatedAt };
}

/**
 * Drops every waiting task, leaving delivered (running) stream entries alone: undelivered
 * entries are deleted and their keys cancelled, then every future task is cancelled. Returns
 * how many were dropped.
 */
export function clearWaiting(d: DocketState, now: number, ttlMs: number): number {
  let cleared = 0;
  for (const { id, message } of d.stream.all()) {
    if (d.stream.holder(id) !== undefined) continue;
    d.stream.remove(id);
    cancelTask(d, message.key, now, ttlMs);
    cleared++;
  }
  for (const key of d.queue.first(d.queue.size)) {
    cancelTask(d, key, now, ttlMs);
    cleared++;
  }
  return cleared;
}
