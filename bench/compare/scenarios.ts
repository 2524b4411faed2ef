/**
 * The scenarios of the comparison, each turning one contender run into named numbers, and the
 * metrics (table rows) those numbers feed.
 */
import type { Contender } from "./contender.ts";
import { percentile } from "./stats.ts";
import type { RedisAdmin } from "./redis_server.ts";
import { scaledScalingWorkload, scalingScenarios } from "./scaling.ts";

export type Better = "higher" | "lower";

export interface Metric {
  /** Section number: 1–6 the main table, from 7 on the Scaling table (scaling.ts). */
  section: number;
  label: string;
  unit: string;
  better: Better;
  /** Contenders this metric is reported for (all that run the scenario when absent). */
  appliesTo?: (contender: Contender) => boolean;
  /**
   * Measures the contenders' Redis client libraries, not the queues: shown for what it bounds,
   * left out of "every row at or above BullMQ".
   */
  clientOnly?: boolean;
}

export interface MeasureContext {
  admin: RedisAdmin;
}

export interface Scenario {
  id: string;
  metrics: Record<string, Metric>;
  /** At most this many repetitions (rows too long to repeat three times); the settings say so. */
  repetitions?: number;
  supports(contender: Contender): boolean;
  /** One run; returns a value for each metric that applies to this contender. */
  measure(contender: Contender, context: MeasureContext): Promise<Record<string, number>>;
}

/** Task counts and rates; `scale` shrinks them all for a quick smoke run. */
export interface Workload {
  enqueueSerialTasks: number;
  enqueueInFlightTasks: number;
  inFlight: number;
  drainTasks: number;
  /** Concurrency 1 drains fewer tasks, or its runs alone would take minutes. */
  drainTasksAtConcurrency1: number;
  latencyTasks: number;
  latencyAddsPerSecond: number;
  latencyConcurrency: number;
  /** What the task counts were multiplied by (the scaling scenarios scale theirs by it too). */
  scale: number;
}

export const FULL_WORKLOAD: Workload = {
  enqueueSerialTasks: 5_000,
  enqueueInFlightTasks: 20_000,
  inFlight: 1_000,
  drainTasks: 20_000,
  drainTasksAtConcurrency1: 2_000,
  latencyTasks: 1_000,
  latencyAddsPerSecond: 200,
  latencyConcurrency: 10,
  scale: 1,
};

export function scaledWorkload(scale: number): Workload {
  const tasks = (n: number) => Math.max(10, Math.round(n * scale));
  return {
    ...FULL_WORKLOAD,
    enqueueSerialTasks: tasks(FULL_WORKLOAD.enqueueSerialTasks),
    enqueueInFlightTasks: tasks(FULL_WORKLOAD.enqueueInFlightTasks),
    drainTasks: tasks(FULL_WORKLOAD.drainTasks),
    drainTasksAtConcurrency1: tasks(FULL_WORKLOAD.drainTasksAtConcurrency1),
    latencyTasks: tasks(FULL_WORKLOAD.latencyTasks),
    scale,
  };
}

const count = (n: number) => n.toLocaleString("en-US");
const perSecond = (tasks: number, ms: number) => tasks / (ms / 1_000);

function enqueueSerial(w: Workload): Scenario {
  return {
    id: "enqueue-serial",
    metrics: {
      rate: {
        section: 1,
        label: `enqueue ${count(w.enqueueSerialTasks)}, one awaited add at a time`,
        unit: "adds/s",
        better: "higher",
      },
      // What an awaited add cannot beat: its round trip, with no work at either end.
      roundTrip: {
        section: 1,
        label: `${count(w.enqueueSerialTasks)} awaited PINGs, one at a time, through the ` +
          "library's Redis client (node-redis for docket, ioredis for BullMQ): the round trip " +
          "an awaited add makes",
        unit: "PINGs/s",
        better: "higher",
        appliesTo: (c) => c.roundTrip !== undefined,
        clientOnly: true,
      },
    },
    supports: (c) => c.enqueueSerial !== undefined,
    async measure(c): Promise<Record<string, number>> {
      const ms = await c.enqueueSerial!(w.enqueueSerialTasks);
      const rate = perSecond(w.enqueueSerialTasks, ms);
      if (!c.roundTrip) return { rate };
      const pingMs = await c.roundTrip(w.enqueueSerialTasks);
      return { rate, roundTrip: perSecond(w.enqueueSerialTasks, pingMs) };
    },
  };
}

function enqueueInFlight(w: Workload): Scenario {
  return {
    id: "enqueue-in-flight",
    metrics: {
      rate: {
        section: 2,
        label: `enqueue ${count(w.enqueueInFlightTasks)}, ${count(w.inFlight)} adds in flight`,
        unit: "adds/s",
        better: "higher",
      },
    },
    supports: (c) => c.enqueueInFlight !== undefined,
    async measure(c) {
      const ms = await c.enqueueInFlight!(w.enqueueInFlightTasks, w.inFlight);
      return { rate: perSecond(w.enqueueInFlightTasks, ms) };
    },
  };
}

/** Section 6 compares the two libraries on one runtime; Bun would only repeat docket's count. */
const isServerCounted = (c: Contender) => c.usesRedis && c.runtime === "Deno";

/**
 * A drain of pre-filled no-op tasks. The fire-and-forget drain at concurrency 100 also reads the
 * server's command and CPU counters around the whole run, pre-fill included (section 6).
 */
function drain(w: Workload, concurrency: number, keepState: boolean): Scenario {
  const tasks = concurrency === 1 ? w.drainTasksAtConcurrency1 : w.drainTasks;
  const state = keepState ? "state kept 15 min" : "fire-and-forget";
  const countsServer = concurrency === 100 && !keepState;
  const metrics: Record<string, Metric> = {
    rate: {
      section: 3,
      label: `drain ${count(tasks)} no-op tasks, concurrency ${concurrency}, ${state}`,
      unit: "tasks/s",
      better: "higher",
    },
  };
  if (countsServer) {
    const what = `fire-and-forget drain of ${count(tasks)} at concurrency ${concurrency}, ` +
      "bulk adds included";
    metrics.commands = {
      section: 6,
      label: `Redis commands per task, ${what}`,
      unit: "calls/task",
      better: "lower",
      appliesTo: isServerCounted,
    };
    metrics.cpu = {
      section: 6,
      label: `Redis CPU per task, ${what}`,
      unit: "µs/task",
      better: "lower",
      appliesTo: isServerCounted,
    };
  }
  return {
    id: `drain-c${concurrency}-${keepState ? "kept" : "ff"}`,
    metrics,
    supports: (c) => c.drain !== undefined,
    async measure(c, { admin }): Promise<Record<string, number>> {
      const spec = { tasks, concurrency, keepState };
      if (!(countsServer && isServerCounted(c))) {
        return { rate: perSecond(tasks, await c.drain!(spec)) };
      }
      const baseline = await admin.resetCounters();
      const ms = await c.drain!(spec);
      const used = await admin.countersSince(baseline);
      return {
        rate: perSecond(tasks, ms),
        commands: used.commandCalls / tasks,
        cpu: (used.cpuSeconds * 1e6) / tasks,
      };
    },
  };
}

function latency(w: Workload): Scenario {
  const what = `pickup latency, ${count(w.latencyTasks)} tasks added at ` +
    `${w.latencyAddsPerSecond}/s, concurrency ${w.latencyConcurrency}`;
  return {
    id: "latency",
    metrics: {
      p50: { section: 4, label: `${what}: p50`, unit: "ms", better: "lower" },
      p99: { section: 4, label: `${what}: p99`, unit: "ms", better: "lower" },
    },
    supports: (c) => c.latency !== undefined,
    async measure(c) {
      const samples = await c.latency!({
        tasks: w.latencyTasks,
        addsPerSecond: w.latencyAddsPerSecond,
        concurrency: w.latencyConcurrency,
      });
      return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
    },
  };
}

/** Every scenario, in the order they run; ids are what `--only` selects. */
export function allScenarios(w: Workload): Scenario[] {
  const drains = [false, true].flatMap((keepState) =>
    [1, 10, 100].map((concurrency) => drain(w, concurrency, keepState))
  );
  return [
    enqueueSerial(w),
    enqueueInFlight(w),
    ...drains,
    latency(w),
    ...scalingScenarios(scaledScalingWorkload(w.scale)),
  ];
}
