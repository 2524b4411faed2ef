/**
 * One worker process of a multi-process drain (processes.ts starts 1, 2 or 4 of them on one
 * pre-filled backlog): `deno run … bench/compare/worker_child.ts --library docket|bullmq
 * --url redis://… --name QUEUE --concurrency 50 [--keep-state] [--warm-up 10000]
 * [--check-interval 100] [--scheduling-resolution 250]`, or `bun run …` for docket under Bun.
 *
 * Protocol on stdout, one JSON line each: `{"ready":true}` once connected and set up, then, after
 * the parent writes a line to stdin ("go"), `{"finishedAt":…,"cpuMicros":…,…,"seen":[…]}` when
 * this worker has no more work, or `{"error":"…"}`. Uses node:process so that it runs under Deno
 * and Bun alike.
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import type { PreparedWorker, WorkerProcessArgs } from "./contender.ts";
import { DEFAULT_DOCKET_TUNING } from "./docket_tuning.ts";

function valueAfter(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function numberAfter(args: string[], flag: string, fallback: number): number {
  const raw = valueAfter(args, flag);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag}: bad number ${raw}`);
  return value;
}

/** Voluntary and involuntary context switches of this process so far (Linux; else zero). */
function contextSwitches(): { voluntary: number; involuntary: number } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const field = (name: string) =>
      Number(status.match(new RegExp(`^${name}:\\s*(\\d+)`, "m"))?.[1]);
    return {
      voluntary: field("voluntary_ctxt_switches") || 0,
      involuntary: field("nonvoluntary_ctxt_switches") || 0,
    };
  } catch {
    return { voluntary: 0, involuntary: 0 };
  }
}

function firstLineOfStdin(): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: unknown) => {
      if (String(chunk).includes("\n")) {
        process.stdin.off("data", onData);
        process.stdin.pause();
        resolve();
      }
    };
    process.stdin.on("data", onData);
    process.stdin.once("end", () => reject(new Error("stdin closed before go")));
    process.stdin.once("error", reject);
  });
}

async function prepare(library: string, args: WorkerProcessArgs): Promise<PreparedWorker> {
  if (library === "docket") return (await import("./docket.ts")).prepareWorkerProcess(args);
  if (library === "bullmq") return (await import("./bullmq.ts")).prepareWorkerProcess(args);
  throw new Error(`--library must be docket or bullmq, got ${library}`);
}

async function main(): Promise<number> {
  let prepared: PreparedWorker | undefined;
  try {
    const argv = process.argv.slice(2);
    const url = valueAfter(argv, "--url");
    const name = valueAfter(argv, "--name");
    if (!url || !name) throw new Error("--url and --name are required");
    const seen: number[] = [];
    prepared = await prepare(valueAfter(argv, "--library") ?? "", {
      url,
      name,
      concurrency: numberAfter(argv, "--concurrency", 50),
      keepState: argv.includes("--keep-state"),
      warmUpTasks: numberAfter(argv, "--warm-up", 0),
      tuning: {
        minimumCheckInterval: numberAfter(
          argv,
          "--check-interval",
          DEFAULT_DOCKET_TUNING.minimumCheckInterval,
        ),
        schedulingResolution: numberAfter(
          argv,
          "--scheduling-resolution",
          DEFAULT_DOCKET_TUNING.schedulingResolution,
        ),
      },
      record: (index) => seen.push(index),
    });
    const go = firstLineOfStdin();
    console.log(JSON.stringify({ ready: true }));
    await go;
    const cpuBefore = process.cpuUsage();
    const switchesBefore = contextSwitches();
    await prepared.run();
    const finishedAt = performance.timeOrigin + performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const switchesAfter = contextSwitches();
    console.log(JSON.stringify({
      finishedAt,
      cpuMicros: cpu.user + cpu.system,
      voluntarySwitches: switchesAfter.voluntary - switchesBefore.voluntary,
      involuntarySwitches: switchesAfter.involuntary - switchesBefore.involuntary,
      seen,
    }));
    return 0;
  } catch (error) {
    console.log(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    return 1;
  } finally {
    await prepared?.close().catch(() => {});
  }
}

// Exit explicitly: a connection a library failed to close must not keep the child alive.
process.exit(await main());
