/**
 * One docket drain measurement in a process of its own, so that run.ts can measure docket under
 * Bun: `bun run bench/compare/docket_drain_child.ts --url redis://… --tasks 20000
 * --concurrency 10 [--keep-state] [--check-interval 100] [--scheduling-resolution 250]`.
 *
 * Prints one JSON line, `{"ms": …}` or `{"error": "…"}`; uses node:process so that it runs under
 * Deno and Bun alike.
 */
import process from "node:process";
import { createClient } from "redis";
import { drain } from "./docket.ts";
import { DEFAULT_DOCKET_TUNING, type DocketTuning, WARM_UP_DRAINS } from "./docket_tuning.ts";
import type { DrainSpec } from "./contender.ts";

interface ChildArgs {
  url: string;
  spec: DrainSpec;
  tuning: DocketTuning;
}

function valueAfter(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function positiveNumber(args: string[], flag: string, fallback?: number): number {
  const raw = valueAfter(args, flag);
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isFinite(value) || value < 0) {
    throw new Error(`${flag} needs a non-negative number, got ${raw}`);
  }
  return value;
}

function parseArgs(args: string[]): ChildArgs {
  const url = valueAfter(args, "--url");
  if (!url) throw new Error("--url is required");
  return {
    url,
    spec: {
      tasks: positiveNumber(args, "--tasks"),
      concurrency: positiveNumber(args, "--concurrency"),
      keepState: args.includes("--keep-state"),
    },
    tuning: {
      minimumCheckInterval: positiveNumber(
        args,
        "--check-interval",
        DEFAULT_DOCKET_TUNING.minimumCheckInterval,
      ),
      schedulingResolution: positiveNumber(
        args,
        "--scheduling-resolution",
        DEFAULT_DOCKET_TUNING.schedulingResolution,
      ),
    },
  };
}

/**
 * Unmeasured, before the measured drain: the same drain {@linkcode WARM_UP_DRAINS} times (the
 * same tasks, concurrency and state), then a flushed server. The in-process contenders run each
 * drain scenario again and again in one warm process, so their median run is a warm one;
 * without this, every Bun run would be a fresh process's first pass over that path.
 * JavaScriptCore takes longer than V8 to reach its top tier: a fresh Bun process spends as much
 * CPU compiling (its `JITWorker` threads) as running the first 20,000 tasks of a drain, see
 * bench/PROFILE.md ("Bun").
 */
async function warmUp(url: string, spec: DrainSpec, tuning: DocketTuning): Promise<void> {
  for (let i = 0; i < WARM_UP_DRAINS; i++) await drain(url, spec, tuning);
  const admin = createClient({ url });
  await admin.connect();
  try {
    await admin.flushAll(); // every measured run starts on a flushed server
  } finally {
    await admin.close();
  }
}

async function main(): Promise<number> {
  try {
    const { url, spec, tuning } = parseArgs(process.argv.slice(2));
    await warmUp(url, spec, tuning);
    const ms = await drain(url, spec, tuning);
    console.log(JSON.stringify({ ms }));
    return 0;
  } catch (error) {
    console.log(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    return 1;
  }
}

// Exit explicitly: a connection the library failed to close must not keep the child alive.
process.exit(await main());
