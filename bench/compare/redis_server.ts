/**
 * A throwaway `redis-server` for one benchmark run, plus the few admin commands the harness needs.
 *
 * The server listens on 127.0.0.1 only, on a port the OS says is free, with persistence off so
 * disk writes never show up in the numbers, and its files go to a temporary directory.
 */
import { createClient } from "redis";
import type { ServerProbe } from "./contender.ts";

const HOST = "127.0.0.1";
const STARTUP_TIMEOUT_MS = 5_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 3;
/** INFO commandstats + INFO cpu, see RedisAdmin.countersSince. */
const ADMIN_CALLS_PER_READING = 2;

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server and removes its directory at once, synchronously (for exit handlers). */
  kill(): void;
}

function freePort(): number {
  // Binding to port 0 makes the OS pick a free port; there is a small window before
  // redis-server takes it, which the retry loop in startRedisServer covers.
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export async function redisServerVersion(): Promise<string> {
  const { stdout } = await new Deno.Command("redis-server", { args: ["--version"] }).output();
  const text = new TextDecoder().decode(stdout);
  return text.match(/v=(\S+)/)?.[1] ?? text.trim();
}

async function answersPing(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: HOST, port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(64);
      const read = await conn.read(buffer);
      return read !== null &&
        new TextDecoder().decode(buffer.subarray(0, read)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

async function waitUntilReady(port: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline && !exited()) {
    if (await answersPing(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function stopProcess(child: Deno.ChildProcess): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), SHUTDOWN_TIMEOUT_MS);
  });
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already gone
  }
  const outcome = await Promise.race([child.status, timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch { /* exited in the meantime */ }
    await child.status;
  }
}

async function launchOnce(port: number, dir: string): Promise<Deno.ChildProcess | undefined> {
  const child = new Deno.Command("redis-server", {
    args: [
      "--bind",
      HOST,
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--logfile",
      `${dir}/redis.log`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => (exited = true));
  if (await waitUntilReady(port, () => exited)) return child;
  await stopProcess(child);
  return undefined;
}

async function readLogTail(dir: string): Promise<string> {
  try {
    return (await Deno.readTextFile(`${dir}/redis.log`)).split("\n").slice(-10).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "bench-redis-" });
  const version = await redisServerVersion();
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = freePort();
    const child = await launchOnce(port, dir);
    if (!child) continue;
    let stopped = false;
    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}/0`,
      version,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopProcess(child);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
      kill() {
        if (stopped) return;
        stopped = true;
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch { /* already gone */ }
      },
    };
  }
  const log = await readLogTail(dir);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`redis-server did not start after ${START_ATTEMPTS} attempts:\n${log}`);
}

/** Server-side counters read around a measurement (section 6 of the comparison). */
export interface ServerCounters {
  /** Sum of `calls` over every command in `INFO commandstats`. */
  commandCalls: number;
  /** used_cpu_sys + used_cpu_user, seconds. */
  cpuSeconds: number;
}

function parseInfoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Calls and microseconds per command name, from `INFO commandstats`. */
export function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const [name, value] of parseInfoFields(info)) {
    if (!name.startsWith("cmdstat_")) continue;
    const calls = value.match(/(?:^|,)calls=(\d+)/);
    const usec = value.match(/(?:^|,)usec=(\d+)/);
    if (calls) stats.set(name.slice(8), { calls: Number(calls[1]), usec: Number(usec?.[1] ?? 0) });
  }
  return stats;
}

export function sumCommandCalls(info: string): number {
  let total = 0;
  for (const { calls } of commandStats(info).values()) total += calls;
  return total;
}

export function cpuSecondsUsed(cpuInfo: string): number {
  const fields = parseInfoFields(cpuInfo);
  return Number(fields.get("used_cpu_sys") ?? NaN) + Number(fields.get("used_cpu_user") ?? NaN);
}

/** The part of node-redis's client the admin connection uses. */
interface AdminClient {
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/** One admin connection, used between measurements only (never while a clock runs). */
export class RedisAdmin {
  #client: AdminClient;

  private constructor(client: AdminClient) {
    this.#client = client;
  }

  static async connect(server: RedisServer): Promise<RedisAdmin> {
    const client = createClient({ socket: { host: server.host, port: server.port } });
    client.on("error", () => {}); // reconnection noise after the server stops is expected
    await client.connect();
    return new RedisAdmin(client);
  }

  async #command(...args: string[]): Promise<string> {
    return String(await this.#client.sendCommand(args));
  }

  /** Every measurement starts on an empty server, so leftovers of one cannot slow the next. */
  async flushAll(): Promise<void> {
    await this.#command("FLUSHALL");
  }

  /** Zeroes `INFO commandstats`; returns a baseline to pass to {@link countersSince}. */
  async resetCounters(): Promise<ServerCounters> {
    await this.#command("CONFIG", "RESETSTAT");
    return await this.#counters();
  }

  /** What the server did since `baseline`, without the admin connection's own commands. */
  async countersSince(baseline: ServerCounters): Promise<ServerCounters> {
    const now = await this.#counters();
    return {
      // Redis counts a command after it ran, so each reading adds its two INFO calls to the next.
      commandCalls: now.commandCalls - baseline.commandCalls - ADMIN_CALLS_PER_READING,
      cpuSeconds: now.cpuSeconds - baseline.cpuSeconds,
    };
  }

  /** INFO memory used_memory, bytes (the admin connection's own buffers are in it too). */
  async usedMemory(): Promise<number> {
    const fields = parseInfoFields(await this.#command("INFO", "memory"));
    return Number(fields.get("used_memory") ?? NaN);
  }

  /** Calls per command name since the last CONFIG RESETSTAT (the admin's INFO calls included). */
  async commandBreakdown(): Promise<Record<string, number>> {
    const stats = commandStats(await this.#command("INFO", "commandstats"));
    return Object.fromEntries([...stats].map(([name, { calls }]) => [name, calls]));
  }

  /** The {@link ServerProbe} contenders use: a reset and a reading on this connection. */
  probe(): ServerProbe {
    let baseline: ServerCounters | undefined;
    return {
      usedMemory: () => this.usedMemory(),
      resetCounters: async () => {
        baseline = await this.resetCounters();
      },
      countersSinceReset: () => {
        if (!baseline) throw new Error("countersSinceReset before resetCounters");
        return this.countersSince(baseline);
      },
    };
  }

  async #counters(): Promise<ServerCounters> {
    const commandStats = await this.#command("INFO", "commandstats");
    const cpu = await this.#command("INFO", "cpu");
    return { commandCalls: sumCommandCalls(commandStats), cpuSeconds: cpuSecondsUsed(cpu) };
  }

  async close(): Promise<void> {
    try {
      await this.#client.close();
    } catch {
      this.#client.destroy();
    }
  }
}
