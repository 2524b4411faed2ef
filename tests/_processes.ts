/**
 * Workers as real processes, for the tests that cross a process boundary: start `worker.ts`
 * under Deno or Bun, read its JSON log lines as they arrive, wait for a line, stop or kill it.
 */

import { runtimeCommand } from "./_harness.ts";

/** A running `worker.ts` process. */
export interface WorkerProcess {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first JSON log record whose `msg` matches (rejects if it exits first). */
  logged(pattern: RegExp): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (killed by a signal: 128 + the signal number). */
  exited: Promise<number>;
  /** Sends a signal. */
  kill(signal: Deno.Signal): void;
  /** SIGTERM (or `signal`) if still running, then the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** What to start. */
export interface WorkerProcessOptions {
  /** Where the docket lives. */
  docket: { url: string; name: string };
  /** The task module, relative to the repository root. */
  tasks: string;
  /** The worker's name. */
  name?: string;
  /** Default "deno". */
  runtime?: "deno" | "bun";
  /** More worker options (e.g. `["--concurrency", "1", "--until-finished"]`). */
  args?: string[];
  /** The command that starts the worker, instead of `worker.ts` under `runtime`. */
  command?: string[];
  /** The working directory (default: this one). */
  cwd?: string;
  /** More environment variables for the worker. */
  env?: Record<string, string>;
}

/** Starts `worker.ts` (or `options.command`) with fast polling and JSON logs. */
export function startWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const [command, ...args] = options.command ??
    runtimeCommand(options.runtime ?? "deno", "worker.ts");
  const child = new Deno.Command(command, {
    args: [
      ...args,
      "--tasks",
      options.tasks,
      "--url",
      options.docket.url,
      "--docket",
      options.docket.name,
      ...(options.name ? ["--name", options.name] : []),
      "--minimum-check-interval",
      "20ms",
      "--scheduling-resolution",
      "20ms",
      "--log-format",
      "json",
      ...(options.args ?? []),
    ],
    cwd: options.cwd,
    ...(options.env ? { env: options.env } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let text = "";
  const records: Record<string, unknown>[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (r: Record<string, unknown>) => void }>();
  let partial = "";
  const onStdout = (chunk: string) => {
    text += chunk;
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      records.push(record);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(String(record.msg))) {
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
    }
  };
  const drain = (stream: ReadableStream<Uint8Array>, onChunk: (chunk: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: onChunk }));
  const streams = Promise.all([
    drain(child.stdout, onStdout),
    drain(child.stderr, (chunk) => void (text += chunk)),
  ]);
  let running = true;
  const exited = child.status.then(async (status) => {
    running = false;
    await streams;
    return status.code;
  });

  return {
    output: () => text,
    logged(pattern: RegExp) {
      const already = records.find((record) => pattern.test(String(record.msg)));
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        waiters.add({ pattern, resolve });
        exited.then((code) =>
          reject(new Error(`worker exited (${code}) before logging ${pattern}:\n${text}`))
        );
      });
    },
    exited,
    kill(signal: Deno.Signal) {
      if (running) child.kill(signal);
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (running) child.kill(signal);
      return await exited;
    },
  };
}
