/**
 * Test harness: a throwaway redis-server on a free port (or REDIS_URL), unique docket names, and
 * the backends every behaviour test runs against.
 */

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { Docket, type DocketOptions } from "../mod.ts";
import { createLogger } from "../src/logging/logger.ts";

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`redis-server did not start on port ${port}`);
}

/** A redis-server this process started; `stop()` kills it, `restart()` brings it back. */
export class RedisServer {
  #child?: ReturnType<typeof spawn>;
  readonly port: number;
  readonly dir: string;
  /** Options after the defaults (they win): `["--appendonly", "yes"]` keeps data across restarts. */
  readonly extraArgs: string[];
  constructor(port: number, extraArgs: string[] = []) {
    this.port = port;
    this.extraArgs = extraArgs;
    this.dir = mkdtempSync(join(tmpdir(), "docket-redis-"));
  }
  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }
  async start(): Promise<void> {
    this.#child = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      ...this.extraArgs,
    ], { stdio: "ignore" });
    await waitForPort(this.port, 10_000);
  }
  /** Kills the server at once (for process exit, where nothing can be awaited). */
  kill(): void {
    this.#child?.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a throwaway redis-server on a free port (with `extraArgs` after the defaults). */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const server = new RedisServer(await freePort(), extraArgs);
  await server.start();
  return server;
}

let shared: Promise<string> | undefined;

/** The Redis URL the suite uses: REDIS_URL, else one throwaway server for this test process. */
export function redisUrl(): Promise<string> {
  shared ??= (async () => {
    const fromEnv = Deno.env.get("REDIS_URL");
    if (fromEnv) return fromEnv;
    const server = await startRedisServer();
    // The server keeps nothing on disk; killing it when the test process exits is enough.
    globalThis.addEventListener("unload", () => server.kill());
    return server.url;
  })();
  return shared;
}

let counter = 0;
/** A docket name no other test uses. */
export function uniqueName(prefix = "test"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${
    Math.random().toString(36).slice(2, 6)
  }`;
}

/** Log lines a test can inspect. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger = createLogger({
    level: "debug",
    format: "json",
    destination: { write: (line: string) => this.lines.push(line) },
  });
  get records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line));
  }
  text(): string {
    return this.lines.join("");
  }
}

/** The backends a behaviour test runs against. */
export type BackendKind = "redis" | "memory";
export const BACKENDS: BackendKind[] = (Deno.env.get("DOCKET_TEST_BACKENDS") ?? "redis,memory")
  .split(",").map((s) => s.trim()).filter(Boolean) as BackendKind[];

/** Connects a docket with a unique name on the given backend. */
export async function connectDocket(
  kind: BackendKind,
  options: DocketOptions = {},
): Promise<Docket> {
  const name = options.name ?? uniqueName();
  const url = kind === "redis" ? await redisUrl() : `memory://${name}`;
  return await Docket.connect({
    logger: options.logger ?? new LogCapture().logger,
    ...options,
    name,
    url: options.url ?? url,
  });
}

/** Fast worker timings for tests. */
export const FAST = { minimumCheckInterval: 10, schedulingResolution: 10 } as const;

/** Waits until `check` returns true, polling every 10 ms (for outside effects with no event). */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The command that runs Bun: `bun` on PATH, else Bun from npm through npx. */
export function bunCommand(): string[] {
  const path = Deno.env.get("PATH") ?? "";
  for (const dir of path.split(":")) {
    try {
      Deno.statSync(`${dir}/bun`);
      return ["bun"];
    } catch {
      // not here
    }
  }
  return ["npx", "-y", "bun@1.4.5"];
}

/**
 * Deno flags for subprocesses: use the node_modules `deno task test` laid down, without taking
 * its lock or re-resolving, so concurrent processes never wait on each other or say so on stderr.
 */
export const NO_RESOLVE: readonly string[] = ["--node-modules-dir=manual"];

/** The command that runs a script with a runtime. */
export function runtimeCommand(runtime: "deno" | "bun", script: string): string[] {
  return runtime === "deno"
    ? [Deno.execPath(), "run", "-A", ...NO_RESOLVE, script]
    : [...bunCommand(), "run", script];
}

/**
 * Runs `body` against a redis-server of its own, with `dropSubscribers()` closing every pub/sub
 * connection to it (`CLIENT KILL TYPE pubsub`; node-redis reconnects and subscribes again).
 */
export async function withDroppableSubscribers(
  body: (url: string, dropSubscribers: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const server = await startRedisServer();
  const admin = createClient({ url: server.url });
  try {
    await admin.connect();
    await body(server.url, async () => {
      const killed = Number(await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]));
      if (killed < 1) throw new Error("no subscriber connection to drop");
    });
  } finally {
    await admin.close();
    await server.stop();
  }
}
