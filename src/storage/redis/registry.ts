/**
 * The worker registry on Redis: heartbeats, leaving, and listing the live workers (all of them,
 * or those serving one task).
 *
 * Keys: a sorted set of workers by last heartbeat (written on every heartbeat), and a task index,
 * written again only every {@linkcode TASK_INDEX_REFRESH_MS} or when the worker's tasks change:
 * one sorted set per task of the workers serving it, and a set per worker of the tasks it serves
 * (expiring when two refreshes were missed).
 *
 * @module
 */

import type { WorkerRecord } from "../backend.ts";
import type { RedisAccess } from "./access.ts";

/**
 * How often a worker's task index is written again: the set of the tasks it serves and its entry
 * in the set of each task's workers. A heartbeat in between writes only the worker's last-seen
 * time (one command), which is what says whether a worker is live; the index says what it
 * serves, and changes only when its tasks do (it is then written at the next heartbeat).
 */
export const TASK_INDEX_REFRESH_MS = 60_000;

/** How long a task index entry lasts without being written again (two refreshes missed). */
function indexLifetime(staleMs: number): number {
  return 2 * TASK_INDEX_REFRESH_MS + Math.max(staleMs, 1000);
}

/**
 * When each worker of this backend last wrote its task index, and with which tasks.
 *
 * @example
 * ```ts ignore
 * const written = new TaskIndexWrites();
 * written.due("w1", ["a"], Date.now()); // true: never written
 * ```
 */
export class TaskIndexWrites {
  #written = new Map<string, { at: number; tasks: string }>();

  /** Whether `worker`'s index must be written now. */
  due(worker: string, tasks: string[], now: number): boolean {
    const last = this.#written.get(worker);
    return !last || last.tasks !== tasks.join("\n") || now - last.at >= TASK_INDEX_REFRESH_MS;
  }

  wrote(worker: string, tasks: string[], now: number): void {
    this.#written.set(worker, { at: now, tasks: tasks.join("\n") });
  }

  forget(worker: string): void {
    this.#written.delete(worker);
  }
}

/**
 * Records a heartbeat of `worker` serving `tasks`: its last-seen time, and (when due, see
 * {@linkcode TASK_INDEX_REFRESH_MS}) its task index, dropping workers silent for `staleMs`.
 */
export async function heartbeat(
  redis: RedisAccess,
  written: TaskIndexWrites,
  worker: string,
  tasks: string[],
  now: number,
  staleMs: number,
): Promise<void> {
  const keys = redis.keys;
  const beat = redis.send(["ZADD", keys.workers, now, worker]);
  if (!written.due(worker, tasks, now)) {
    await beat;
    return;
  }
  const lifetime = indexLifetime(staleMs);
  const work: Promise<unknown>[] = [
    beat,
    redis.send(["ZREMRANGEBYSCORE", keys.workers, "-inf", now - staleMs]),
    redis.send(["DEL", keys.workerTasks(worker)]),
  ];
  if (tasks.length) work.push(redis.send(["SADD", keys.workerTasks(worker), ...tasks]));
  work.push(redis.send(["PEXPIRE", keys.workerTasks(worker), lifetime]));
  for (const task of tasks) {
    work.push(redis.send(["ZADD", keys.taskWorkers(task), now, worker]));
    work.push(redis.send(["ZREMRANGEBYSCORE", keys.taskWorkers(task), "-inf", now - lifetime]));
  }
  await Promise.all(work);
  written.wrote(worker, tasks, now);
}

/** Removes `worker` from the registry and from each of its `tasks`. */
export async function removeWorker(
  redis: RedisAccess,
  written: TaskIndexWrites,
  worker: string,
  tasks: string[],
): Promise<void> {
  written.forget(worker);
  const keys = redis.keys;
  await Promise.all([
    redis.send(["ZREM", keys.workers, worker]),
    redis.send(["DEL", keys.workerTasks(worker)]),
    ...tasks.map((task) => redis.send(["ZREM", keys.taskWorkers(task), worker])),
  ]);
}

/**
 * The live workers (those serving `task`, when given), each with the tasks it serves. Whether a
 * worker is live, and when it was last seen, is its heartbeat's time in the workers set; a task's
 * set says only who serves it.
 */
export async function workers(
  redis: RedisAccess,
  now: number,
  staleMs: number,
  task?: string,
): Promise<WorkerRecord[]> {
  const keys = redis.keys;
  await redis.send(["ZREMRANGEBYSCORE", keys.workers, "-inf", now - staleMs]);
  let records: WorkerRecord[];
  if (task === undefined) {
    const flat = await redis.send(["ZRANGE", keys.workers, 0, -1, "WITHSCORES"]) as string[];
    records = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      records.push({ name: flat[i], lastSeen: Number(flat[i + 1]), tasks: [] });
    }
  } else {
    records = await serving(redis, task, now, staleMs);
  }
  await Promise.all(records.map(async (record) => {
    record.tasks = (await redis.send(["SMEMBERS", keys.workerTasks(record.name)]) as string[])
      .sort();
  }));
  return records;
}

/** The live workers in `task`'s set, in that set's order, with their last heartbeat. */
async function serving(
  redis: RedisAccess,
  task: string,
  now: number,
  staleMs: number,
): Promise<WorkerRecord[]> {
  const keys = redis.keys;
  const set = keys.taskWorkers(task);
  await redis.send(["ZREMRANGEBYSCORE", set, "-inf", now - indexLifetime(staleMs)]);
  const names = await redis.send(["ZRANGE", set, 0, -1]) as string[];
  if (names.length === 0) return [];
  const seen = await redis.send(["ZMSCORE", keys.workers, ...names]) as (string | null)[];
  const records: WorkerRecord[] = [];
  for (const [i, name] of names.entries()) {
    const lastSeen = seen[i] === null || seen[i] === undefined ? NaN : Number(seen[i]);
    if (lastSeen >= now - staleMs) records.push({ name, lastSeen, tasks: [] });
  }
  return records;
}
