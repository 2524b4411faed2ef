/**
 * docket under Bun: each drain runs `docket_drain_child.ts` in a fresh `bun run` process (Bun
 * resolves docket's npm dependencies from the node_modules/ that `deno install` lays down).
 * The child measures its own drain, so process start-up is not in the number.
 */
import { tracked } from "./children.ts";
import { type Contender, type DrainSpec, MEASUREMENT_TIMEOUT_MS } from "./contender.ts";
import type { DocketTuning } from "./docket_tuning.ts";

const CHILD_SCRIPT = "bench/compare/docket_drain_child.ts";
/** Start-up, pre-fill and shutdown on top of the drain's own bound. */
const CHILD_TIMEOUT_MS = MEASUREMENT_TIMEOUT_MS + 60_000;

/** Bun's version, or undefined when `bun` is not on PATH. */
export async function bunVersion(): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("bun", { args: ["--version"] }).output();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function childArgs(url: string, spec: DrainSpec, tuning: DocketTuning): string[] {
  return [
    "run",
    CHILD_SCRIPT,
    "--url",
    url,
    "--tasks",
    String(spec.tasks),
    "--concurrency",
    String(spec.concurrency),
    "--check-interval",
    String(tuning.minimumCheckInterval),
    "--scheduling-resolution",
    String(tuning.schedulingResolution),
    ...(spec.keepState ? ["--keep-state"] : []),
  ];
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

async function runChild(repoRoot: string, args: string[]): Promise<Deno.CommandOutput> {
  const child = tracked(new Deno.Command("bun", {
    args,
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn());
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited just now */ }
  }, CHILD_TIMEOUT_MS);
  try {
    return await child.output();
  } finally {
    clearTimeout(timer);
  }
}

async function drainUnderBun(
  repoRoot: string,
  url: string,
  spec: DrainSpec,
  tuning: DocketTuning,
): Promise<number> {
  const output = await runChild(repoRoot, childArgs(url, spec, tuning));
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  let reply: { ms?: number; error?: string } = {};
  try {
    reply = JSON.parse(lastLine(stdout));
  } catch { /* reported below with the process's own output */ }
  if (output.success && typeof reply.ms === "number") return reply.ms;
  const reason = reply.error ??
    (output.signal === "SIGKILL" ? `killed after ${CHILD_TIMEOUT_MS / 1_000} s` : undefined) ??
    `exit code ${output.code}`;
  throw new Error(`bun child failed: ${reason}; stderr: ${lastLine(stderr) || "(empty)"}`);
}

export function bunDocketContender(repoRoot: string, url: string, tuning: DocketTuning): Contender {
  return {
    name: "docket (Bun)",
    runtime: "Bun",
    usesRedis: true,
    drain: (spec) => drainUnderBun(repoRoot, url, spec, tuning),
  };
}
