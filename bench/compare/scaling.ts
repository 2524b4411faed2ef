/**
 * The scaling scenarios (the report's "Scaling" section, sections 7–11): how each library's
 * cost grows with a future backlog, with the payload, with many tasks due at once, with more
 * worker processes, and what an idle worker costs.
 */
import { type Contender, WARM_UP_ADDS } from "./contender.ts";
import type { Metric, Scenario } from "./scenarios.ts";

/** Sections from this number on go to the Scaling table. */
export const FIRST_SCALING_SECTION = 7;

export interface ScalingWorkload {
  /** Future backlogs (scheduled an hour ahead), by scenario id. */
  backlogs: { id: string; tasks: number; repetitions?: number }[];
  /** Immediate tasks added (and then drained) while a backlog is present. */
  backlogTasks: number;
  backlogInFlight: number;
  backlogConcurrency: number;
  trackedTasks: number;
  trackedPayloadBytes: number;
  trackedConcurrency: number;
  /** Tasks due at the same instant, by scenario id. */
  due: { id: string; tasks: number; repetitions?: number }[];
  dueConcurrency: number;
  processTasks: number;
  processCounts: number[];
  processConcurrency: number;
  /** Per process, before the clock: see ProcessDrainSpec.warmUpTasks. */
  processWarmUpTasks: number;
  idleMs: number;
  idleRepetitions: number;
}

export const FULL_SCALING_WORKLOAD: ScalingWorkload = {
  backlogs: [
    { id: "backlog-0", tasks: 0 },
    { id: "backlog-10k", tasks: 10_000 },
    { id: "backlog-100k", tasks: 100_000, repetitions: 1 },
    { id: "backlog-1m", tasks: 1_000_000, repetitions: 1 },
  ],
  backlogTasks: 20_000,
  backlogInFlight: 1_000,
  backlogConcurrency: 100,
  trackedTasks: 10_000,
  trackedPayloadBytes: 1_024,
  trackedConcurrency: 100,
  due: [
    { id: "due-at-once", tasks: 10_000 },
    { id: "due-at-once-100k", tasks: 100_000, repetitions: 1 },
  ],
  dueConcurrency: 100,
  processTasks: 20_000,
  processCounts: [1, 2, 4],
  processConcurrency: 50,
  // Bun's JIT is still compiling the worker path after 2,000 tasks (see bench/PROFILE.md, "Bun").
  processWarmUpTasks: 10_000,
  idleMs: 10_000,
  // The window is the run: one is enough for a count that varies little.
  idleRepetitions: 1,
};

export function scaledScalingWorkload(scale: number): ScalingWorkload {
  const tasks = (n: number) => (n === 0 ? 0 : Math.max(10, Math.round(n * scale)));
  const w = FULL_SCALING_WORKLOAD;
  return {
    ...w,
    backlogs: w.backlogs.map((b) => ({ ...b, tasks: tasks(b.tasks) })),
    backlogTasks: tasks(w.backlogTasks),
    trackedTasks: tasks(w.trackedTasks),
    due: w.due.map((d) => ({ ...d, tasks: tasks(d.tasks) })),
    processTasks: tasks(w.processTasks),
    processWarmUpTasks: tasks(w.processWarmUpTasks),
    idleMs: Math.max(1_000, Math.round(w.idleMs * Math.min(1, scale))),
  };
}

/**
 * How far ahead the due instant lies: room for the slower pre-fill (BullMQ adds about 20k
 * delayed jobs a second here) on a busy machine, and never under 2 s.
 */
export function dueLeadMs(tasks: number): number {
  return Math.max(2_000, Math.ceil(tasks * 0.12));
}

const count = (n: number) => n.toLocaleString("en-US");
const perSecond = (tasks: number, ms: number) => tasks / (ms / 1_000);
const onDeno = (c: Contender) => c.runtime === "Deno";
const redisOnDeno = (c: Contender) => c.usesRedis && c.runtime === "Deno";

function backlog(w: ScalingWorkload, id: string, tasks: number, repetitions?: number): Scenario {
  const what = `future backlog ${count(tasks)}`;
  const metrics: Record<string, Metric> = {
    addRate: {
      section: 7,
      label: `${what}: enqueue ${count(w.backlogTasks)} immediate, ` +
        `${count(w.backlogInFlight)} in flight`,
      unit: "adds/s",
      better: "higher",
    },
    drainRate: {
      section: 7,
      label: `${what}: drain those (and ${WARM_UP_ADDS} warm-up adds), concurrency ` +
        w.backlogConcurrency,
      unit: "tasks/s",
      better: "higher",
    },
  };
  if (tasks > 0) {
    metrics.bytes = {
      section: 7,
      label: `${what}: memory per future task (used_memory delta / count)`,
      unit: "bytes/task",
      better: "lower",
    };
  }
  return {
    id,
    metrics,
    repetitions,
    supports: (c) => c.futureBacklog !== undefined,
    async measure(c, { admin }) {
      const result = await c.futureBacklog!({
        backlog: tasks,
        tasks: w.backlogTasks,
        inFlight: w.backlogInFlight,
        concurrency: w.backlogConcurrency,
      }, admin.probe());
      return {
        addRate: perSecond(w.backlogTasks, result.addMs),
        drainRate: perSecond(result.drained, result.drainMs),
        ...(tasks > 0 ? { bytes: result.backlogBytes / tasks } : {}),
      };
    },
  };
}

function trackedBytes(w: ScalingWorkload): Scenario {
  const what = `memory per tracked task, ${count(w.trackedPayloadBytes)} B payload ` +
    `(${count(w.trackedTasks)} tasks, state kept)`;
  return {
    id: "tracked-bytes",
    metrics: {
      queued: {
        section: 8,
        label: `${what}: added, not yet run`,
        unit: "bytes/task",
        better: "lower",
      },
      done: { section: 8, label: `${what}: after completion`, unit: "bytes/task", better: "lower" },
    },
    supports: (c) => c.trackedBytes !== undefined,
    async measure(c, { admin }) {
      const result = await c.trackedBytes!({
        tasks: w.trackedTasks,
        payloadBytes: w.trackedPayloadBytes,
        concurrency: w.trackedConcurrency,
      }, admin.probe());
      return {
        queued: result.queuedBytes / w.trackedTasks,
        done: result.doneBytes / w.trackedTasks,
      };
    },
  };
}

/**
 * Tasks due at one instant: the time from the due instant to all done, and the Redis commands
 * per due task (CONFIG RESETSTAT once the pre-fill is in, before the due instant). The same
 * tasks then run again added as immediate ones; the difference is what moving them costs.
 */
function dueAtOnce(w: ScalingWorkload, id: string, tasks: number, repetitions?: number): Scenario {
  const leadMs = dueLeadMs(tasks);
  const what = `${count(tasks)} tasks due at once (${leadMs / 1_000} s ahead), concurrency ` +
    w.dueConcurrency;
  const metrics: Record<string, Metric> = {
    ms: { section: 9, label: `${what}: due time → all done`, unit: "ms", better: "lower" },
    commands: {
      section: 9,
      label: `${what}: Redis commands per due task`,
      unit: "calls/task",
      better: "lower",
      appliesTo: redisOnDeno,
    },
    immediateCommands: {
      section: 9,
      label: `${what}: Redis commands per task, same tasks added immediate`,
      unit: "calls/task",
      better: "lower",
      appliesTo: redisOnDeno,
    },
    moveCommands: {
      section: 9,
      label: `${what}: Redis commands per task for the move alone (difference)`,
      unit: "calls/task",
      better: "lower",
      appliesTo: redisOnDeno,
    },
  };
  // The 10k run also feeds the main table's section 5, as it always has.
  if (id === "due-at-once") {
    metrics.mainMs = { ...metrics.ms, section: 5 };
  }
  return {
    id,
    metrics,
    repetitions,
    supports: (c) => c.dueAtOnce !== undefined,
    async measure(c, { admin }): Promise<Record<string, number>> {
      const spec = { tasks, leadMs, concurrency: w.dueConcurrency };
      if (!redisOnDeno(c) || !c.drainAfter) {
        const ms = await c.dueAtOnce!(spec);
        return { ms, mainMs: ms };
      }
      const probe = admin.probe();
      const ms = await c.dueAtOnce!(spec, probe.resetCounters);
      const due = (await probe.countersSinceReset()).commandCalls / tasks;
      await admin.flushAll();
      await c.drainAfter(
        { tasks, concurrency: w.dueConcurrency, keepState: true },
        probe.resetCounters,
      );
      const immediate = (await probe.countersSinceReset()).commandCalls / tasks;
      return {
        ms,
        mainMs: ms,
        commands: due,
        immediateCommands: immediate,
        moveCommands: due - immediate,
      };
    },
  };
}

function processes(w: ScalingWorkload, processCount: number, keepState: boolean): Scenario {
  const state = keepState ? "state kept 15 min" : "fire-and-forget";
  const what = `${processCount} worker process${processCount > 1 ? "es" : ""} × concurrency ` +
    `${w.processConcurrency}, ${count(w.processTasks)} pre-filled tasks, ${state}`;
  return {
    id: `processes-${processCount}-${keepState ? "kept" : "ff"}`,
    metrics: {
      rate: { section: 10, label: `${what}: total throughput`, unit: "tasks/s", better: "higher" },
      cpu: {
        section: 10,
        label: `${what}: worker CPU per task (summed over processes)`,
        unit: "µs/task",
        better: "lower",
      },
      redisCpu: {
        section: 10,
        label: `${what}: Redis CPU per task`,
        unit: "µs/task",
        better: "lower",
        appliesTo: redisOnDeno,
      },
    },
    supports: (c) => c.processDrain !== undefined,
    async measure(c, { admin }) {
      const probe = admin.probe();
      const result = await c.processDrain!({
        tasks: w.processTasks,
        concurrency: w.processConcurrency,
        keepState,
        processes: processCount,
        warmUpTasks: w.processWarmUpTasks,
      }, probe.resetCounters);
      const server = await probe.countersSinceReset();
      const breakdown = await admin.commandBreakdown();
      const top = Object.entries(breakdown).sort((a, b) => b[1] - a[1]).slice(0, 10)
        .map(([name, calls]) => `${name}=${(calls / w.processTasks).toFixed(3)}`).join(" ");
      console.error(`  ${c.name}: Redis calls per task: ${top}`);
      return {
        rate: perSecond(w.processTasks, result.ms),
        cpu: result.cpuMicros / w.processTasks,
        redisCpu: (server.cpuSeconds * 1e6) / w.processTasks,
        commandsPerTask: server.commandCalls / w.processTasks,
        switchesPerTask: (result.voluntarySwitches + result.involuntarySwitches) / w.processTasks,
        involuntaryPerTask: result.involuntarySwitches / w.processTasks,
      };
    },
  };
}

function idleWorker(w: ScalingWorkload): Scenario {
  return {
    id: "idle-worker",
    repetitions: w.idleRepetitions,
    metrics: {
      perHour: {
        section: 11,
        label: `one idle worker, empty queue: Redis commands (over ${w.idleMs / 1_000} s, ` +
          "scaled to an hour)",
        unit: "calls/hour",
        better: "lower",
      },
    },
    supports: (c) => c.idleCommands !== undefined && onDeno(c) && c.usesRedis,
    async measure(c, { admin }) {
      const calls = await c.idleCommands!(w.idleMs, admin.probe());
      return { perHour: (calls * 3_600_000) / w.idleMs };
    },
  };
}

/** The scaling scenarios, in the order they run. */
export function scalingScenarios(w: ScalingWorkload): Scenario[] {
  return [
    ...w.backlogs.map((b) => backlog(w, b.id, b.tasks, b.repetitions)),
    trackedBytes(w),
    ...w.due.map((d) => dueAtOnce(w, d.id, d.tasks, d.repetitions)),
    ...[false, true].flatMap((keepState) => w.processCounts.map((n) => processes(w, n, keepState))),
    idleWorker(w),
  ];
}
