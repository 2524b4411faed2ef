/**
 * The workers of a chaos run: real `worker.ts` processes under Deno and Bun, each with its own
 * name and log files, that can be killed (SIGKILL) or stopped (SIGTERM, escalated to SIGKILL if
 * it has not exited after a grace period), every signal remembered for the analysis.
 */

import { join } from "node:path";

/** What happened to one worker process. */
export interface WorkerRecord {
  name: string;
  runtime: "deno" | "bun";
  startedAt: number;
  /** The signal the run sent it, and when (absent for the ones stopped at the end). */
  signal?: "SIGKILL" | "SIGTERM";
  signalledAt?: number;
  /** Set when a SIGTERM was not obeyed within the grace period. */
  escalatedAt?: number;
  exitCode?: number;
  exitedAt?: number;
  logFile: string;
}

/** The command that runs Bun: `bun` on PATH, else Bun from npm through npx. */
function bunCommand(): string[] {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (dir && Deno.statSync(join(dir, "bun")).isFile) return [join(dir, "bun")];
    } catch {
      // not here
    }
  }
  return ["npx", "-y", "bun@1.4.5"];
}

interface Running {
  record: WorkerRecord;
  child: Deno.ChildProcess;
  done: Promise<void>;
}

/** Starts, signals and stops the workers of one docket. */
export class Fleet {
  readonly records: WorkerRecord[] = [];
  #live = new Map<string, Running>();
  #count = 0;
  #bun = bunCommand();

  constructor(
    readonly root: string,
    readonly url: string,
    readonly docket: string,
    readonly logDir: string,
    readonly workerArgs: string[],
    readonly termGraceMs: number,
  ) {}

  /** Names of the workers that have not been signalled and are still running. */
  live(): string[] {
    return [...this.#live.values()].filter((w) => w.record.signal === undefined)
      .map((w) => w.record.name);
  }

  runtimeOf(name: string): "deno" | "bun" {
    return this.#live.get(name)!.record.runtime;
  }

  async start(runtime: "deno" | "bun"): Promise<string> {
    const name = `chaos-${runtime}-${++this.#count}`;
    const logFile = join(this.logDir, `${name}.log`);
    const file = await Deno.open(logFile, { write: true, create: true, truncate: true });
    const [command, ...prefix] = runtime === "deno"
      ? [Deno.execPath(), "run", "-A", "worker.ts"]
      : [...this.#bun, "run", "worker.ts"];
    const child = new Deno.Command(command, {
      args: [
        ...prefix,
        "--tasks",
        "./bench/chaos/tasks.ts",
        "--url",
        this.url,
        "--docket",
        this.docket,
        "--name",
        name,
        "--log-format",
        "json",
        ...this.workerArgs,
      ],
      cwd: this.root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const record: WorkerRecord = { name, runtime, startedAt: Date.now(), logFile };
    this.records.push(record);
    // stdout and stderr both go to the one log file, line by line.
    const writer = file.writable.getWriter();
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await writer.write(chunk);
    };
    const done = (async () => {
      const [status] = await Promise.all([child.status, copy(child.stdout), copy(child.stderr)]);
      record.exitCode = status.code;
      record.exitedAt = Date.now();
      await writer.close().catch(() => undefined);
      this.#live.delete(name);
    })();
    this.#live.set(name, { record, child, done });
    return name;
  }

  /** Sends `signal`; a SIGTERM not obeyed within the grace period becomes a SIGKILL. */
  signal(name: string, signal: "SIGKILL" | "SIGTERM"): void {
    const worker = this.#live.get(name);
    if (!worker) return;
    worker.record.signal = signal;
    worker.record.signalledAt = Date.now();
    worker.child.kill(signal);
    if (signal === "SIGTERM") {
      const timer = setTimeout(() => {
        if (!this.#live.has(name)) return;
        worker.record.escalatedAt = Date.now();
        worker.child.kill("SIGKILL");
      }, this.termGraceMs);
      worker.done.finally(() => clearTimeout(timer));
    }
  }

  /** SIGTERM to every worker still running, then waits for all of them (escalating as above). */
  async stopAll(): Promise<void> {
    const all = [...this.#live.values()];
    for (const worker of all) {
      if (worker.record.signal === undefined) {
        worker.child.kill("SIGTERM");
        const timer = setTimeout(() => {
          try {
            worker.child.kill("SIGKILL");
          } catch {
            // exited meanwhile
          }
        }, this.termGraceMs);
        worker.done.finally(() => clearTimeout(timer));
      }
    }
    await Promise.all(all.map((w) => w.done));
  }
}
