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
import { type Job, type JobsOptions, Queue, Worker } from "npm:bullmq@6.7.0";
import {
  addAtSteadyRate,
  benchPayload,
  closeQuietly,
  type Contender,
  DeliveryTracker,
  type DrainSpec,
  type DueAtOnceSpec,
  freshName,
  inBatches,
  type LatencySpec,
  MEASUREMENT_TIMEOUT_MS,
  pickupLatencies,
  runInFlight,
  sleep,
  WARM_UP_ADDS,
  withTimeout,
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

function retention(keepState: boolean): JobsOptions {
  return keepState ? KEEP_FOR_15_MINUTES : FIRE_AND_FORGET;
}

async function fill(queue: Queue, tasks: number, opts: () => JobsOptions): Promise<void> {
  await inBatches(
    tasks,
    (indices) =>
      queue.addBulk(indices.map((i) => ({ name: JOB_NAME, data: benchPayload(i), opts: opts() }))),
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

function drain(connection: BullmqConnection, spec: DrainSpec): Promise<number> {
  return withQueue(connection, "drain", async ({ queue, startWorker }) => {
    const opts = retention(spec.keepState);
    await fill(queue, spec.tasks, () => opts);
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

function dueAtOnce(connection: BullmqConnection, spec: DueAtOnceSpec): Promise<number> {
  return withQueue(connection, "due-at-once", async ({ queue, startWorker }) => {
    const dueAt = Date.now() + spec.leadMs;
    // BullMQ's due time is the job's timestamp plus its delay; fixing both makes every job due
    // at exactly `dueAt`, however long the pre-fill takes.
    await fill(queue, spec.tasks, () => {
      const now = Date.now();
      return { ...KEEP_FOR_15_MINUTES, timestamp: now, delay: dueAt - now };
    });
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
    enqueueInFlight: (tasks, inFlight) => enqueueInFlight(connection, tasks, inFlight),
    drain: (spec) => drain(connection, spec),
    latency: (spec) => latency(connection, spec),
    dueAtOnce: (spec) => dueAtOnce(connection, spec),
  };
}
