/**
 * Multi-process drains: the parent has pre-filled one backlog; this starts `processes` worker
 * processes (worker_child.ts) on it, waits until every one is connected and ready, tells them all
 * to start at once, and collects when each finished, its CPU time and the tasks it ran.
 *
 * Deno-only (the orchestrator's side). Set BENCH_CPU_PROF_DIR to make every worker process write
 * a CPU profile there (`deno run --cpu-prof`, `bun --cpu-prof run`), see bench/PROFILE.md.
 */
import { lines, tracked } from "./children.ts";
import {
  type Checkpoint,
  DeliveryTracker,
  MEASUREMENT_TIMEOUT_MS,
  type ProcessDrainResult,
  type ProcessDrainSpec,
  withTimeout,
} from "./contender.ts";
import type { DocketTuning } from "./docket_tuning.ts";

const CHILD_SCRIPT = "bench/compare/worker_child.ts";
/** Start-up and the warm-up drain. */
const READY_TIMEOUT_MS = 120_000;
/** How long a child that has reported may take to close its connections and exit. */
const EXIT_GRACE_MS = 15_000;
const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

export type WorkerRuntime = "Deno" | "Bun";

export interface ProcessDrainTarget {
  runtime: WorkerRuntime;
  library: "docket" | "bullmq";
  url: string;
  /** The queue or docket name the backlog was filled under. */
  name: string;
  tuning: DocketTuning;
}

function commandFor(runtime: WorkerRuntime): { command: string; args: string[] } {
  const profileDir = Deno.env.get("BENCH_CPU_PROF_DIR");
  if (runtime === "Bun") {
    const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    return { command: "bun", args: [...profile, "run", CHILD_SCRIPT] };
  }
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--lock=bench/compare/deno.lock",
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      CHILD_SCRIPT,
    ],
  };
}

interface ChildReport {
  ready?: boolean;
  error?: string;
  finishedAt?: number;
  cpuMicros?: number;
  voluntarySwitches?: number;
  involuntarySwitches?: number;
  seen?: number[];
}

/** One child and the JSON lines it prints, in order. */
class WorkerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ChildReport[] = [];
  #waiting?: () => void;
  #ended = false;
  #stderr = "";

  constructor(target: ProcessDrainTarget, spec: ProcessDrainSpec) {
    const { command, args } = commandFor(target.runtime);
    this.#child = new Deno.Command(command, {
      args: [
        ...args,
        "--library",
        target.library,
        "--url",
        target.url,
        "--name",
        target.name,
        "--concurrency",
        String(spec.concurrency),
        "--warm-up",
        String(spec.warmUpTasks),
        "--check-interval",
        String(target.tuning.minimumCheckInterval),
        "--scheduling-resolution",
        String(target.tuning.schedulingResolution),
        ...(spec.keepState ? ["--keep-state"] : []),
      ],
      cwd: REPO_ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    tracked(this.#child);
    this.#readStdout();
    this.#readStderr();
  }

  async #readStdout(): Promise<void> {
    try {
      for await (const raw of lines(this.#child.stdout)) {
        const line = raw.trim();
        if (!line.startsWith("{")) continue; // a library's own output
        try {
          this.#lines.push(JSON.parse(line));
        } catch { /* not ours */ }
        this.#waiting?.();
      }
    } finally {
      this.#ended = true;
      this.#waiting?.();
    }
  }

  async #readStderr(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderr = (this.#stderr + chunk).slice(-2_000);
    }
  }

  /** The next JSON line, or an error once the child has ended without one. */
  async next(): Promise<ChildReport> {
    while (this.#lines.length === 0) {
      if (this.#ended) {
        const tail = this.#stderr.trim().split("\n").at(-1) || "(empty)";
        throw new Error(`worker process ended early; stderr: ${tail}`);
      }
      await new Promise<void>((resolve) => (this.#waiting = resolve));
      this.#waiting = undefined;
    }
    const report = this.#lines.shift()!;
    if (report.error) throw new Error(`worker process failed: ${report.error}`);
    return report;
  }

  async go(): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  }

  /** A finished child exits by itself (and writes its CPU profile); others are killed. */
  async stop(graceMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* exited just now */ }
    await this.#child.status;
  }
}

/**
 * Runs the drain: every process connected and set up before the clock starts (process start-up
 * is not measured), `filled` called right before the start signal; the clock stops when the last
 * process reports it has no more work. Every task must have run exactly once across processes.
 */
export async function drainWithProcesses(
  target: ProcessDrainTarget,
  spec: ProcessDrainSpec,
  filled: Checkpoint,
): Promise<ProcessDrainResult> {
  const children = Array.from(
    { length: spec.processes },
    () => new WorkerProcess(target, spec),
  );
  let graceMs = 0;
  try {
    await withTimeout(
      Promise.all(children.map((c) => c.next())),
      READY_TIMEOUT_MS,
      "worker processes starting",
    );
    await filled();
    const start = performance.timeOrigin + performance.now();
    await Promise.all(children.map((c) => c.go()));
    const reports = await withTimeout(
      Promise.all(children.map((c) => c.next())),
      MEASUREMENT_TIMEOUT_MS,
      "multi-process drain",
    );
    const tracker = new DeliveryTracker(spec.tasks);
    for (const report of reports) for (const index of report.seen ?? []) tracker.record(index);
    graceMs = EXIT_GRACE_MS;
    tracker.verifyExactlyOnce();
    const sum = (field: keyof ChildReport) =>
      reports.reduce((total, r) => total + Number(r[field] ?? 0), 0);
    return {
      ms: Math.max(...reports.map((r) => r.finishedAt ?? NaN)) - start,
      cpuMicros: sum("cpuMicros"),
      voluntarySwitches: sum("voluntarySwitches"),
      involuntarySwitches: sum("involuntarySwitches"),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(graceMs)));
  }
}

/** A pre-filled backlog: its queue or docket name, and how to close the filling connection. */
export type OpenBacklog = (
  tasks: number,
  keepState: boolean,
) => Promise<{ name: string; close(): Promise<void> }>;

/** A contender's `processDrain`: fill with `open` in this process, drain with child processes. */
export function processDrainer(
  target: Omit<ProcessDrainTarget, "name">,
  open: OpenBacklog,
): (spec: ProcessDrainSpec, filled: Checkpoint) => Promise<ProcessDrainResult> {
  return async (spec, filled) => {
    const backlog = await open(spec.tasks, spec.keepState);
    try {
      return await drainWithProcesses({ ...target, name: backlog.name }, spec, filled);
    } finally {
      await backlog.close();
    }
  };
}
