/**
 * What docket needs of the process it runs in, the same on Deno, Bun and Node: environment
 * variables, command-line arguments, signals, exit, the host name and the pid. Everything goes
 * through `node:process` and `node:os`, which all three runtimes provide. The differences handled
 * here: Deno guards environment variables and the host name with permissions, and reading them
 * without one must neither prompt nor throw; and Deno writes stdout synchronously by itself.
 *
 * @module
 */

import process from "node:process";
import { hostname } from "node:os";

/** The runtimes docket runs on. */
export type RuntimeName = "deno" | "bun" | "node";

// deno-lint-ignore no-explicit-any
const runtime = globalThis as any;

/**
 * Which runtime this is.
 *
 * @example
 * ```ts
 * import { runtimeName } from "./runtime.ts";
 * if (runtimeName() === "node") console.log("running on Node");
 * ```
 */
export function runtimeName(): RuntimeName {
  if (typeof runtime.Deno?.version?.deno === "string") return "deno";
  if (typeof runtime.Bun?.version === "string") return "bun";
  return "node";
}

/**
 * An environment variable, or `undefined` where it is unset or may not be read (on Deno without
 * `--allow-env` for it: no prompt, no error).
 *
 * @example
 * ```ts
 * import { readEnv } from "./runtime.ts";
 * const url = readEnv("DOCKET_URL") ?? "redis://localhost:6379/0";
 * ```
 */
export function readEnv(name: string): string | undefined {
  try {
    const state = runtime.Deno?.permissions?.querySync?.({ name: "env", variable: name })?.state;
    if (state !== undefined && state !== "granted") return undefined;
    const value = process.env[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The command-line arguments after the script (`worker.js --tasks x` gives `["--tasks", "x"]`).
 *
 * @example
 * ```ts
 * import { commandLineArgs } from "./runtime.ts";
 * const verbose = commandLineArgs().includes("--verbose");
 * ```
 */
export function commandLineArgs(): string[] {
  return process.argv.slice(2);
}

/**
 * Calls `handler` each time the process receives `signal`.
 *
 * @example
 * ```ts ignore
 * import { onSignal } from "./runtime.ts";
 * onSignal("SIGTERM", () => console.log("stopping"));
 * ```
 */
export function onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void {
  process.on(signal, handler);
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts ignore
 * import { exitProcess } from "./runtime.ts";
 * exitProcess(2);
 * ```
 */
export function exitProcess(code: number): never {
  process.exit(code);
  throw new Error("unreachable: the process has exited");
}

/**
 * This process's id.
 *
 * @example
 * ```ts
 * import { processId } from "./runtime.ts";
 * console.log(`pid ${processId()}`);
 * ```
 */
export function processId(): number {
  return process.pid;
}

/**
 * The machine's host name, or `undefined` where it may not be read (Deno without `--allow-sys`).
 *
 * @example
 * ```ts
 * import { hostName } from "./runtime.ts";
 * const host = hostName() ?? "worker";
 * ```
 */
export function hostName(): string | undefined {
  try {
    const state = runtime.Deno?.permissions?.querySync?.({ name: "sys", kind: "hostname" })?.state;
    if (state !== undefined && state !== "granted") return undefined;
    return hostname() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when stdout is a terminal.
 *
 * @example
 * ```ts
 * import { stdoutIsTerminal } from "./runtime.ts";
 * const colour = stdoutIsTerminal();
 * ```
 */
export function stdoutIsTerminal(): boolean {
  try {
    return process.stdout.isTTY === true;
  } catch {
    return false;
  }
}

/**
 * A synchronous writer to stdout where the runtime has one of its own (Deno), else `undefined`
 * (Node and Bun, where pino's synchronous destination does the same). A closed or broken stdout
 * is ignored: logging must not crash the program.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { stdoutSyncWriter } from "./runtime.ts";
 * const write = stdoutSyncWriter() ?? ((text: string) => void process.stdout.write(text));
 * write("hello\n");
 * ```
 */
export function stdoutSyncWriter(): ((text: string) => void) | undefined {
  const stdout = runtime.Deno?.stdout;
  if (typeof stdout?.writeSync !== "function") return undefined;
  const encoder = new TextEncoder();
  return (text: string) => {
    try {
      let bytes = encoder.encode(text);
      while (bytes.length > 0) bytes = bytes.subarray(stdout.writeSync(bytes));
    } catch {
      // A closed or broken stdout must not crash the program that is logging.
    }
  };
}
