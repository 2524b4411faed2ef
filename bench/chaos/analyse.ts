/**
 * Counting a chaos run: which keys never ran (lost), which ran more than once (duplicated), and
 * for every extra run, why its end was never recorded, from what the run knows: which worker ran
 * it and what was done to that worker (SIGKILL, SIGTERM), what that worker logged, and when
 * Redis was down.
 */

import type { WorkerRecord } from "./fleet.ts";
import type { Restart } from "./redis.ts";

/** One completed body of the chaos task, as it recorded itself. */
export interface RunRecord {
  key: string;
  worker: string;
  at: number;
  attempt: number;
}

/** Parses the fields and values of the runs hash. */
export function parseRuns(flat: string[]): RunRecord[] {
  const runs: RunRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i];
    const cut = field.lastIndexOf("|");
    const workerCut = field.lastIndexOf("|", cut - 1);
    const [at, attempt] = flat[i + 1].split("|").map(Number);
    runs.push({
      key: field.slice(0, workerCut),
      worker: field.slice(workerCut + 1, cut),
      at,
      attempt,
    });
  }
  return runs;
}

/** Keys whose end a worker logged it could not record, by worker name. */
export async function endFailuresByWorker(
  workers: WorkerRecord[],
): Promise<Map<string, Set<string>>> {
  const failures = new Map<string, Set<string>>();
  for (const worker of workers) {
    let text = "";
    try {
      text = await Deno.readTextFile(worker.logFile);
    } catch {
      continue;
    }
    const keys = new Set<string>();
    for (const line of text.split("\n")) {
      if (!line.includes("recording a task's end failed")) continue;
      try {
        const record = JSON.parse(line);
        if (typeof record.key === "string") keys.add(record.key);
      } catch {
        // not a JSON line
      }
    }
    failures.set(worker.name, keys);
  }
  return failures;
}

/** The cause given to an extra run: why the run before it was never recorded as ended. */
export type Cause =
  | "worker SIGKILLed after running it, before its end was recorded"
  | "worker stopped by SIGTERM after running it, before its end was recorded"
  | "worker logged that recording the end failed (Redis unreachable), lease lapsed"
  | "Redis restarted between the run and the rerun, end not recorded"
  | "unexplained";

/** What a chaos run came to. */
export interface ChaosReport {
  expected: number;
  ranOnce: number;
  lost: number;
  lostKeys: string[];
  duplicatedKeys: number;
  extraRuns: number;
  causes: Record<string, number>;
  notCompleted: number;
  notCompletedStates: Record<string, number>;
  examples: Record<string, string[]>;
}

/** Counts lost and duplicated runs and attributes every extra run to a cause. */
export function analyse(
  expectedKeys: string[],
  runs: RunRecord[],
  states: Map<string, string | null>,
  workers: WorkerRecord[],
  restarts: Restart[],
  endFailures: Map<string, Set<string>>,
): ChaosReport {
  const byKey = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const list = byKey.get(run.key) ?? [];
    list.push(run);
    byKey.set(run.key, list);
  }
  const byName = new Map(workers.map((w) => [w.name, w]));
  const causes: Record<string, number> = {};
  const examples: Record<string, string[]> = {};
  const lostKeys: string[] = [];
  let ranOnce = 0;
  let duplicatedKeys = 0;
  let extraRuns = 0;
  for (const key of expectedKeys) {
    const list = byKey.get(key);
    if (!list || list.length === 0) {
      lostKeys.push(key);
      continue;
    }
    if (list.length === 1) {
      ranOnce++;
      continue;
    }
    duplicatedKeys++;
    list.sort((a, b) => a.at - b.at);
    for (let i = 0; i + 1 < list.length; i++) {
      extraRuns++;
      const cause = causeOf(list[i], list[i + 1], byName, restarts, endFailures);
      causes[cause] = (causes[cause] ?? 0) + 1;
      const shown = (examples[cause] ??= []);
      if (shown.length < 5) {
        shown.push(`${key}: ${list.map((r) => `${r.worker}@${r.at} (attempt ${r.attempt})`)}`);
      }
    }
  }
  const notCompletedStates: Record<string, number> = {};
  let notCompleted = 0;
  for (const key of expectedKeys) {
    const state = states.get(key) ?? "no record";
    if (state === "completed") continue;
    notCompleted++;
    notCompletedStates[state] = (notCompletedStates[state] ?? 0) + 1;
  }
  return {
    expected: expectedKeys.length,
    ranOnce,
    lost: lostKeys.length,
    lostKeys: lostKeys.slice(0, 20),
    duplicatedKeys,
    extraRuns,
    causes,
    notCompleted,
    notCompletedStates,
    examples,
  };
}

function causeOf(
  run: RunRecord,
  rerun: RunRecord,
  workers: Map<string, WorkerRecord>,
  restarts: Restart[],
  endFailures: Map<string, Set<string>>,
): Cause {
  const worker = workers.get(run.worker);
  const signalledAt = worker?.signalledAt;
  if (worker && signalledAt !== undefined && signalledAt >= run.at && signalledAt <= rerun.at) {
    if (worker.signal === "SIGKILL" || worker.escalatedAt !== undefined) {
      return "worker SIGKILLed after running it, before its end was recorded";
    }
    return "worker stopped by SIGTERM after running it, before its end was recorded";
  }
  if (endFailures.get(run.worker)?.has(run.key)) {
    return "worker logged that recording the end failed (Redis unreachable), lease lapsed";
  }
  if (restarts.some((r) => r.upAt >= run.at && r.downAt <= rerun.at)) {
    return "Redis restarted between the run and the rerun, end not recorded";
  }
  return "unexplained";
}
