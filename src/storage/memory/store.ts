/**
 * The data behind `memory://` URLs: one store per URL, one set of structures per docket in it.
 *
 * Stores live in a module-level registry for the life of the process (or until
 * {@linkcode clearMemoryStores}). They are deliberately not reference-counted: a program that
 * adds tasks with one docket, closes it and then starts a worker on the same URL must still
 * find its tasks, just as it would on a Redis server.
 *
 * @module
 */

import type { RunRecord, TaskMessage } from "../backend.ts";
import type { DocketKeys } from "../../keys.ts";
import { PubSub } from "./pubsub.ts";
import { MemoryStream, StrikeLog } from "./stream.ts";
import { ExpiringMap, SortedQueue } from "./structures.ts";
import { FlowState } from "./flow_state.ts";
import { FailedSet } from "./dead_letter.ts";

/** A runs record as stored: the public record plus the stream id of its waiting copy. */
export interface StoredRun extends RunRecord {
  /** The stream entry id of the queued copy (`sid`); cleared once the task is claimed. */
  sid?: string;
}

/** A progress record as stored. */
export interface StoredProgress {
  /** The generation of the run that last wrote it. */
  generation: number;
  current: number;
  total?: number;
  message?: string;
  updatedAt: number;
}

/** Every structure of one docket, the counterpart of the Redis keys under its prefix. */
export class DocketState {
  /** Due work, read through one consumer group. */
  readonly stream: MemoryStream = new MemoryStream();
  /** Keys of future work, by due time. */
  readonly queue: SortedQueue = new SortedQueue();
  /** The messages of future work, by key. */
  readonly parked: Map<string, TaskMessage> = new Map();
  /** Execution records, by key. */
  readonly runs: ExpiringMap<StoredRun> = new ExpiringMap();
  /** Progress records, by key. */
  readonly progress: ExpiringMap<StoredProgress> = new ExpiringMap();
  /** Strike and restore instructions. */
  readonly strikes: StrikeLog = new StrikeLog();
  /** Live workers and their last heartbeat. */
  readonly workers: Map<string, number> = new Map();
  /** The task names each worker serves (expiring, like the worker-tasks sets). */
  readonly workerTasks: ExpiringMap<Set<string>> = new ExpiringMap();
  /** Per task name, the workers serving it and their last heartbeat. */
  readonly taskWorkers: Map<string, Map<string, number>> = new Map();
  /** Lock owners, by lock name. */
  readonly locks: ExpiringMap<string> = new ExpiringMap();
  /** Run counters by minute (the `stats:<minute>` hashes), each expiring like them. */
  readonly stats: ExpiringMap<Record<string, number>> = new ExpiringMap();
  /** Concurrency slots and waiters, debounce, cooldown and rate-limit records. */
  readonly flow: FlowState = new FlowState();
  /** Tasks that ended failed for good (the dead-letter set). */
  readonly failed: FailedSet = new FailedSet();

  /** Binds the structures to a docket's names and to its store's channels. */
  constructor(readonly keys: DocketKeys, readonly channels: PubSub) {}

  /**
   * Queues a future task, announcing it on the next-due channel when it comes before every
   * other waiting one, as the schedule and admit scripts do.
   */
  enqueue(key: string, when: number): void {
    const [head] = this.queue.first(1);
    const earliest = head === undefined || when < this.queue.score(head)!;
    this.queue.add(key, when);
    if (earliest) this.channels.publish(this.keys.nextDueChannel, String(when));
  }

  /** Publishes an event object as JSON, the way the Lua scripts do with `cjson.encode`. */
  publishEvent(channel: string, event: Record<string, unknown>): void {
    this.channels.publish(channel, JSON.stringify(event));
  }
}

/** Everything one `memory://` URL holds: its dockets, keyed by prefix, and its channels. */
export class MemoryStore {
  /** Pub/sub channels, shared by every docket on this URL. */
  readonly channels: PubSub = new PubSub();
  #dockets = new Map<string, DocketState>();

  /** The structures of the docket with these keys, created on first use. */
  docket(keys: DocketKeys): DocketState {
    let state = this.#dockets.get(keys.prefix);
    if (state === undefined) {
      state = new DocketState(keys, this.channels);
      this.#dockets.set(keys.prefix, state);
    }
    return state;
  }
}

const stores = new Map<string, MemoryStore>();

/** The store of `url` (compared as the exact string), created on first use. */
export function storeFor(url: string): MemoryStore {
  let store = stores.get(url);
  if (store === undefined) {
    store = new MemoryStore();
    stores.set(url, store);
  }
  return store;
}

/**
 * Forgets every memory store, so the next backend on any URL starts empty (for tests).
 * Backends already open keep the store they were opened on.
 *
 * @example
 * ```ts
 * import { clearMemoryStores } from "./store.ts";
 * clearMemoryStores();
 * ```
 */
export function clearMemoryStores(): void {
  stores.clear();
}
