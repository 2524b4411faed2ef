/**
 * The worker registry on Redis: heartbeats, leaving, and listing the live workers (all of them,
 * or those serving one task).
 *
 * Keys: a sorted set of workers by last heartbeat, one per task of the workers serving it, and a
 * set per worker of the tasks it serves (expiring with the worker's staleness).
 *
 * @module
 */

import type { WorkerRecord } from "../backend.ts";
import type { RedisAccess } from "./access.ts";

/** Records a heartbeat of `worker` serving `tasks`, dropping workers silent for `staleMs`. */
export async function heartbeat(
  redis: RedisAccess,
  worker: string,
  tasks: string[],
  now: number,
  staleMs: number,
): Promise<void> {
  const keys = redis.keys;
  const work: Promise<unknown>[] = [
    redis.send(["ZADD", keys.workers, now, worker]),
    redis.send(["ZREMRANGEBYSCORE", keys.workers, "-inf", now - staleMs]),
    redis.send(["DEL", keys.workerTasks(worker)]),
  ];
  if (tasks.length) work.push(redis.send(["SADD", keys.workerTasks(worker), ...tasks]));
  work.push(redis.send(["PEXPIRE", keys.workerTasks(worker), Math.max(staleMs, 1000)]));
  for (const task of tasks) {
    work.push(redis.send(["ZADD", keys.taskWorkers(task), now, worker]));
    work.push(redis.send(["ZREMRANGEBYSCORE", keys.taskWorkers(task), "-inf", now - staleMs]));
  }
  await Promise.all(work);
}

/** Removes `worker` from the registry and from each of its `tasks`. */
export async function removeWorker(
  redis: RedisAccess,
  worker: string,
  tasks: string[],
): Promise<void> {
  const keys = redis.keys;
  await Promise.all([
    redis.send(["ZREM", keys.workers, worker]),
    redis.send(["DEL", keys.workerTasks(worker)]),
    ...tasks.map((task) => redis.send(["ZREM", keys.taskWorkers(task), worker])),
  ]);
}

/** The live workers (those serving `task`, when given), each with the tasks it serves. */
export async function workers(
  redis: RedisAccess,
  now: number,
  staleMs: number,
  task?: string,
): Promise<WorkerRecord[]> {
  const keys = redis.keys;
  const set = task === undefined ? keys.workers : keys.taskWorkers(task);
  await redis.send(["ZREMRANGEBYSCORE", set, "-inf", now - staleMs]);
  const flat = await redis.send(["ZRANGE", set, 0, -1, "WITHSCORES"]) as string[];
  const records: WorkerRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    records.push({ name: flat[i], lastSeen: Number(flat[i + 1]), tasks: [] });
  }
  await Promise.all(records.map(async (record) => {
    record.tasks = (await redis.send(["SMEMBERS", keys.workerTasks(record.name)]) as string[])
      .sort();
  }));
  return records;
}
