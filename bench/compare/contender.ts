/**
 * What every contender in the side-by-side comparison implements, and the helpers both sides
 * share so that the two are measured the same way.
 *
 * This module must stay runtime-neutral (no `Deno.*`): the docket contender imports it and also
 * runs under Bun as a child process.
 */
import type { DocketTuning } from "./docket_tuning.ts";

/** Every wait on a library is bounded, so one misbehaving run cannot hang the comparison. */
export const MEASUREMENT_TIMEOUT_MS = 120_000;
/** Closing a queue, worker or connection must not take longer than this. */
export const CLOSE_TIMEOUT_MS = 10_000;
/** Adds run before the clock starts, so script loading and JIT warm-up are not measured. */
export const WARM_UP_ADDS = 200;
/** Pre-fills go in batches of this many tasks, one round trip each. */
export const FILL_BATCH = 1_000;

export interface DrainSpec {
  tasks: number;
  concurrency: number;
  /** false: fire-and-forget (nothing kept once a task ends); true: state kept for 15 minutes. */
  keepState: boolean;
}

export interface LatencySpec {
  tasks: number;
  addsPerSecond: number;
  concurrency: number;
}

export interface DueAtOnceSpec {
  tasks: number;
  /** How far ahead of "now" the common due time is set before pre-filling starts. */
  leadMs: number;
  concurrency: number;
}

/** Server readings a measurement takes at the moments only the contender knows. */
export interface ServerProbe {
  /** INFO memory used_memory, bytes. */
  usedMemory(): Promise<number>;
  /** Zeroes the command and CPU counters (CONFIG RESETSTAT). */
  resetCounters(): Promise<void>;
  /** Commands run and Redis CPU seconds used since the last reset, admin calls left out. */
  countersSinceReset(): Promise<{ commandCalls: number; cpuSeconds: number }>;
}

/** Called by a contender once its pre-fill is in, before anything is timed. */
export type Checkpoint = () => Promise<void>;

/** Future backlog: `backlog` tasks scheduled an hour ahead, then `tasks` immediate ones. */
export interface BacklogSpec {
  backlog: number;
  tasks: number;
  inFlight: number;
  concurrency: number;
}

export interface BacklogResult {
  /** Bytes the backlog added to used_memory (0 without a backlog). */
  backlogBytes: number;
  /** ms for the `tasks` immediate adds, `inFlight` outstanding, backlog present. */
  addMs: number;
  /** ms from starting a worker until the `drained` immediate tasks are done, backlog present. */
  drainMs: number;
  /** The immediate tasks drained: `tasks` plus the warm-up adds made before the clock. */
  drained: number;
}

/** Tracked (state kept) tasks carrying a payload of `payloadBytes` bytes (as JSON). */
export interface TrackedBytesSpec {
  tasks: number;
  payloadBytes: number;
  concurrency: number;
}

export interface TrackedBytesResult {
  /** used_memory growth once every task is added, not yet run. */
  queuedBytes: number;
  /** used_memory growth (against the empty start) once every task has completed. */
  doneBytes: number;
}

/** One pre-filled backlog drained by `processes` worker processes at `concurrency` each. */
export interface ProcessDrainSpec extends DrainSpec {
  processes: number;
  /**
   * Tasks each process drains on a queue of its own before it says it is ready, so the clock
   * sees warmed-up processes (as the in-process contenders' warm-up drain does), not JIT warm-up.
   */
  warmUpTasks: number;
}

export interface ProcessDrainResult {
  /** ms from telling the ready workers to start until the last one is done. */
  ms: number;
  /** process.cpuUsage() (user + system) over the same span, summed over the workers, µs. */
  cpuMicros: number;
  /** Context switches of the workers over the span (voluntary, involuntary), summed. */
  voluntarySwitches: number;
  involuntarySwitches: number;
}

/** What each library's side provides: a worker set up but not started yet. */
/** (worker_child.ts) */
export interface PreparedWorker {
  /** Starts working; resolves once this worker has found no more work and stopped. */
  run(): Promise<void>;
  /** Closes whatever is still open (after run, or after a failure). */
  close(): Promise<void>;
}

export interface WorkerProcessArgs {
  url: string;
  name: string;
  concurrency: number;
  keepState: boolean;
  tuning: DocketTuning;
  /** Tasks to drain on a queue of the process's own before setting up (see ProcessDrainSpec). */
  warmUpTasks: number;
  /** Called with the payload's index for every task this worker ran. */
  record(index: number): void;
}

/** A piece of the payload large enough to make the task carry `bytes` bytes as JSON. */
export function paddedPayload(i: number, bytes: number): { i: number; pad: string } {
  const overhead = JSON.stringify({ i, pad: "" }).length;
  return { i, pad: "x".repeat(Math.max(0, bytes - overhead)) };
}

/**
 * One queue library on one runtime and backend. Every method works on its own fresh queue
 * (or docket) name and closes everything it opened before returning. A contender leaves out
 * the methods that do not apply to it (the Bun and memory:// variants only drain).
 */
export interface Contender {
  /** Shown in the table, e.g. "BullMQ", "docket", "docket (Bun)". */
  readonly name: string;
  /** The runtime the measured code runs on. */
  readonly runtime: "Deno" | "Bun";
  /** Whether the work goes through the benchmark's Redis server (and so shows in its stats). */
  readonly usesRedis: boolean;
  /** ms for `tasks` adds, each awaited before the next. */
  enqueueSerial?(tasks: number): Promise<number>;
  /**
   * ms for `calls` PINGs, each awaited before the next, through the Redis client library the
   * contender's adds use: one bare round trip, which an awaited add also makes.
   */
  roundTrip?(calls: number): Promise<number>;
  /** ms for `tasks` adds with `inFlight` of them outstanding at any time. */
  enqueueInFlight?(tasks: number, inFlight: number): Promise<number>;
  /** ms from starting a worker on `tasks` pre-filled no-op tasks until all are done. */
  drain?(spec: DrainSpec): Promise<number>;
  /** For each task, ms from calling add to its handler starting. */
  latency?(spec: LatencySpec): Promise<number[]>;
  /** ms from the common due time until every task is done. */
  dueAtOnce?(spec: DueAtOnceSpec, filled?: Checkpoint): Promise<number>;
  /** Like `drain`, but calls `filled` between the pre-fill and the clock. */
  drainAfter?(spec: DrainSpec, filled: Checkpoint): Promise<number>;
  futureBacklog?(spec: BacklogSpec, probe: ServerProbe): Promise<BacklogResult>;
  trackedBytes?(spec: TrackedBytesSpec, probe: ServerProbe): Promise<TrackedBytesResult>;
  processDrain?(spec: ProcessDrainSpec, filled: Checkpoint): Promise<ProcessDrainResult>;
  /** Redis commands one idle worker (empty queue) sends over `ms`, counted by `probe`. */
  idleCommands?(ms: number, probe: ServerProbe): Promise<number>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms / 1000} s`);
    this.name = "TimeoutError";
  }
}

/** Resolves or rejects like `promise`, or rejects with a TimeoutError after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a cleanup step, bounded in time. A failure here must not hide the measurement's own
 * outcome, so it is reported on stderr rather than thrown.
 */
export async function closeQuietly(what: string, close: () => Promise<unknown>): Promise<void> {
  try {
    await withTimeout(Promise.resolve().then(close), CLOSE_TIMEOUT_MS, `closing ${what}`);
  } catch (error) {
    console.error(`warning: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A name no earlier measurement used, so no run can see another's keys. */
export function freshName(prefix: string): string {
  const random = Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, "0");
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}

/** Calls `add(i)` for i in [0, total), with at most `inFlight` calls outstanding. */
export async function runInFlight(
  total: number,
  inFlight: number,
  add: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) await add(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
}

/** Like runInFlight, one batch of FILL_BATCH indices per call, `inFlight` batches at once. */
export async function inBatchesInFlight(
  total: number,
  inFlight: number,
  addBatch: (indices: number[]) => Promise<unknown>,
): Promise<void> {
  const batches = Math.ceil(total / FILL_BATCH);
  await runInFlight(batches, inFlight, (b) => {
    const start = b * FILL_BATCH;
    const end = Math.min(start + FILL_BATCH, total);
    return addBatch(Array.from({ length: end - start }, (_, offset) => start + offset));
  });
}

/** Calls `addBatch(indices)` for consecutive batches covering [0, total), one after another. */
export async function inBatches(
  total: number,
  addBatch: (indices: number[]) => Promise<unknown>,
): Promise<void> {
  for (let start = 0; start < total; start += FILL_BATCH) {
    const end = Math.min(start + FILL_BATCH, total);
    await addBatch(Array.from({ length: end - start }, (_, offset) => start + offset));
  }
}

/**
 * The payload both libraries carry: small, as in a typical job, and identifying the task.
 * A type alias rather than an interface, so it fits docket's `Record<string, …>` payload type.
 */
export type BenchPayload = {
  i: number;
  customerId: string;
  amount: number;
};

export function benchPayload(i: number): BenchPayload {
  return { i, customerId: `customer-${i % 1_000}`, amount: 500 };
}

/**
 * Counts deliveries by task index, so a drain proves every task ran exactly once and a
 * latency run knows when the last task has started.
 */
export class DeliveryTracker {
  readonly #seen: Uint8Array;
  #unique = 0;
  #duplicates = 0;
  #resolveAllSeen!: () => void;
  readonly allSeen: Promise<void>;

  constructor(readonly expected: number) {
    this.#seen = new Uint8Array(expected);
    this.allSeen = new Promise((resolve) => (this.#resolveAllSeen = resolve));
    if (expected === 0) this.#resolveAllSeen();
  }

  record(index: number): void {
    if (!(index >= 0 && index < this.expected)) {
      this.#duplicates++; // an index we never added counts as a wrong delivery
      return;
    }
    if (this.#seen[index]) {
      this.#duplicates++;
      return;
    }
    this.#seen[index] = 1;
    if (++this.#unique === this.expected) this.#resolveAllSeen();
  }

  /** Throws unless every task was delivered exactly once. */
  verifyExactlyOnce(): void {
    if (this.#unique !== this.expected || this.#duplicates !== 0) {
      throw new Error(
        `expected ${this.expected} deliveries, saw ${this.#unique} distinct ` +
          `and ${this.#duplicates} duplicate or unknown`,
      );
    }
  }
}

/**
 * Fires `add(i)` for i in [0, tasks) at a steady rate, on a fixed schedule so that a slow add
 * does not delay the ones after it, and records when each add was called.
 */
export async function addAtSteadyRate(
  tasks: number,
  addsPerSecond: number,
  add: (index: number) => Promise<unknown>,
): Promise<Float64Array> {
  const addCalledAt = new Float64Array(tasks);
  const pending: Promise<unknown>[] = [];
  const intervalMs = 1_000 / addsPerSecond;
  const start = performance.now();
  for (let i = 0; i < tasks; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    addCalledAt[i] = performance.now();
    pending.push(add(i));
  }
  await Promise.all(pending);
  return addCalledAt;
}

/** Per-task pickup latency, ms: handler start minus add call. */
export function pickupLatencies(addCalledAt: Float64Array, startedAt: Float64Array): number[] {
  return Array.from(addCalledAt, (calledAt, i) => startedAt[i] - calledAt);
}
