/**
 * What the dashboard's views show, read from the docket: counts per task and state, the last
 * hour's run counters, payloads with the task's argument logging honoured, and flow control.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { DocketSnapshot } from "../docket_snapshot.ts";
import type { Execution } from "../execution.ts";
import type { AdmissionControl } from "../hooks.ts";
import type { Payload } from "../types.ts";
import { minuteOf, type MinutePoint, toPoints } from "../stats/minute_stats.ts";
import { controlName } from "../worker/admission.ts";
import { formatValue } from "./html.ts";

/** The states the executions view lists (those the store indexes). */
export const LISTED_STATES = ["scheduled", "queued", "running", "held"] as const;
/** One of {@linkcode LISTED_STATES}. */
export type ListedState = typeof LISTED_STATES[number];

/** How many failed executions the overview counts at most, per task. */
const FAILED_COUNT_LIMIT = 1000;

/**
 * The state an execution is listed under: a scheduled task already due that no worker runs is
 * `held` (a concurrency limit parked it, or a rate limit or debounce holds it back).
 */
export function listedState(execution: Execution, now: number): ListedState {
  if (execution.state === "running") return "running";
  if (execution.state === "queued") return "queued";
  return execution.when.getTime() <= now ? "held" : "scheduled";
}

/** Counts per task, as `snapshot --stats` summarises them, plus failures. */
export interface TaskCounts {
  task: string;
  scheduled: number;
  queued: number;
  running: number;
  held: number;
  failed: number;
}

/** Every execution the snapshot lists, running first. */
export function allExecutions(snapshot: DocketSnapshot): Execution[] {
  return [...snapshot.running, ...snapshot.future];
}

/** Counts per task name, the busiest first. */
export async function countsByTask(
  snapshot: DocketSnapshot,
  docket: Docket,
): Promise<TaskCounts[]> {
  const now = snapshot.taken.getTime();
  const byTask = new Map<string, TaskCounts>();
  const entry = (task: string) => {
    let counts = byTask.get(task);
    if (!counts) {
      counts = { task, scheduled: 0, queued: 0, running: 0, held: 0, failed: 0 };
      byTask.set(task, counts);
    }
    return counts;
  };
  for (const execution of allExecutions(snapshot)) {
    entry(execution.taskName)[listedState(execution, now)]++;
  }
  const { items } = await docket.failed({ limit: FAILED_COUNT_LIMIT });
  for (const failed of items) entry(failed.task).failed++;
  const total = (c: TaskCounts) => c.scheduled + c.queued + c.running + c.held + c.failed;
  return [...byTask.values()].sort((a, b) => total(b) - total(a) || a.task.localeCompare(b.task));
}

/** The last hour of per-minute counters, oldest first (the current minute included). */
export async function lastHour(docket: Docket, now: number): Promise<MinutePoint[]> {
  const last = minuteOf(now);
  const minutes = Array.from({ length: 60 }, (_, i) => last - 59 + i);
  return toPoints(minutes[0], await docket.backend.readStats(minutes));
}

/** One payload field as shown: its value, its length, or `…` when the task does not log it. */
export interface ShownField {
  name: string;
  shown: string;
  hidden: boolean;
}

/**
 * A payload with the task's `logged` spec honoured: a field marked `true` shows its value, one
 * marked `"length"` its size, any other field `…`. Without a spec (the task is not registered
 * here) every field is hidden.
 */
export function redactPayload(docket: Docket, taskName: string, payload: Payload): ShownField[] {
  const logged = docket.tasks.get(taskName)?.logged;
  return Object.keys(payload ?? {}).map((name) => {
    const mode = logged && Object.hasOwn(logged, name) ? logged[name] : undefined;
    const value = payload[name];
    if (mode === true) return { name, shown: formatValue(value), hidden: false };
    if (mode === "length") {
      const size = typeof value === "string" || Array.isArray(value)
        ? value.length
        : value && typeof value === "object"
        ? Object.keys(value).length
        : undefined;
      return { name, shown: size === undefined ? "…" : `length ${size}`, hidden: false };
    }
    return { name, shown: "…", hidden: true };
  });
}

/** One flow-control limit with its use now. */
export interface FlowRow {
  task: string;
  kind: AdmissionControl["kind"];
  /** Where the control's data lives (`concurrency:customerId:1001`, …). */
  name: string;
  /** What the control allows, in words. */
  rule: string;
  /** Running executions holding a slot of it. */
  inUse: number;
  /** Executions due but held back by the task's controls. */
  waiting: number;
}

/**
 * Flow controls of the registered tasks, resolved for the executions waiting and running now:
 * concurrency slots in use and waiters per limit, and rate-limit and other windows.
 */
export function flowRows(docket: Docket, snapshot: DocketSnapshot): FlowRow[] {
  const now = snapshot.taken.getTime();
  const rows = new Map<string, FlowRow>();
  for (const execution of allExecutions(snapshot)) {
    const definition = docket.tasks.get(execution.taskName);
    const state = listedState(execution, now);
    for (const hook of definition?.hooks ?? []) {
      const control = hook.admission;
      if (!control) continue;
      let name: string;
      try {
        name = controlName(control, execution.taskName, execution.payload);
      } catch {
        continue;
      }
      const row = rows.get(name) ??
        {
          task: execution.taskName,
          kind: control.kind,
          name,
          rule: ruleOf(control),
          inUse: 0,
          waiting: 0,
        };
      if (state === "running") row.inUse++;
      if (state === "held") row.waiting++;
      rows.set(name, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function ruleOf(control: AdmissionControl): string {
  switch (control.kind) {
    case "concurrency":
      return `at most ${control.max} at once`;
    case "rate-limit":
      return `${control.limit} per ${control.per} ms${control.drop ? ", excess dropped" : ""}`;
    case "debounce":
      return `one run after ${control.settle} ms of quiet`;
    case "cooldown":
      return `repeats dropped for ${control.window} ms`;
  }
}

/** Every flow control of the registered tasks, for tasks with nothing waiting or running. */
export function declaredControls(docket: Docket): { task: string; rule: string; kind: string }[] {
  const seen = new Set<string>();
  const out: { task: string; rule: string; kind: string }[] = [];
  for (const [task, definition] of docket.tasks) {
    for (const hook of definition.hooks) {
      if (!hook.admission || seen.has(`${task}/${hook.kind}`)) continue;
      seen.add(`${task}/${hook.kind}`);
      const param = hook.admission.param ? ` per ${hook.admission.param}` : "";
      out.push({ task, kind: hook.admission.kind, rule: ruleOf(hook.admission) + param });
    }
  }
  return out;
}
