/**
 * The chaos run's own redis-server: AOF on with `appendfsync always` (an acknowledged write is on
 * disk before the reply), restarted on demand either cleanly (SHUTDOWN, which writes the AOF and
 * exits) or by `kill -9`, on the same port and data directory.
 */

import { createServer } from "node:net";

/** A free TCP port on the loopback interface. */
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends one command in RESP and returns the first reply line (or throws when unreachable). */
async function command(port: number, words: string[]): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const body = words.map((w) => `$${new TextEncoder().encode(w).length}\r\n${w}\r\n`).join("");
    await conn.write(new TextEncoder().encode(`*${words.length}\r\n${body}`));
    const buffer = new Uint8Array(256);
    const read = await conn.read(buffer);
    return read === null ? "" : new TextDecoder().decode(buffer.subarray(0, read)).split("\r\n")[0];
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by a SHUTDOWN
    }
  }
}

/** A restart of the server: how it was stopped, and when it was down. */
export interface Restart {
  mode: "shutdown" | "kill -9";
  downAt: number;
  upAt: number;
}

/** The redis-server of a chaos run. */
export class ChaosRedis {
  #child?: Deno.ChildProcess;
  readonly restarts: Restart[] = [];
  constructor(readonly port: number, readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--logfile",
        `${this.dir}/redis.log`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await command(this.port, ["PING"])) === "+PONG") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("redis-server did not come up in 60 s");
      await sleep(50);
    }
  }

  /** Stops the server the given way, waits `downMs`, and starts it again. */
  async restart(mode: Restart["mode"], downMs: number): Promise<void> {
    const child = this.#child!;
    const downAt = Date.now();
    if (mode === "shutdown") {
      await command(this.port, ["SHUTDOWN"]).catch(() => "");
    } else {
      child.kill("SIGKILL");
    }
    await child.status;
    await sleep(downMs);
    await this.start();
    this.restarts.push({ mode, downAt, upAt: Date.now() });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
}
