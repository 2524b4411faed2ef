/**
 * The worker registry and locks of the memory backend, with the same rules as the commands the
 * Redis backend sends (ZADD, ZREMRANGEBYSCORE, SADD with PEXPIRE, SET NX PX).
 *
 * @module
 */

import type { WorkerRecord } from "../backend.ts";
import type { DocketState } from "./store.ts";

/** Records a heartbeat: the worker's last-seen time, its task names, and prunes stale workers. */
export function recordHeartbeat(
  d: DocketState,
  worker: string,
  tasks: string[],
  now: number,
  staleMs: number,
): void {
  d.workers.set(worker, now);
  pruneStale(d.workers, now, staleMs);
  if (tasks.length > 0) {
    d.workerTasks.set(worker, new Set(tasks));
    // The task list outlives a missed heartbeat or two, but never a worker that went away.
    d.workerTasks.expire(worker, Math.max(staleMs, 1000));
  } else {
    // An empty Redis set does not exist, so a worker serving nothing has no task list.
    d.workerTasks.delete(worker);
  }
  for (const task of tasks) {
    const serving = taskWorkers(d, task);
    serving.set(worker, now);
    pruneStale(serving, now, staleMs);
  }
}

/** Removes a worker from the registry and from the lists of the tasks it served. */
export function forgetWorker(d: DocketState, worker: string, tasks: string[]): void {
  d.workers.delete(worker);
  d.workerTasks.delete(worker);
  for (const task of tasks) {
    const serving = d.taskWorkers.get(task);
    serving?.delete(worker);
    if (serving?.size === 0) d.taskWorkers.delete(task);
  }
}

/**
 * Live workers (all, or those serving `task`), pruning stale ones first; ordered by last
 * heartbeat, then name, as ZRANGE orders them, each with its task names sorted.
 */
export function listWorkers(
  d: DocketState,
  now: number,
  staleMs: number,
  task?: string,
): WorkerRecord[] {
  const set = task === undefined ? d.workers : d.taskWorkers.get(task) ?? new Map();
  pruneStale(set, now, staleMs);
  return [...set]
    .sort(([a, seenA], [b, seenB]) => seenA - seenB || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, lastSeen]) => ({
      name,
      lastSeen,
      tasks: [...(d.workerTasks.get(name) ?? [])].sort(),
    }));
}

/** Takes the lock `name` for `ttlMs` unless someone holds it (SET NX PX); true when taken. */
export function takeLock(d: DocketState, name: string, owner: string, ttlMs: number): boolean {
  // Redis refuses a non-positive expiry outright rather than setting a key that never expires.
  if (!(ttlMs > 0)) throw new RangeError(`lock ttl must be positive, got ${ttlMs}`);
  if (d.locks.get(name) !== undefined) return false;
  d.locks.set(name, owner);
  d.locks.expire(name, ttlMs);
  return true;
}

/** The workers of `task`, created empty on first use. */
function taskWorkers(d: DocketState, task: string): Map<string, number> {
  let serving = d.taskWorkers.get(task);
  if (serving === undefined) {
    serving = new Map();
    d.taskWorkers.set(task, serving);
  }
  return serving;
}

/** Removes entries last seen `staleMs` or longer ago (ZREMRANGEBYSCORE -inf now-staleMs). */
function pruneStale(set: Map<string, number>, now: number, staleMs: number): void {
  const cutoff = now - staleMs;
  for (const [worker, lastSeen] of set) {
    if (lastSeen <= cutoff) set.delete(worker);
  }
}
