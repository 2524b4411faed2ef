/**
 * The memory backend: the whole storage interface on plain in-process structures, for tests,
 * examples and single-process services (`memory://` URLs).
 *
 * Each atomic operation runs synchronously before its method's first `await`, so nothing can
 * interleave with it, which is what a Lua script gives the Redis backend. The rules are those of
 * the Redis scripts, applied to the same logical data: a stream with one consumer group, a queue
 * of future tasks, runs and progress records with lifetimes, and pub/sub channels.
 *
 * Backends opened on the same URL share data (a producer and a worker in one program see the
 * same tasks); different URLs are isolated, and so are different docket names on one URL. The
 * data of a URL lives for the life of the process, so closing one backend never takes tasks
 * away from another; {@linkcode clearMemoryStores} forgets it all, for tests.
 *
 * @module
 */

import type {
  AdmitOutcome,
  AdmitRequest,
  Backend,
  BackendWarn,
  Consumer,
  FailedPageRequest,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
  FinishRequest,
  PendingTasks,
  ProgressRecord,
  ReleaseRequest,
  RescheduleRequest,
  RunRecord,
  ScheduleOutcome,
  ScheduleRequest,
  SlotHold,
  Unsubscribe,
  WorkerRecord,
} from "../backend.ts";
import { DocketKeys } from "../../keys.ts";
import {
  cancelTask,
  clearWaiting,
  copyBytes,
  copyMessage,
  finishRuns,
  moveDueTasks,
  rerunFailed,
  scheduleTask,
  updateProgress,
} from "./operations.ts";
import { forgetWorker, listWorkers, recordHeartbeat, takeLock } from "./registry.ts";
import {
  admitDelivery,
  clearParked,
  parkedCount,
  parkedMessages,
  releaseSlots,
  renewHolds,
  scavengeLimits,
} from "./flow.ts";
import { type DocketState, type StoredRun, storeFor } from "./store.ts";
import { parseId } from "./stream.ts";
import { Subscriptions } from "./subscriptions.ts";
import { MemoryConsumer } from "./consumer.ts";

export { clearMemoryStores } from "./store.ts";

/** How many strike instructions one read returns at most (as the Redis backend's XREAD COUNT). */
const STRIKE_BATCH = 100;

/** Where subscriber errors go when the caller gave no `warn`. */
const warnOnConsole: BackendWarn = (message, details) => console.error(message, details ?? {});

/**
 * The storage operations of one docket, in process memory.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "./backend.ts";
 * const backend = MemoryBackend.forUrl("memory://", "orders");
 * await backend.counts(); // { stream: 0, queue: 0 }
 * await backend.close();
 * ```
 */
export class MemoryBackend implements Backend {
  /** Always `"memory"`. */
  readonly kind = "memory" as const;
  /** The URL the backend was opened on. */
  readonly url: string;
  /** The names of the docket's keys and channels. */
  readonly keys: DocketKeys;
  #docket: DocketState;
  #warn: BackendWarn;
  #consumers = new Set<MemoryConsumer>();
  #subscriptions = new Subscriptions((message, details) => this.#warn(message, details));
  /** Aborted on close, which ends blocking strike reads. */
  #closing = new AbortController();

  private constructor(url: string, keys: DocketKeys, warn: BackendWarn) {
    this.url = url;
    this.keys = keys;
    this.#docket = storeFor(url).docket(keys);
    this.#warn = warn;
  }

  /**
   * Opens the docket `name` on a `memory://` URL. Every backend on the same URL (compared as
   * the exact string) shares one store. `warn` hears about subscribers that throw; without it
   * they are reported on the console.
   */
  static forUrl(url: string, name: string, warn: BackendWarn = warnOnConsole): MemoryBackend {
    if (!url.startsWith("memory://")) {
      throw new TypeError(`a memory backend needs a memory:// URL, got "${url}"`);
    }
    return new MemoryBackend(url, new DocketKeys(name), warn);
  }

  /** Writes tasks, each with the dedup rules of its mode. */
  schedule(requests: ScheduleRequest[], now: number): Promise<ScheduleOutcome[]> {
    return this.#atomically((d) =>
      requests.map((request) => scheduleTask(d, { ...request, ackId: "" }, now))
    );
  }

  /** Acknowledges a run and writes its next attempt, atomically; false when it was stale. */
  reschedule(request: RescheduleRequest, now: number): Promise<boolean> {
    return this.#atomically((d) =>
      scheduleTask(d, { ...request, mode: "reschedule", ackId: request.id }, now) !== "stale"
    );
  }

  /** Removes a task in any state; announces it so a worker running it aborts. */
  cancel(key: string, now: number, ttlMs: number): Promise<void> {
    return this.#atomically((d) => {
      cancelTask(d, key, now, ttlMs);
    });
  }

  /** Records how runs ended and acknowledges their messages. */
  finish(requests: FinishRequest[], now: number, ttlMs: number): Promise<void> {
    return this.#atomically((d) => finishRuns(d, requests, now, ttlMs));
  }

  /** Moves up to `limit` due future tasks to the stream; returns how many moved. */
  moveDue(now: number, limit: number): Promise<number> {
    return this.#atomically((d) => moveDueTasks(d, now, limit));
  }

  /** When the earliest future task is due; undefined when none is waiting. */
  nextDue(): Promise<number | undefined> {
    return this.#atomically((d) => {
      const [first] = d.queue.first(1);
      return first === undefined ? undefined : d.queue.score(first);
    });
  }

  /** Opens a consumer for a worker (`warn` is unused: nothing here is malformed or lost). */
  consumer(name: string, _warn: BackendWarn): Promise<Consumer> {
    return this.#atomically((d) => {
      const consumer = new MemoryConsumer(d, name, (c) => this.#consumers.delete(c));
      this.#consumers.add(consumer);
      return consumer;
    });
  }

  /** Reads a task's execution record. */
  readRun(key: string): Promise<RunRecord | undefined> {
    return this.#atomically((d) => {
      const record = d.runs.get(key);
      return record && toRunRecord(key, record);
    });
  }

  /** Reads a task's progress record. */
  readProgress(key: string): Promise<ProgressRecord | undefined> {
    return this.#atomically((d) => {
      const record = d.progress.get(key);
      if (record === undefined) return undefined;
      const { current, total, message, updatedAt } = record;
      return { current, total, message, updatedAt };
    });
  }

  /** Writes progress fields (and an increment) and publishes the new progress. */
  writeProgress(
    key: string,
    generation: number,
    change: { total?: number; message?: string | null; increment?: number },
    now: number,
  ): Promise<ProgressRecord> {
    return this.#atomically((d) => updateProgress(d, key, generation, change, now));
  }

  /** How many tasks are on the stream, and in the future queue or parked behind limits. */
  counts(): Promise<{ stream: number; queue: number }> {
    return this.#atomically((d) => ({
      stream: d.stream.length,
      queue: d.queue.size + parkedCount(d),
    }));
  }

  /** Lists what is waiting (up to `limit` of each kind) and who holds what. */
  pending(limit: number): Promise<PendingTasks> {
    return this.#atomically((d) => {
      const queue = parked(d, limit);
      queue.push(...parkedMessages(d, limit - queue.length));
      return { stream: waitingOnStream(d, limit), queue };
    });
  }

  /** Drops every waiting task, leaving running ones alone; returns how many were dropped. */
  clear(ttlMs: number): Promise<number> {
    return this.#atomically((d) => {
      const now = Date.now();
      return clearWaiting(d, now, ttlMs) + clearParked(d, now, ttlMs);
    });
  }

  /** Records a worker's heartbeat and the tasks it serves. */
  heartbeat(worker: string, tasks: string[], now: number, staleMs: number): Promise<void> {
    return this.#atomically((d) => recordHeartbeat(d, worker, tasks, now, staleMs));
  }

  /** Removes a worker from the registry. */
  removeWorker(worker: string, tasks: string[]): Promise<void> {
    return this.#atomically((d) => forgetWorker(d, worker, tasks));
  }

  /**
   * The in-process stream keeps no consumer list (a delivery records its holder, nothing more),
   * so there is nothing to retire or prune: nothing piles up as workers come and go.
   */
  retireConsumer(_worker: string): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Nothing to prune (see `retireConsumer`). */
  pruneConsumers(_now: number, _staleMs: number, _idleMs: number, _limit: number) {
    return Promise.resolve([] as string[]);
  }

  /** Live workers, pruning stale ones; only those serving `task` when given. */
  workers(now: number, staleMs: number, task?: string): Promise<WorkerRecord[]> {
    return this.#atomically((d) => listWorkers(d, now, staleMs, task));
  }

  /** Appends a strike or restore instruction and wakes blocked readers; returns its id. */
  appendStrike(instruction: Uint8Array): Promise<string> {
    return this.#atomically((d) => d.strikes.append(copyBytes(instruction)));
  }

  /** Replaces the strike history with `snapshot`, as the Redis `compact_strikes` script does. */
  compactStrikes(lastId: string, snapshot: Uint8Array, minLength: number): Promise<boolean> {
    return this.#atomically((d) => {
      if (d.strikes.length < minLength || d.strikes.length === 0) return false;
      if (d.strikes.lastId !== lastId) return false;
      d.strikes.compact(copyBytes(snapshot));
      return true;
    });
  }

  /**
   * Reads up to 100 strike instructions after `afterId` (`"0-0"`: from the start, `"$"`: only
   * new ones), waiting up to `blockMs` for one to be appended when there are none.
   */
  async readStrikes(
    afterId: string,
    blockMs: number,
  ): Promise<{ id: string; instruction: Uint8Array }[]> {
    const strikes = this.#open().strikes;
    const start = afterId === "$" ? strikes.lastId : afterId;
    parseId(start);
    let entries = strikes.after(start, STRIKE_BATCH);
    const deadline = Date.now() + blockMs;
    while (entries.length === 0 && blockMs > 0 && !this.#closing.signal.aborted) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await strikes.arrivals.wait(remaining, this.#closing.signal);
      entries = strikes.after(start, STRIKE_BATCH);
    }
    return entries.map(({ id, instruction }) => ({ id, instruction: copyBytes(instruction) }));
  }

  /** Takes a lock for `ttlMs` unless it is held; true when this caller holds it. */
  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#atomically((d) => takeLock(d, name, owner, ttlMs));
  }

  /** Evaluates every flow control of a gated delivery at once, like admit.ts. */
  admit(request: AdmitRequest, now: number): Promise<AdmitOutcome> {
    return this.#atomically((d) => admitDelivery(d, request, now));
  }

  /** Frees slots and wakes waiters, like release.ts. */
  release(request: ReleaseRequest, now: number): Promise<void> {
    return this.#atomically((d) => releaseSlots(d, request, now));
  }

  /** Renews the slots of running tasks, like renew_slots.ts. */
  renewSlots(holds: SlotHold[], now: number, leaseMs: number): Promise<void> {
    return this.#atomically((d) => renewHolds(d, holds, now, leaseMs));
  }

  /** The safeguard: wakes the limits whose check time has come. */
  scavenge(now: number, leaseMs: number, limit: number): Promise<number> {
    return this.#atomically((d) => scavengeLimits(d, now, leaseMs, limit));
  }

  /** A page of the dead-letter index, newest first. */
  failedPage(request: FailedPageRequest, now: number, ttlMs: number): Promise<FailedRecord[]> {
    return this.#atomically((d) => d.failed.page(request, now, ttlMs));
  }

  /** Reads one dead-letter entry. */
  readFailed(key: string): Promise<FailedRecord | undefined> {
    return this.#atomically((d) => d.failed.read(key));
  }

  /** Reruns dead-letter entries as fresh tasks due now, each unless its key is live again. */
  retryFailed(keys: string[], now: number): Promise<FailedRetryOutcome[]> {
    return this.#atomically((d) => rerunFailed(d, keys, now));
  }

  /** Removes one batch of dead-letter entries. */
  purgeFailed(request: FailedPurgeRequest): Promise<{ removed: number; purged: number }> {
    return this.#atomically((d) => d.failed.purge(request));
  }

  /** How many entries the dead-letter set holds. */
  countFailed(now: number, ttlMs: number): Promise<number> {
    return this.#atomically((d) => d.failed.count(now, ttlMs));
  }

  /** Listens to every state and progress event of this docket. */
  subscribeEvents(
    listener: (message: string) => void,
    _onRestored?: () => void,
  ): Promise<Unsubscribe> {
    return this.#atomically((d) => this.#subscriptions.events(d, listener));
  }

  /** Reads the run counters of the given minutes. */
  readStats(minutes: number[]): Promise<Record<string, number>[]> {
    return this.#atomically((d) => minutes.map((m) => ({ ...d.stats.get(String(m)) })));
  }

  /**
   * Listens to a channel of this URL's store; messages arrive asynchronously, in order. The
   * subscription never drops, so `onRestored` is never called.
   */
  subscribe(
    channel: string,
    listener: (message: string) => void,
    _onRestored?: () => void,
  ): Promise<Unsubscribe> {
    return this.#atomically((d) => this.#subscriptions.channel(d, channel, listener));
  }

  /**
   * Closes the consumers (ending their waits), ends blocking strike reads and drops this
   * backend's subscriptions. The data stays in the store for other backends on the URL.
   */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#subscriptions.stopAll();
    await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
  }

  /** The docket's structures; refuses use after close, as a closed Redis client does. */
  #open(): DocketState {
    if (this.#closing.signal.aborted) throw new Error("the memory backend is closed");
    return this.#docket;
  }

  /**
   * Runs `operation` to completion right now, synchronously, so nothing interleaves with it;
   * the promise only carries its outcome (or its error, as a rejection).
   */
  #atomically<T>(operation: (d: DocketState) => T): Promise<T> {
    try {
      return Promise.resolve(operation(this.#open()));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** The first `limit` stream entries, with who holds each delivered one and since when. */
function waitingOnStream(d: DocketState, limit: number): PendingTasks["stream"] {
  return d.stream.first(limit).map(({ id, message }) => {
    const holder = d.stream.holder(id);
    return {
      id,
      message: copyMessage(message),
      consumer: holder?.consumer,
      deliveredAt: holder?.deliveredAt,
    };
  });
}

/** The messages of the first `limit` future tasks, in due order. */
function parked(d: DocketState, limit: number): PendingTasks["queue"] {
  return d.queue.first(limit).flatMap((key) => {
    const message = d.parked.get(key);
    return message === undefined ? [] : [copyMessage(message)];
  });
}

/** The public form of a stored runs record: every field present, bytes copied. */
function toRunRecord(key: string, record: StoredRun): RunRecord {
  return {
    key,
    state: record.state,
    task: record.task,
    data: record.data && copyBytes(record.data),
    when: record.when,
    attempt: record.attempt,
    generation: record.generation,
    worker: record.worker,
    startedAt: record.startedAt,
    completedAt: record.completedAt,
    error: record.error,
    failure: record.failure && copyBytes(record.failure),
    result: record.result && copyBytes(record.result),
  };
}
