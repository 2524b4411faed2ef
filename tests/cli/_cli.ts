/**
 * Running `cli.ts` as a subprocess under Deno and Bun, for the command-line tests.
 */

import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { NO_RESOLVE } from "../_harness.ts";

/** The repository root (where cli.ts is). */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The runtimes every command is tested under. */
export type Runtime = "deno" | "bun";
export const RUNTIMES: Runtime[] = (Deno.env.get("DOCKET_TEST_RUNTIMES") ?? "deno,bun")
  .split(",").map((s) => s.trim()).filter(Boolean) as Runtime[];

let bun: string[] | undefined;
/** Bun: `bun` on PATH, else Bun 1.4.5 from npm through npx. */
export function bunCommand(): string[] {
  if (bun) return bun;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(join(dir, "bun")).isFile) return bun = [join(dir, "bun")];
    } catch {
      // not in this directory
    }
  }
  return bun = ["npx", "-y", "bun@1.4.5"];
}

/** The command line that runs `cli.ts args…` under a runtime. */
export function cliCommand(runtime: Runtime, args: string[]): string[] {
  const script = join(ROOT, "cli.ts");
  return runtime === "deno"
    ? [Deno.execPath(), "run", "-A", ...NO_RESOLVE, script, ...args]
    : [...bunCommand(), "run", script, ...args];
}

/** What a finished command printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a command runs with: no DOCKET_* settings leak in from outside. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) if (name.startsWith("DOCKET_")) delete env[name];
  delete env.NO_COLOR;
  return { ...env, ...extra };
}

/** Runs `cli.ts args…` to the end. */
export async function runCli(
  runtime: Runtime,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const [command, ...rest] = cliCommand(runtime, args);
  const output = await new Deno.Command(command, {
    args: rest,
    cwd: ROOT,
    env: cleanEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A running `cli.ts` whose stdout is read line by line as it comes. */
export class CliProcess {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #stderr: Promise<string>;
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(runtime: Runtime, args: string[], env: Record<string, string> = {}) {
    const [command, ...rest] = cliCommand(runtime, args);
    this.#child = new Deno.Command(command, {
      args: rest,
      cwd: ROOT,
      env: cleanEnv(env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stderr = new Response(this.#child.stderr).text();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    let partial = "";
    const notify = () => {
      for (const waiter of this.#waiters.splice(0)) waiter();
    };
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
      notify();
    }
    if (partial) this.lines.push(partial);
    this.#ended = true;
    notify();
  }

  /** Resolves with the first line (from `from` on) that `match` accepts; rejects at the end. */
  async waitForLine(match: (line: string) => boolean, from = 0, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((line, i) => i >= from && match(line));
      if (index !== -1) return { index, line: this.lines[index] };
      if (this.#ended) {
        throw new Error(`output ended without the line; got:\n${this.lines.join("\n")}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`timed out waiting for a line; got:\n${this.lines.join("\n")}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, remaining);
      });
      clearTimeout(timer);
    }
  }

  /** Waits for the process to exit; resolves with its result. */
  async finished(): Promise<CliResult> {
    const status = await this.#child.status;
    await this.#reading;
    return { code: status.code, stdout: this.lines.join("\n"), stderr: await this.#stderr };
  }

  /** Sends the process a signal (SIGTERM by default). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.#child.kill(signal);
  }

  /** Kills the process if it is still running (test cleanup). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.finished();
  }
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
