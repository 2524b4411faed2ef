/**
 * Reading a docket's state: the snapshot of what is scheduled, queued and running, and the live
 * workers.
 *
 * @module
 */

import type { Backend, PendingTasks, TaskMessage, WorkerRecord } from "./storage/backend.ts";
import { decodeValue } from "./codec.ts";
import { Execution, type ExecutionHost } from "./execution.ts";
import { ExecutionState, type Payload } from "./types.ts";

/** A live worker, as `workers()` and `snapshot()` report it. */
export interface WorkerInfo {
  /** The worker's name. */
  name: string;
  /** When it last sent a heartbeat. */
  lastSeen: Date;
  /** The names of the tasks it serves. */
  tasks: string[];
}

/** What is scheduled, queued and running, and by whom. */
export interface DocketSnapshot {
  /** When the snapshot was taken. */
  taken: Date;
  /** Tasks on the stream plus future tasks. */
  totalTasks: number;
  /** Scheduled and queued executions, not yet running. */
  future: Execution[];
  /** Running executions, with `worker` and `startedAt`. */
  running: Execution[];
  /** Live workers. */
  workers: WorkerInfo[];
}

/** How many waiting tasks of each kind a snapshot lists at most. */
const SNAPSHOT_LIMIT = 1000;

/** A worker as the store records it, as users see it. */
export function toWorkerInfo(record: WorkerRecord): WorkerInfo {
  return { name: record.name, lastSeen: new Date(record.lastSeen), tasks: record.tasks };
}

/** Takes a snapshot of `host`'s store; `readWorkers` lists the live workers. */
export async function takeSnapshot(
  host: ExecutionHost,
  readWorkers: () => Promise<WorkerInfo[]>,
): Promise<DocketSnapshot> {
  const [pending, counts, workers] = await Promise.all([
    host.backend.pending(SNAPSHOT_LIMIT),
    host.backend.counts(),
    readWorkers(),
  ]);
  const { future, running } = sortPending(host, pending);
  return {
    taken: new Date(),
    totalTasks: counts.stream + counts.queue,
    future,
    running,
    workers,
  };
}

/** Splits waiting tasks into future ones (by due time) and those a worker holds. */
function sortPending(
  host: ExecutionHost,
  pending: PendingTasks,
): { future: Execution[]; running: Execution[] } {
  const future: Execution[] = [];
  const running: Execution[] = [];
  for (const entry of pending.stream) {
    const execution = fromMessage(host, entry.message);
    if (entry.consumer) {
      execution.state = ExecutionState.RUNNING;
      execution.worker = entry.consumer;
      execution.startedAt = entry.deliveredAt ? new Date(entry.deliveredAt) : undefined;
      running.push(execution);
    } else {
      execution.state = ExecutionState.QUEUED;
      future.push(execution);
    }
  }
  for (const message of pending.queue) future.push(fromMessage(host, message));
  future.sort((a, b) => a.when.getTime() - b.when.getTime());
  return { future, running };
}

/**
 * The execution whose record is stored under `key`, synced with its state and progress; `null`
 * when no complete record is kept (never added, expired, or a docket that keeps nothing).
 *
 * @example
 * ```ts ignore
 * const execution = await readExecution(docket, "order-1002");
 * ```
 */
export async function readExecution(
  host: ExecutionHost & { readonly backend: Backend },
  key: string,
): Promise<Execution | null> {
  const run = await host.backend.readRun(key);
  if (!run || run.task === undefined || run.data === undefined || run.when === undefined) {
    return null;
  }
  const execution = new Execution(host, {
    key,
    taskName: run.task,
    payload: decodeValue(run.data) as Payload,
    when: run.when,
    attempt: run.attempt ?? 1,
  });
  await execution.sync();
  return execution;
}

/** The execution a stored message describes; a payload that cannot be decoded reads as `{}`. */
function fromMessage(host: ExecutionHost, message: TaskMessage): Execution {
  let payload: Payload;
  try {
    payload = decodeValue(message.data) as Payload;
  } catch {
    payload = {};
  }
  return new Execution(host, {
    key: message.key,
    taskName: message.task,
    payload,
    when: message.when,
    attempt: message.attempt,
    generation: message.generation,
  });
}
