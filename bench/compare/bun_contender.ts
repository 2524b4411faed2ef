/**
 * docket under Bun: every drain of a comparison run goes to one `bun run docket_drain_child.ts`
 * process (Bun resolves docket's npm dependencies from the node_modules/ that `deno install` lays
 * down), started at the first drain and kept for the rest of the run, so that docket under Bun is
 * as warm as the in-process contenders are from their earlier runs. The child measures its own
 * drains, so process start-up is not in the numbers.
 */
import { lines, tracked } from "./children.ts";
import { type Contender, type DrainSpec, MEASUREMENT_TIMEOUT_MS } from "./contender.ts";
import type { DocketTuning } from "./docket_tuning.ts";

const CHILD_SCRIPT = "bench/compare/docket_drain_child.ts";
/** Pre-fill, warm-up drains and shutdown on top of the drain's own bound (start-up too, once). */
const CHILD_TIMEOUT_MS = MEASUREMENT_TIMEOUT_MS + 60_000;
/** The last lines of the child's stderr kept for an error message. */
const STDERR_LINES = 5;

/** Bun's version, or undefined when `bun` is not on PATH. */
export async function bunVersion(): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("bun", { args: ["--version"] }).output();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The child's answer on `line`, or undefined when the line is not one. */
function parseReply(line: string): { ms: number } | { error: string } | undefined {
  let reply: unknown;
  try {
    reply = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof reply !== "object" || reply === null) return undefined;
  const { ms, error } = reply as { ms?: unknown; error?: unknown };
  if (typeof ms === "number") return { ms };
  if (typeof error === "string") return { error };
  return undefined;
}

/** One running drain process: requests in on stdin, one answer a line on stdout. */
class DrainProcess {
  readonly #process: Deno.ChildProcess;
  readonly #requests: WritableStreamDefaultWriter<Uint8Array>;
  readonly #answers: AsyncGenerator<string>;
  readonly #stderr: string[] = [];

  constructor(repoRoot: string, url: string, tuning: DocketTuning) {
    this.#process = tracked(
      new Deno.Command("bun", {
        args: [
          "run",
          CHILD_SCRIPT,
          "--url",
          url,
          "--check-interval",
          String(tuning.minimumCheckInterval),
          "--scheduling-resolution",
          String(tuning.schedulingResolution),
        ],
        cwd: repoRoot,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    );
    this.#requests = this.#process.stdin.getWriter();
    this.#answers = lines(this.#process.stdout);
    this.#keepStderrTail().catch(() => {/* the child is gone: its exit says why */});
  }

  /** Reads stderr as it comes (a full pipe would stall the child), keeping its last lines. */
  async #keepStderrTail(): Promise<void> {
    for await (const line of lines(this.#process.stderr)) {
      this.#stderr.push(line);
      if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
    }
  }

  /** ms of one measured drain; throws if the child fails it, dies or overruns its bound. */
  async drain(spec: DrainSpec): Promise<number> {
    const timer = setTimeout(() => this.kill(), CHILD_TIMEOUT_MS);
    try {
      const request = {
        tasks: spec.tasks,
        concurrency: spec.concurrency,
        keepState: spec.keepState,
      };
      await this.#requests.write(new TextEncoder().encode(`${JSON.stringify(request)}\n`));
      for (;;) {
        const answer = await this.#answers.next();
        if (answer.done) throw new Error(`bun child exited: ${await this.#exitReason()}`);
        const reply = parseReply(answer.value);
        if (!reply) continue; // a line something else printed, not an answer
        if ("ms" in reply) return reply.ms;
        throw new Error(`bun child failed: ${reply.error}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #exitReason(): Promise<string> {
    const status = await this.#process.status;
    const how = status.signal === "SIGKILL"
      ? `killed after ${CHILD_TIMEOUT_MS / 1_000} s`
      : `exit code ${status.code}`;
    return `${how}; stderr: ${this.#stderr.join(" / ") || "(empty)"}`;
  }

  kill(): void {
    try {
      this.#process.kill("SIGKILL");
    } catch { /* exited already */ }
  }
}

export function bunDocketContender(repoRoot: string, url: string, tuning: DocketTuning): Contender {
  let child: DrainProcess | undefined;
  return {
    name: "docket (Bun)",
    runtime: "Bun",
    usesRedis: true,
    async drain(spec) {
      child ??= new DrainProcess(repoRoot, url, tuning);
      try {
        return await child.drain(spec);
      } catch (error) {
        // What a failed drain left behind is unknown: the next drain starts a fresh process.
        child.kill();
        child = undefined;
        throw error;
      }
    },
  };
}
