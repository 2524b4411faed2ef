/**
 * The storage interface: every atomic operation docket needs, and nothing else.
 *
 * Two backends implement it: Redis (node-redis and hand-written Lua) and memory (plain
 * in-process structures). The docket client and the worker talk only to this interface, so no
 * behaviour lives above it that only one backend honours.
 *
 * @module
 */

import type { ExecutionState } from "../types.ts";
import type {
  DeadLetterWrite,
  FailedPageRequest,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
} from "./dead_letter.ts";

export type {
  DeadLetterWrite,
  FailedPageRequest,
  FailedPosition,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
} from "./dead_letter.ts";

/** A task as it travels: on the stream, parked for later, or rebuilt from the runs record. */
export interface TaskMessage {
  /** The task key. */
  key: string;
  /** The registered name the task was sent under. */
  task: string;
  /** The payload, MessagePack-encoded. */
  data: Uint8Array;
  /** Due time, epoch milliseconds. */
  when: number;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /**
   * The generation the message was written with; a newer generation in the runs record marks it
   * stale. `0` means untracked: a fire-and-forget task with no runs record.
   */
  generation: number;
  /**
   * The W3C trace context of the span that sent the task (`traceparent`, then a newline and
   * `tracestate` when there is one); absent when no trace was active.
   */
  traceContext?: string;
}

/** One task to write. */
export interface ScheduleRequest {
  /** `add` skips a key that is live; `replace` supersedes it. */
  mode: "add" | "replace";
  /** The task key. */
  key: string;
  /** The registered name the task is sent under. */
  task: string;
  /** The payload, MessagePack-encoded. */
  data: Uint8Array;
  /** Due time, epoch milliseconds. */
  when: number;
  /** The attempt number the message carries (1 for a new task). */
  attempt: number;
  /** Keep a runs record (state, dedup, events). Off only for fire-and-forget tasks without a key. */
  tracked: boolean;
  /**
   * Write only if the key's record is live with exactly this generation (a perpetual task's
   * successor, written by the run that owns the chain); otherwise nothing is written (`stale`).
   */
  expectGeneration?: number;
  /**
   * The W3C trace context of the span that sent the task (`traceparent`, then a newline and
   * `tracestate` when there is one); absent when no trace was active.
   */
  traceContext?: string;
}

/** What a schedule request did; `stale` when `expectGeneration` did not hold. */
export type ScheduleOutcome = "scheduled" | "exists" | "stale";

/** A message handed to this worker. */
export interface Delivery {
  /** The stream entry id (opaque outside the backend). */
  id: string;
  /** The task the message carries. */
  message: TaskMessage;
  /** True when the message was taken over from a worker that stopped renewing its lease. */
  redelivered: boolean;
  /**
   * Set when the message must not run because its workers vanished more often than
   * `maxRedeliveries` allows: how many times, and the workers that held it (oldest first, as far
   * as the store knows). The worker records the task FAILED instead of running it.
   */
  abandoned?: { times: number; workers: string[] };
  /**
   * Set when the task's own keys cannot be used (a key holding the wrong type of value): why.
   * The worker records the task FAILED instead of running it; nothing else is held up.
   */
  unusable?: { storeKey: string; expected: string; reason: string };
}

/** How a run ended, to be recorded. */
export interface FinishRequest {
  /** The stream entry id of the run's message, to acknowledge. */
  id: string;
  /** The task key. */
  key: string;
  /** The generation the run's message carried; a record with a newer one is left alone. */
  generation: number;
  /** How the run ended. */
  state: Extract<ExecutionState, "completed" | "failed" | "cancelled">;
  /** `"Name: message"`, for failures. */
  error?: string;
  /** The error record, MessagePack-encoded. */
  failure?: Uint8Array;
  /** The result, MessagePack-encoded (absent for `undefined`). */
  result?: Uint8Array;
  /**
   * For a run that failed for good, when failures are kept: its dead-letter entry, written in
   * the same atomic step as the end (only if the run is still the key's current one).
   */
  deadLetter?: DeadLetterWrite;
}

/** A run that is acknowledged and written again for a later attempt (retries). */
export interface RescheduleRequest {
  /** The stream entry id of the finished attempt's message, to acknowledge. */
  id: string;
  /**
   * The generation of the run being retried: the next attempt is written only while the record
   * still carries it (a replaced or cancelled run is acknowledged and not retried).
   */
  expectGeneration?: number;
  /** The task key. */
  key: string;
  /** The registered name the task is sent under. */
  task: string;
  /** The payload, MessagePack-encoded. */
  data: Uint8Array;
  /** When the next attempt is due, epoch milliseconds. */
  when: number;
  /** The next attempt's number. */
  attempt: number;
  /** Keep a runs record, as `ScheduleRequest.tracked` says. */
  tracked: boolean;
  /** The trace context the next attempt carries (the original sender's). */
  traceContext?: string;
}

/** The execution record of a tracked task. */
export interface RunRecord {
  /** The task key. */
  key: string;
  /** The execution's state. */
  state: ExecutionState;
  /** The registered name the task was sent under. */
  task?: string;
  /** The payload, MessagePack-encoded. */
  data?: Uint8Array;
  /** Due time, epoch milliseconds. */
  when?: number;
  /** 1 on the first run, 2 on the first retry, … */
  attempt?: number;
  /** Bumped on every write of the key; a message with an older one is stale. */
  generation?: number;
  /** The worker running (or that ran) the task. */
  worker?: string;
  /** When the current (or last) run started, epoch milliseconds. */
  startedAt?: number;
  /** When the task completed, failed or was cancelled, epoch milliseconds. */
  completedAt?: number;
  /** `"Name: message"`, for failures. */
  error?: string;
  /** The error record, MessagePack-encoded. */
  failure?: Uint8Array;
  /** The result, MessagePack-encoded (absent for `undefined`). */
  result?: Uint8Array;
}

/** A progress record. */
export interface ProgressRecord {
  /** Units done so far. */
  current?: number;
  /** Units in all, once the task has set it. */
  total?: number;
  /** The last message set, if any. */
  message?: string;
  /** When progress last changed, epoch milliseconds. */
  updatedAt?: number;
}

/** A live worker, as the registry holds it. */
export interface WorkerRecord {
  /** The worker's name. */
  name: string;
  /** When it last sent a heartbeat, epoch milliseconds. */
  lastSeen: number;
  /** The names of the tasks it serves. */
  tasks: string[];
}

/** Everything waiting, for snapshots and `clear`. */
export interface PendingTasks {
  /** Messages on the stream, with the consumer holding each (undefined: not yet delivered). */
  stream: { id: string; message: TaskMessage; consumer?: string; deliveredAt?: number }[];
  /** Future messages, then messages parked behind concurrency limits. */
  queue: TaskMessage[];
}

/**
 * One flow control of a delivery, resolved for its payload: `name` is where its data lives,
 * under the docket's prefix (`concurrency:customerId:1001`, `orders:ratelimit:send_email`, …).
 * Durations are milliseconds.
 */
export type AdmissionCheck =
  | { kind: "concurrency"; name: string; max: number }
  | { kind: "debounce"; name: string; settle: number }
  | { kind: "cooldown"; name: string; window: number }
  | { kind: "rate-limit"; name: string; limit: number; per: number; drop: boolean };

/** A gated delivery to evaluate against every flow control of its task, in one atomic step. */
export interface AdmitRequest {
  /** The delivery to admit. */
  delivery: Delivery;
  /** The worker asking; recorded as the runner when the task is admitted. */
  worker: string;
  /** Every flow control of the task, resolved for the delivery's payload. */
  checks: AdmissionCheck[];
  /** The worker's redelivery timeout: a slot not renewed for this long is stale. */
  leaseMs: number;
  /** The execution TTL, for the record of a dropped task. */
  ttlMs: number;
}

/**
 * What admission did with a delivery; whichever it was, the store is already written:
 *
 * - `admitted`: slots taken, cooldowns and rate-limit entries recorded, the task marked running
 *   (and its running event published). Run it, then `release` its concurrency slots.
 * - `parked`: a concurrency limit is full; the task waits in that limit's waiter stream (state
 *   `scheduled`) until a slot frees.
 * - `rescheduled`: a debounce or rate limit holds it back until `when` (state `scheduled`).
 * - `dropped`: a cooldown, debounce or rate limit with `drop` refused it; it is `cancelled`.
 * - `stale`: the message was cancelled or superseded meanwhile; it was acknowledged.
 *
 * `wake` lists concurrency limits that have room and waiters after this step (a reservation was
 * given back, or stale slots were cleared); the caller passes them to `release`.
 */
export type AdmitOutcome =
  | { outcome: "admitted"; wake: string[] }
  | { outcome: "parked"; limit: string; wake: string[] }
  | { outcome: "rescheduled"; when: number; wake: string[] }
  | { outcome: "dropped"; reason: string; wake: string[] }
  | { outcome: "stale"; wake: string[] };

/**
 * Frees concurrency slots and wakes the waiters that now fit, oldest first: each woken waiter
 * goes back on the stream with a new generation and a slot reserved for it. Cancelled or
 * superseded waiters are dropped on the way. Without a `holder` it only wakes (and clears stale
 * slots when waiters wait).
 */
export interface ReleaseRequest {
  /** Names of concurrency limits (`AdmissionCheck.name`). */
  limits: string[];
  /** The run whose slots to free. */
  holder?: { key: string; generation: number };
  /** The worker's redelivery timeout: slots older than this are stale. */
  leaseMs: number;
}

/** Concurrency slots a running task holds, to renew with its lease. */
export interface SlotHold {
  /** The task key of the running task. */
  key: string;
  /** The generation of its run; with the key it names the slot. */
  generation: number;
  /** Names of the concurrency limits whose slots it holds (`AdmissionCheck.name`). */
  limits: string[];
}

/** A worker's handle on the due-work stream. */
export interface Consumer {
  /**
   * Takes up to `count` messages: first those abandoned by dead workers (when `reclaimIdleMs` is
   * given), then new ones, waiting up to `blockMs` when there are none. Messages that are stale,
   * cancelled or malformed are acknowledged and dropped here; the rest are marked running,
   * except those for which `gated` says admission control must decide first.
   */
  claim(options: {
    count: number;
    blockMs: number;
    reclaimIdleMs?: number;
    now: number;
    gated?: (task: string) => boolean;
    /** Past this many redeliveries a message comes back `abandoned` instead of claimed. */
    maxRedeliveries?: number;
    /**
     * With `reclaimIdleMs`: first learn whether any message is pending in the group at all
     * (`nonePending` tells afterwards). When none is, none can be abandoned before
     * `reclaimIdleMs` from now, and an idle worker need not look again sooner.
     */
    countPending?: boolean;
    /** With `countPending`: how long to wait instead of `blockMs` when nothing is pending. */
    quietBlockMs?: number;
    /** Make a blocking read one that `interrupt()` can end (see `interruptible()`). */
    interruptible?: boolean;
  }): Promise<Delivery[]>;
  /**
   * Whether the last claim that looked for abandoned messages (`reclaimIdleMs`) counted the
   * group's pending messages (`countPending`) and found none, held by any worker.
   */
  readonly nonePending: boolean;
  /**
   * Whether `interrupt()` can end a blocking claim early. Only then may a worker block long
   * waiting for work: its stop must not wait the block out.
   */
  interruptible(): Promise<boolean>;
  /** Ends a blocking claim under way (it returns nothing); does nothing when none is. */
  interrupt(): Promise<void>;
  /** Renews the lease on messages this worker is still running. */
  renew(ids: string[]): Promise<void>;
  /** Releases the consumer's connection. */
  close(): Promise<void>;
}

/** An active subscription; call to stop listening. */
export type Unsubscribe = () => Promise<void>;

/** Reports from the backend that callers should log (malformed input, lost connections). */
export type BackendWarn = (message: string, details?: Record<string, unknown>) => void;

/** The storage operations of one docket. */
export interface Backend {
  /** `"redis"` or `"memory"`. */
  readonly kind: "redis" | "memory";
  /** Writes tasks; one round trip for the whole list. */
  schedule(requests: ScheduleRequest[], now: number): Promise<ScheduleOutcome[]>;
  /** Acknowledges a run and writes its next attempt, atomically; false when it was stale. */
  reschedule(request: RescheduleRequest, now: number): Promise<boolean>;
  /** Removes a task in any state; announces it so a worker running it aborts. */
  cancel(key: string, now: number, ttlMs: number): Promise<void>;
  /** Records how runs ended and acknowledges their messages; one round trip for the list. */
  finish(requests: FinishRequest[], now: number, ttlMs: number): Promise<void>;
  /** Moves up to `limit` due future tasks to the stream; returns how many moved. */
  moveDue(now: number, limit: number): Promise<number>;
  /** When the earliest future task is due (epoch ms); undefined when none is waiting. */
  nextDue(): Promise<number | undefined>;
  /** Opens a consumer for a worker. */
  consumer(name: string, warn: BackendWarn): Promise<Consumer>;
  /** Reads a task's execution record. */
  readRun(key: string): Promise<RunRecord | undefined>;
  /** Reads a task's progress record. */
  readProgress(key: string): Promise<ProgressRecord | undefined>;
  /** Writes progress fields (and an increment) and publishes the new progress. */
  writeProgress(
    key: string,
    generation: number,
    change: { total?: number; message?: string | null; increment?: number },
    now: number,
  ): Promise<ProgressRecord>;
  /**
   * How many tasks are on the stream and waiting for later: `queue` counts future tasks and
   * tasks parked behind concurrency limits.
   */
  counts(): Promise<{ stream: number; queue: number }>;
  /** Lists what is waiting and who holds what. */
  pending(limit: number): Promise<PendingTasks>;
  /**
   * Drops every waiting task (parked ones included), leaving running ones alone; returns how
   * many were dropped.
   */
  clear(ttlMs: number): Promise<number>;
  /** Records a worker's heartbeat and the tasks it serves. */
  heartbeat(worker: string, tasks: string[], now: number, staleMs: number): Promise<void>;
  /** Removes a worker from the registry. */
  removeWorker(worker: string, tasks: string[]): Promise<void>;
  /**
   * Removes a stopped worker's consumer from the stream's consumer group, only while nothing is
   * pending for it; true when it was removed.
   */
  retireConsumer(worker: string): Promise<boolean>;
  /**
   * Removes consumers left by workers that are gone: nothing pending, idle for `idleMs`, and no
   * heartbeat within `staleMs`; at most `limit` per call. Returns their names.
   */
  pruneConsumers(now: number, staleMs: number, idleMs: number, limit: number): Promise<string[]>;
  /** Live workers, pruning stale ones; only those serving `task` when given. */
  workers(now: number, staleMs: number, task?: string): Promise<WorkerRecord[]>;
  /** Appends a strike or restore instruction; returns its id. */
  appendStrike(instruction: Uint8Array): Promise<string>;
  /**
   * Replaces the strike stream's history with one snapshot entry (trimming everything before it),
   * atomically, only when `lastId` is the stream's newest entry and it holds at least `minLength`
   * entries; true when it did.
   */
  compactStrikes(lastId: string, snapshot: Uint8Array, minLength: number): Promise<boolean>;
  /** Reads strike instructions after `afterId`, waiting up to `blockMs` (0: do not wait). */
  readStrikes(
    afterId: string,
    blockMs: number,
  ): Promise<{ id: string; instruction: Uint8Array }[]>;
  /** Takes a short lock; true when this caller holds it. */
  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Evaluates every flow control of a gated delivery in one atomic step; see AdmitOutcome. */
  admit(request: AdmitRequest, now: number): Promise<AdmitOutcome>;
  /** Frees slots and wakes waiters; see ReleaseRequest. */
  release(request: ReleaseRequest, now: number): Promise<void>;
  /** Renews the concurrency slots of running tasks (only slots still held are renewed). */
  renewSlots(holds: SlotHold[], now: number, leaseMs: number): Promise<void>;
  /**
   * The safeguard for limits whose holders died with no new arrivals: for up to `limit` limits
   * with waiters whose check time has come, clears stale slots and wakes the waiters that fit.
   * Returns how many limits were looked at.
   */
  scavenge(now: number, leaseMs: number, limit: number): Promise<number>;
  /**
   * A page of the dead-letter index, newest first, skipping (and removing from the index)
   * members whose entry has expired; members older than `ttlMs` are trimmed first (0: none).
   */
  failedPage(request: FailedPageRequest, now: number, ttlMs: number): Promise<FailedRecord[]>;
  /** Reads one dead-letter entry. */
  readFailed(key: string): Promise<FailedRecord | undefined>;
  /**
   * Puts dead-letter entries back on the stream as fresh tasks (attempt 1, a new generation, due
   * now) and removes them from the set, each atomically; one outcome per key.
   */
  retryFailed(keys: string[], now: number): Promise<FailedRetryOutcome[]>;
  /**
   * Removes up to `limit` dead-letter entries: `purged` counts entries removed, `removed` the
   * members that left the index looked at (purged ones and stale ones; 0: nothing left).
   */
  purgeFailed(request: FailedPurgeRequest): Promise<{ removed: number; purged: number }>;
  /** How many entries the dead-letter set holds, after trimming those older than `ttlMs`. */
  countFailed(now: number, ttlMs: number): Promise<number>;
  /**
   * Listens to every state and progress event of the docket (each names its task key): what a
   * dashboard follows to stay live without polling. `onRestored` as for `subscribe`.
   */
  subscribeEvents(
    listener: (message: string) => void,
    onRestored?: () => void,
  ): Promise<Unsubscribe>;
  /** Reads the run counters of the given minutes (empty records for minutes with none). */
  readStats(minutes: number[]): Promise<Record<string, number>[]>;
  /**
   * Listens to a channel (state and progress events, cancellations). `onRestored` is called
   * each time the subscription is back after the connection to the store dropped: what was
   * published meanwhile is lost, so a listener that must not miss an event looks again then.
   */
  subscribe(
    channel: string,
    listener: (message: string) => void,
    onRestored?: () => void,
  ): Promise<Unsubscribe>;
  /** Closes every connection. */
  close(): Promise<void>;
}
