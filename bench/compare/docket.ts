/**
 * docket as a contender, written against the public API only (`mod.ts`, see shared/API.md).
 *
 * Runtime-neutral on purpose: `docket_drain_child.ts` runs this same code under Bun.
 */
import pino from "pino";
import { createClient } from "redis";
import { Docket, type Task, task, Worker } from "../../mod.ts";
import {
  addAtSteadyRate,
  type BacklogResult,
  type BacklogSpec,
  type BenchPayload,
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
import { DEFAULT_DOCKET_TUNING, type DocketTuning } from "./docket_tuning.ts";

export interface DocketContenderOptions {
  url: string;
  name?: string;
  tuning?: DocketTuning;
}

const TASK_NAME = "bench_noop";
/** docket has no "worker ready" signal: give runForever this long to start its loops. */
const WORKER_SETTLE_MS = 1_000;
const silentLogger = pino({ level: "silent" });
/** Pre-fill batches outstanding at once: keeps a 1M backlog affordable, as BullMQ's does. */
const FILL_IN_FLIGHT = 4;
const HOUR_MS = 3_600_000;

type Handler = (payload: BenchPayload) => void;

interface Session {
  docket: Docket;
  /** The registered no-op task; its handler is whatever the measurement set last. */
  noop: Task<BenchPayload, void>;
  onRun(handler: Handler): void;
}

/**
 * Opens a fresh docket (its own name, so no keys are shared) with the no-op task registered;
 * `{ name }` opens the docket of that exact name instead (a worker process joining a backlog).
 */
async function openSession(
  url: string,
  prefix: string | { name: string },
  keepState: boolean,
): Promise<Session> {
  const docket = await Docket.connect({
    name: typeof prefix === "string" ? freshName(prefix) : prefix.name,
    url,
    logger: silentLogger,
    ...(keepState ? {} : { executionTtl: 0 }),
  });
  let handler: Handler = () => {};
  const noop = task({
    name: TASK_NAME,
    run: (payload: BenchPayload) => {
      handler(payload);
      return Promise.resolve();
    },
  });
  docket.register(noop);
  return { docket, noop, onRun: (next) => (handler = next) };
}

async function withSession<T>(
  url: string,
  prefix: string,
  keepState: boolean,
  measure: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(url, prefix, keepState);
  try {
    return await measure(session);
  } finally {
    await closeQuietly("docket", () => session.docket.close());
  }
}

function workerFor(session: Session, concurrency: number, tuning: DocketTuning): Worker {
  return new Worker(session.docket, { concurrency, ...tuning });
}

/** Pre-fills with `addMany`, 1,000 tasks a call; `when` (epoch ms) schedules them all ahead. */
async function fill(
  session: Session,
  tasks: number,
  when?: number,
  payload: (i: number) => BenchPayload = benchPayload,
): Promise<void> {
  const addMany = session.docket.addMany(session.noop, when === undefined ? {} : { when });
  await inBatchesInFlight(tasks, FILL_IN_FLIGHT, (indices) => addMany(indices.map(payload)));
}

async function warmUp(session: Session): Promise<void> {
  const add = session.docket.add(session.noop);
  for (let i = 0; i < WARM_UP_ADDS; i++) await add(benchPayload(i));
}

/**
 * Runs the worker until nothing is queued or scheduled and returns `clock()` at that moment;
 * stopping the worker (also after a timeout) happens afterwards, outside the measured time.
 */
async function finishedAt(
  worker: Worker,
  timeoutMs: number,
  clock: () => number,
): Promise<number> {
  try {
    await withTimeout(worker.runUntilFinished(), timeoutMs, "worker.runUntilFinished()");
    return clock();
  } finally {
    await closeQuietly("docket worker", () => worker.stop());
  }
}

function enqueueSerial(url: string, tasks: number): Promise<number> {
  return withSession(url, "enqueue-serial", true, async (session) => {
    await warmUp(session);
    const add = session.docket.add(session.noop);
    const start = performance.now();
    for (let i = 0; i < tasks; i++) await add(benchPayload(i));
    return performance.now() - start;
  });
}

/** Through node-redis, the client docket's Redis backend is built on. */
async function roundTrip(url: string, calls: number): Promise<number> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (let i = 0; i < WARM_UP_ADDS; i++) await client.ping();
    const start = performance.now();
    for (let i = 0; i < calls; i++) await client.ping();
    return performance.now() - start;
  } finally {
    await closeQuietly("node-redis client", () => client.close());
  }
}

function enqueueInFlight(url: string, tasks: number, inFlight: number): Promise<number> {
  return withSession(url, "enqueue-in-flight", true, async (session) => {
    await warmUp(session);
    const add = session.docket.add(session.noop);
    const start = performance.now();
    await runInFlight(tasks, inFlight, (i) => add(benchPayload(i)));
    return performance.now() - start;
  });
}

/** Exported for the Bun child process, which measures this same function. */
export function drain(
  url: string,
  spec: DrainSpec,
  tuning: DocketTuning,
  filled?: Checkpoint,
): Promise<number> {
  return withSession(url, "drain", spec.keepState, async (session) => {
    await fill(session, spec.tasks);
    await filled?.();
    const tracker = new DeliveryTracker(spec.tasks);
    session.onRun(({ i }) => tracker.record(i));
    const start = performance.now();
    const worker = workerFor(session, spec.concurrency, tuning);
    const finished = await finishedAt(worker, MEASUREMENT_TIMEOUT_MS, () => performance.now());
    const elapsed = finished - start;
    tracker.verifyExactlyOnce();
    return elapsed;
  });
}

function latency(url: string, spec: LatencySpec, tuning: DocketTuning): Promise<number[]> {
  return withSession(url, "latency", true, async (session) => {
    const startedAt = new Float64Array(spec.tasks);
    const tracker = new DeliveryTracker(spec.tasks);
    session.onRun(({ i }) => {
      startedAt[i] = performance.now();
      tracker.record(i);
    });
    const worker = workerFor(session, spec.concurrency, tuning);
    const running = worker.runForever();
    running.catch(() => {}); // surfaced below through the tracker's timeout
    try {
      await sleep(WORKER_SETTLE_MS);
      const add = session.docket.add(session.noop);
      const addCalledAt = await addAtSteadyRate(
        spec.tasks,
        spec.addsPerSecond,
        (i) => add(benchPayload(i)),
      );
      await withTimeout(
        Promise.race([tracker.allSeen, running.then(() => failEarly("runForever"))]),
        MEASUREMENT_TIMEOUT_MS,
        "latency run",
      );
      tracker.verifyExactlyOnce();
      return pickupLatencies(addCalledAt, startedAt);
    } finally {
      await closeQuietly("docket worker", () => worker.stop());
      await closeQuietly("docket worker run", () => running);
    }
  });
}

function failEarly(what: string): never {
  throw new Error(`${what} returned before every task had run`);
}

function dueAtOnce(
  url: string,
  spec: DueAtOnceSpec,
  tuning: DocketTuning,
  filled?: Checkpoint,
): Promise<number> {
  return withSession(url, "due-at-once", true, async (session) => {
    const dueAt = Date.now() + spec.leadMs;
    await fill(session, spec.tasks, dueAt);
    await filled?.();
    if (Date.now() >= dueAt) {
      throw new Error(`pre-fill took longer than the ${spec.leadMs} ms lead`);
    }
    const tracker = new DeliveryTracker(spec.tasks);
    session.onRun(({ i }) => tracker.record(i));
    const worker = workerFor(session, spec.concurrency, tuning);
    const timeoutMs = spec.leadMs + MEASUREMENT_TIMEOUT_MS;
    const finished = await finishedAt(worker, timeoutMs, () => Date.now());
    const elapsed = finished - dueAt;
    tracker.verifyExactlyOnce();
    return elapsed;
  });
}

/** docket on this runtime, against Redis or (with a memory:// URL) the in-process backend. */
export function docketContender(options: DocketContenderOptions): Contender {
  const { url } = options;
  const tuning = options.tuning ?? DEFAULT_DOCKET_TUNING;
  const usesRedis = !url.startsWith("memory://");
  return {
    name: options.name ?? "docket",
    runtime: "Bun" in globalThis ? "Bun" : "Deno",
    usesRedis,
    enqueueSerial: (tasks) => enqueueSerial(url, tasks),
    roundTrip: usesRedis ? (calls) => roundTrip(url, calls) : undefined,
    enqueueInFlight: (tasks, inFlight) => enqueueInFlight(url, tasks, inFlight),
    drain: (spec) => drain(url, spec, tuning),
    latency: (spec) => latency(url, spec, tuning),
    dueAtOnce: (spec, filled) => dueAtOnce(url, spec, tuning, filled),
    drainAfter: (spec, filled) => drain(url, spec, tuning, filled),
    futureBacklog: (spec, probe) => futureBacklog(url, spec, probe, tuning),
    trackedBytes: (spec, probe) => trackedBytes(url, spec, probe, tuning),
    idleCommands: (ms, probe) => idleCommands(url, ms, probe, tuning),
  };
}

/** Connects once to `url` and closes again: whether this backend exists at all. */
export async function probe(url: string): Promise<void> {
  const docket = await Docket.connect({ name: freshName("probe"), url, logger: silentLogger });
  await docket.close();
}

/**
 * Runs `worker` forever until `tracker` has seen every task (a backlog scheduled an hour ahead
 * would keep `runUntilFinished` waiting), returning ms from the start; stops it afterwards.
 */
async function runUntilSeen(worker: Worker, tracker: DeliveryTracker): Promise<number> {
  const start = performance.now();
  const running = worker.runForever();
  running.catch(() => {}); // surfaced below through the tracker's timeout
  try {
    await withTimeout(
      Promise.race([tracker.allSeen, running.then(() => failEarly("runForever"))]),
      MEASUREMENT_TIMEOUT_MS,
      "drain with a backlog",
    );
    const elapsed = performance.now() - start;
    tracker.verifyExactlyOnce();
    return elapsed;
  } finally {
    await closeQuietly("docket worker", () => worker.stop());
    await closeQuietly("docket worker run", () => running);
  }
}

function futureBacklog(
  url: string,
  spec: BacklogSpec,
  probe: ServerProbe,
  tuning: DocketTuning,
): Promise<BacklogResult> {
  return withSession(url, "backlog", true, async (session) => {
    await warmUp(session);
    const before = await probe.usedMemory();
    // Warm-up adds are 0…199, the timed ones follow; the backlog's indices come after both, so
    // the tracker would catch a future task run early.
    const drained = WARM_UP_ADDS + spec.tasks;
    await fill(session, spec.backlog, Date.now() + HOUR_MS, (i) => benchPayload(drained + i));
    const backlogBytes = await probe.usedMemory() - before;
    const add = session.docket.add(session.noop);
    const addStart = performance.now();
    await runInFlight(spec.tasks, spec.inFlight, (i) => add(benchPayload(WARM_UP_ADDS + i)));
    const addMs = performance.now() - addStart;
    const tracker = new DeliveryTracker(drained);
    session.onRun(({ i }) => tracker.record(i));
    const drainMs = await runUntilSeen(workerFor(session, spec.concurrency, tuning), tracker);
    return { backlogBytes, addMs, drainMs, drained };
  });
}

function trackedBytes(
  url: string,
  spec: TrackedBytesSpec,
  probe: ServerProbe,
  tuning: DocketTuning,
): Promise<TrackedBytesResult> {
  return withSession(url, "tracked-bytes", true, async (session) => {
    const before = await probe.usedMemory();
    // The no-op task ignores its payload's shape; only `i` is read.
    const payload = (i: number) => paddedPayload(i, spec.payloadBytes) as unknown as BenchPayload;
    await fill(session, spec.tasks, undefined, payload);
    const queuedBytes = await probe.usedMemory() - before;
    const tracker = new DeliveryTracker(spec.tasks);
    session.onRun(({ i }) => tracker.record(i));
    const worker = workerFor(session, spec.concurrency, tuning);
    await finishedAt(worker, MEASUREMENT_TIMEOUT_MS, () => 0);
    tracker.verifyExactlyOnce();
    return { queuedBytes, doneBytes: await probe.usedMemory() - before };
  });
}

function idleCommands(
  url: string,
  ms: number,
  probe: ServerProbe,
  tuning: DocketTuning,
): Promise<number> {
  return withSession(url, "idle", true, async (session) => {
    const worker = workerFor(session, 10, tuning);
    const running = worker.runForever();
    running.catch(() => {});
    try {
      await sleep(WORKER_SETTLE_MS);
      await probe.resetCounters();
      await sleep(ms);
      return (await probe.countersSinceReset()).commandCalls;
    } finally {
      await closeQuietly("docket worker", () => worker.stop());
      await closeQuietly("docket worker run", () => running);
    }
  });
}

/**
 * A docket filled with `tasks` immediate no-op tasks for worker processes to drain; `close` ends
 * the filling connection once they are done.
 */
export async function openFilledBacklog(
  url: string,
  tasks: number,
  keepState: boolean,
): Promise<{ name: string; close(): Promise<void> }> {
  const session = await openSession(url, "processes", keepState);
  try {
    await fill(session, tasks);
  } catch (error) {
    await closeQuietly("docket", () => session.docket.close());
    throw error;
  }
  return {
    name: session.docket.name,
    close: () => closeQuietly("docket", () => session.docket.close()),
  };
}

/** One worker process's side (worker_child.ts): joins the named docket, not started yet. */
export async function prepareWorkerProcess(args: WorkerProcessArgs): Promise<PreparedWorker> {
  if (args.warmUpTasks > 0) {
    const { concurrency, keepState } = args;
    await drain(args.url, { tasks: args.warmUpTasks, concurrency, keepState }, args.tuning);
  }
  const session = await openSession(args.url, { name: args.name }, args.keepState);
  session.onRun(({ i }) => args.record(i));
  const worker = workerFor(session, args.concurrency, args.tuning);
  return {
    run: () => withTimeout(worker.runUntilFinished(), MEASUREMENT_TIMEOUT_MS, "worker process"),
    async close() {
      await closeQuietly("docket worker", () => worker.stop());
      await closeQuietly("docket", () => session.docket.close());
    },
  };
}
