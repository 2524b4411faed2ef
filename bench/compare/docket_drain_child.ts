/**
 * docket drains measured in a process of its own, so that run.ts can measure docket under Bun:
 * `bun run bench/compare/docket_drain_child.ts --url redis://… [--check-interval 100]
 * [--scheduling-resolution 250]`.
 *
 * One process serves a whole comparison run, as the in-process contenders do: it reads one drain
 * per line on stdin (`{"tasks": 20000, "concurrency": 10, "keepState": true}`) and answers each
 * with one JSON line on stdout, `{"ms": …}` or `{"error": "…"}`, until stdin ends. Uses
 * node:process and node:readline so that it runs under Deno and Bun alike.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { createClient } from "redis";
import { drain } from "./docket.ts";
import { DEFAULT_DOCKET_TUNING, type DocketTuning, WARM_UP_DRAINS } from "./docket_tuning.ts";
import type { DrainSpec } from "./contender.ts";

interface ChildArgs {
  url: string;
  tuning: DocketTuning;
}

function valueAfter(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function nonNegative(what: string, raw: unknown, fallback?: number): number {
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isFinite(value) || value < 0) {
    throw new Error(`${what} needs a non-negative number, got ${raw}`);
  }
  return value;
}

function parseArgs(args: string[]): ChildArgs {
  const url = valueAfter(args, "--url");
  if (!url) throw new Error("--url is required");
  const { minimumCheckInterval, schedulingResolution } = DEFAULT_DOCKET_TUNING;
  return {
    url,
    tuning: {
      minimumCheckInterval: nonNegative(
        "--check-interval",
        valueAfter(args, "--check-interval"),
        minimumCheckInterval,
      ),
      schedulingResolution: nonNegative(
        "--scheduling-resolution",
        valueAfter(args, "--scheduling-resolution"),
        schedulingResolution,
      ),
    },
  };
}

function parseSpec(line: string): DrainSpec {
  const request = JSON.parse(line);
  return {
    tasks: nonNegative("tasks", request.tasks),
    concurrency: nonNegative("concurrency", request.concurrency),
    keepState: request.keepState === true,
  };
}

/**
 * Unmeasured, before each measured drain: the same drain {@linkcode WARM_UP_DRAINS} times (the
 * same tasks, concurrency and state), then a flushed server, as every measured run starts on one.
 */
async function warmUp(url: string, spec: DrainSpec, tuning: DocketTuning): Promise<void> {
  for (let i = 0; i < WARM_UP_DRAINS; i++) await drain(url, spec, tuning);
  const admin = createClient({ url });
  await admin.connect();
  try {
    await admin.flushAll();
  } finally {
    await admin.close();
  }
}

/** The answer line that reports `error`. */
function errorAnswer(error: unknown): string {
  return JSON.stringify({ error: error instanceof Error ? error.message : String(error) });
}

async function measure(line: string, { url, tuning }: ChildArgs): Promise<string> {
  try {
    const spec = parseSpec(line);
    await warmUp(url, spec, tuning);
    return JSON.stringify({ ms: await drain(url, spec, tuning) });
  } catch (error) {
    return errorAnswer(error);
  }
}

async function main(): Promise<number> {
  let args: ChildArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.log(errorAnswer(error));
    return 1;
  }
  // One drain at a time, in the order asked: run.ts waits for each answer before the next.
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== "") console.log(await measure(line, args));
  }
  return 0;
}

// Exit explicitly: a connection the library failed to close must not keep the child alive.
process.exit(await main());
