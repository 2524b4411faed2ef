/**
 * BullMQ as a contender: the peer docket is measured against, on its default driver (ioredis),
 * with `Queue` / `Worker` and options as its documentation recommends. Bench-only: the library
 * never imports BullMQ.
 */
// BullMQ loads ioredis lazily with require() when given connection options; importing it here
// puts it in the module graph, so Deno installs it even before `deno install` has run.
// Versioned specifiers: bench-only packages stay out of the library's import map.
// deno-lint-ignore no-import-prefix
import "npm:ioredis@5.11.1";
// deno-lint-ignore no-import-prefix
import type { Redis } from "npm:ioredis@5.11.1";
// deno-lint-ignore no-import-prefix
import { type Job, type JobsOptions, Queue, Worker } from "npm:bullmq@6.7.0";
import {
  addAtSteadyRate,
  type BacklogResult,
  type BacklogSpec,
  benchPayload,
  type Checkpoint,
  closeQuietly,
  type Contender,
  DeliveryTracker,
  type DrainSpec,
  type DueAtOnceSpec,
  freshName,
  inBatchesInFlight,
  type LatencySpec,
  MEASUREMENT_TIMEOUT_MS,
  paddedPayload,
  pickupLatencies,
  type PreparedWorker,
  runInFlight,
  type ServerProbe,
  sleep,
  type TrackedBytesResult,
  type TrackedBytesSpec,
  WARM_UP_ADDS,
  withTimeout,
  type WorkerProcessArgs,
} from "./contender.ts";

export interface BullmqConnection {
  host: string;
  port: number;
}

const JOB_NAME = "noop";
/** The counterpart of docket's `executionTtl: 0`. */
const FIRE_AND_FORGET: JobsOptions = { removeOnComplete: true, removeOnFail: true };
/** The counterpart of docket's default 15-minute execution TTL. */
const KEEP_FOR_15_MINUTES: JobsOptions = { removeOnComplete: { age: 900 } };
/** Lets a fresh worker open its connections and block on the queue before adds start. */
const WORKER_SETTLE_MS = 250;
/** Pre-fill batches outstanding at once (as docket's pre-fill). */
const FILL_IN_FLIGHT = 4;
const HOUR_MS = 3_600_000;
/** An idle worker's connections settle before its commands are counted. */
const IDLE_SETTLE_MS = 1_000;

function retention(keepState: boolean): JobsOptions {
  return keepState ? KEEP_FOR_15_MINUTES : FIRE_AND_FORGET;
}

async function fill(
  queue: Queue,
  tasks: number,
  opts: () => JobsOptions,
  payload: (i: number) => unknown = benchPayload,
): Promise<void> {
  await inBatchesInFlight(
    tasks,
    FILL_IN_FLIGHT,
    (indices) =>
      queue.addBulk(indices.map((i) => ({ name: JOB_NAME, data: payload(i), opts: opts() }))),
  );
}

interface CountingWorker {
  worker: Worker;
  /** Rejects on the first failed job or worker error; never resolves. */
  failed: Promise<never>;
  /** Every job recorded as completed, or the first failure, bounded in time. */
  allDone(tracker: DeliveryTracker, timeoutMs: number, what: string): Promise<void>;
}

/** What a measurement gets: a fresh queue, and workers on it that are closed afterwards. */
interface QueueSession {
  queue: Queue;
  /**
   * Starts a worker whose jobs `tracker` counts once BullMQ has recorded them as completed;
   * `onStart` sees each job as its handler starts.
   */
  startWorker(
    concurrency: number,
    tracker: DeliveryTracker,
    onStart?: (job: Job) => void,
  ): CountingWorker;
}

function startCountingWorker(
  connection: BullmqConnection,
  queue: Queue,
  concurrency: number,
  tracker: DeliveryTracker,
  onStart: (job: Job) => void,
): CountingWorker {
  const worker = new Worker(queue.name, (job: Job) => {
    onStart(job);
    return Promise.resolve();
  }, { connection, concurrency });
  worker.on("completed", (job: Job) => tracker.record(job.data.i));
  const failed = new Promise<never>((_, reject) => {
    worker.on("failed", (job, error) => reject(new Error(`job ${job?.id} failed: ${error}`)));
    worker.on("error", (error) => reject(error));
  });
  failed.catch(() => {}); // only ever raced against completion
  return {
    worker,
    failed,
    allDone: (tracker, timeoutMs, what) =>
      withTimeout(Promise.race([tracker.allSeen, failed]), timeoutMs, what),
  };
}

async function withQueue<T>(
  connection: BullmqConnection,
  prefix: string,
  measure: (session: QueueSession) => Promise<T>,
): Promise<T> {
  const queue = new Queue(freshName(prefix), { connection });
  const workers: Worker[] = [];
  try {
    await queue.waitUntilReady();
    return await measure({
      queue,
      startWorker(concurrency, tracker, onStart = () => {}) {
        const started = startCountingWorker(connection, queue, concurrency, tracker, onStart);
        workers.push(started.worker);
        return started;
      },
    });
  } finally {
    for (const worker of workers) await closeQuietly("BullMQ worker", () => worker.close());
    await closeQuietly("BullMQ queue", () => queue.close());
  }
}

async function warmUp(queue: Queue): Promise<void> {
  for (let i = 0; i < WARM_UP_ADDS; i++) {
    await queue.add(JOB_NAME, benchPayload(i), KEEP_FOR_15_MINUTES);
  }
}

function enqueueSerial(connection: BullmqConnection, tasks: number): Promise<number> {
  return withQueue(connection, "enqueue-serial", async ({ queue }) => {
    await warmUp(queue);
    const start = performance.now();
    for (let i = 0; i < tasks; i++) {
      await queue.add(JOB_NAME, benchPayload(i), KEEP_FOR_15_MINUTES);
    }
    return performance.now() - start;
  });
}

/** Through the queue's own ioredis connection, the one its adds go through. */
function roundTrip(connection: BullmqConnection, calls: number): Promise<number> {
  return withQueue(connection, "round-trip", async ({ queue }) => {
    // BullMQ's backend interface names only what BullMQ calls; the client is ioredis's.
    const client = (await queue.backend.client) as unknown as Redis;
    for (let i = 0; i < WARM_UP_ADDS; i++) await client.ping();
    const start = performance.now();
    for (let i = 0; i < calls; i++) await client.ping();
    return performance.now() - start;
  });
}

function enqueueInFlight(
  connection: BullmqConnection,
  tasks: number,
  inFlight: number,
): Promise<number> {
  return withQueue(connection, "enqueue-in-flight", async ({ queue }) => {
    await warmUp(queue);
    const start = performance.now();
    await runInFlight(
      tasks,
      inFlight,
      (i) => queue.add(JOB_NAME, benchPayload(i), KEEP_FOR_15_MINUTES),
    );
    return performance.now() - start;
  });
}

function drain(
  connection: BullmqConnection,
  spec: DrainSpec,
  filled?: Checkpoint,
): Promise<number> {
  return withQueue(connection, "drain", async ({ queue, startWorker }) => {
    const opts = retention(spec.keepState);
    await fill(queue, spec.tasks, () => opts);
    await filled?.();
    const tracker = new DeliveryTracker(spec.tasks);
    const start = performance.now();
    await startWorker(spec.concurrency, tracker).allDone(tracker, MEASUREMENT_TIMEOUT_MS, "drain");
    const elapsed = performance.now() - start;
    tracker.verifyExactlyOnce();
    return elapsed;
  });
}

function latency(connection: BullmqConnection, spec: LatencySpec): Promise<number[]> {
  return withQueue(connection, "latency", async ({ queue, startWorker }) => {
    const startedAt = new Float64Array(spec.tasks);
    const tracker = new DeliveryTracker(spec.tasks);
    const started = startWorker(spec.concurrency, tracker, (job) => {
      startedAt[job.data.i] = performance.now();
    });
    await started.worker.waitUntilReady();
    await sleep(WORKER_SETTLE_MS);
    const addCalledAt = await addAtSteadyRate(
      spec.tasks,
      spec.addsPerSecond,
      (i) => queue.add(JOB_NAME, benchPayload(i), KEEP_FOR_15_MINUTES),
    );
    await started.allDone(tracker, MEASUREMENT_TIMEOUT_MS, "latency run");
    tracker.verifyExactlyOnce();
    return pickupLatencies(addCalledAt, startedAt);
  });
}

function dueAtOnce(
  connection: BullmqConnection,
  spec: DueAtOnceSpec,
  filled?: Checkpoint,
): Promise<number> {
  return withQueue(connection, "due-at-once", async ({ queue, startWorker }) => {
    const dueAt = Date.now() + spec.leadMs;
    // BullMQ's due time is the job's timestamp plus its delay; fixing both makes every job due
    // at exactly `dueAt`, however long the pre-fill takes.
    await fill(queue, spec.tasks, () => {
      const now = Date.now();
      return { ...KEEP_FOR_15_MINUTES, timestamp: now, delay: dueAt - now };
    });
    await filled?.();
    if (Date.now() >= dueAt) {
      throw new Error(`pre-fill took longer than the ${spec.leadMs} ms lead`);
    }
    const tracker = new DeliveryTracker(spec.tasks);
    await startWorker(spec.concurrency, tracker)
      .allDone(tracker, spec.leadMs + MEASUREMENT_TIMEOUT_MS, "due-at-once run");
    const elapsed = Date.now() - dueAt;
    tracker.verifyExactlyOnce();
    return elapsed;
  });
}

export function bullmqContender(connection: BullmqConnection): Contender {
  return {
    name: "BullMQ",
    runtime: "Deno",
    usesRedis: true,
    enqueueSerial: (tasks) => enqueueSerial(connection, tasks),
    roundTrip: (calls) => roundTrip(connection, calls),
    enqueueInFlight: (tasks, inFlight) => enqueueInFlight(connection, tasks, inFlight),
    drain: (spec) => drain(connection, spec),
    latency: (spec) => latency(connection, spec),
    dueAtOnce: (spec, filled) => dueAtOnce(connection, spec, filled),
    drainAfter: (spec, filled) => drain(connection, spec, filled),
    futureBacklog: (spec, probe) => futureBacklog(connection, spec, probe),
    trackedBytes: (spec, probe) => trackedBytes(connection, spec, probe),
    idleCommands: (ms, probe) => idleCommands(connection, ms, probe),
  };
}

function futureBacklog(
  connection: BullmqConnection,
  spec: BacklogSpec,
  probe: ServerProbe,
): Promise<BacklogResult> {
  return withQueue(connection, "backlog", async ({ queue, startWorker }) => {
    await warmUp(queue);
    const before = await probe.usedMemory();
    const future = { ...KEEP_FOR_15_MINUTES, delay: HOUR_MS };
    // Warm-up adds are 0…199, the timed ones follow; the backlog's indices come after both, so
    // the tracker would catch a future task run early.
    const drained = WARM_UP_ADDS + spec.tasks;
    await fill(queue, spec.backlog, () => future, (i) => benchPayload(drained + i));
    const backlogBytes = await probe.usedMemory() - before;
    const addStart = performance.now();
    await runInFlight(
      spec.tasks,
      spec.inFlight,
      (i) => queue.add(JOB_NAME, benchPayload(WARM_UP_ADDS + i), KEEP_FOR_15_MINUTES),
    );
    const addMs = performance.now() - addStart;
    const tracker = new DeliveryTracker(drained);
    const drainStart = performance.now();
    await startWorker(spec.concurrency, tracker)
      .allDone(tracker, MEASUREMENT_TIMEOUT_MS, "drain with a backlog");
    const drainMs = performance.now() - drainStart;
    tracker.verifyExactlyOnce();
    return { backlogBytes, addMs, drainMs, drained };
  });
}

function trackedBytes(
  connection: BullmqConnection,
  spec: TrackedBytesSpec,
  probe: ServerProbe,
): Promise<TrackedBytesResult> {
  return withQueue(connection, "tracked-bytes", async ({ queue, startWorker }) => {
    const before = await probe.usedMemory();
    await fill(
      queue,
      spec.tasks,
      () => KEEP_FOR_15_MINUTES,
      (i) => paddedPayload(i, spec.payloadBytes),
    );
    const queuedBytes = await probe.usedMemory() - before;
    const tracker = new DeliveryTracker(spec.tasks);
    const started = startWorker(spec.concurrency, tracker);
    await started.allDone(tracker, MEASUREMENT_TIMEOUT_MS, "tracked-bytes drain");
    tracker.verifyExactlyOnce();
    // Its connections' buffers are not the tasks' memory.
    await closeQuietly("BullMQ worker", () => started.worker.close());
    return { queuedBytes, doneBytes: await probe.usedMemory() - before };
  });
}

function idleCommands(
  connection: BullmqConnection,
  ms: number,
  probe: ServerProbe,
): Promise<number> {
  return withQueue(connection, "idle", async ({ startWorker }) => {
    const started = startWorker(10, new DeliveryTracker(0));
    await started.worker.waitUntilReady();
    await sleep(IDLE_SETTLE_MS);
    await probe.resetCounters();
    await sleep(ms);
    return (await probe.countersSinceReset()).commandCalls;
  });
}

/** A queue filled with `tasks` no-op jobs for worker processes to drain. */
export async function openFilledBacklog(
  connection: BullmqConnection,
  tasks: number,
  keepState: boolean,
): Promise<{ name: string; close(): Promise<void> }> {
  const queue = new Queue(freshName("processes"), { connection });
  try {
    await queue.waitUntilReady();
    const opts = retention(keepState);
    await fill(queue, tasks, () => opts);
  } catch (error) {
    await closeQuietly("BullMQ queue", () => queue.close());
    throw error;
  }
  return { name: queue.name, close: () => closeQuietly("BullMQ queue", () => queue.close()) };
}

/**
 * One worker process's side (worker_child.ts): a worker on the named queue, connected but not
 * running. It is done once the queue has drained (BullMQ's `drained` event: nothing waiting) and
 * its own active jobs have completed (`close()` waits for them).
 */
export async function prepareWorkerProcess(args: WorkerProcessArgs): Promise<PreparedWorker> {
  const url = new URL(args.url);
  const connection = { host: url.hostname, port: Number(url.port) };
  if (args.warmUpTasks > 0) {
    const { concurrency, keepState } = args;
    await drain(connection, { tasks: args.warmUpTasks, concurrency, keepState });
  }
  const worker = new Worker(args.name, () => Promise.resolve(), {
    connection,
    concurrency: args.concurrency,
    autorun: false,
  });
  worker.on("completed", (job: Job) => args.record(job.data.i));
  await worker.waitUntilReady();
  return {
    run: () =>
      withTimeout(
        new Promise<void>((resolve, reject) => {
          worker.once("drained", () => worker.close().then(resolve, reject));
          worker.on("error", reject);
          worker.run().catch(reject);
        }),
        MEASUREMENT_TIMEOUT_MS,
        "BullMQ worker process",
      ),
    close: () => closeQuietly("BullMQ worker", () => worker.close()),
  };
}
