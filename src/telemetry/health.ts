/**
 * The worker's health endpoints: `/healthz` (the process and its loop are alive) and `/readyz`
 * (the store answers, the consumer loop has turned recently, and the worker is not draining).
 * A {@linkcode HealthMonitor} learns all of that as a worker observer; {@linkcode serveHealth}
 * answers over HTTP, from the moment it listens (not ready until the first read).
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import type { WorkerObserver } from "../hooks.ts";

/** What `/readyz` answers: ready, or not and why. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Follows a worker's reads and loop turns to say whether it is ready.
 *
 * @example
 * ```ts ignore
 * const health = new HealthMonitor({ staleAfterMs: 10_000 });
 * const worker = new Worker(docket, { observers: [health] });
 * ```
 */
export class HealthMonitor implements WorkerObserver {
  readonly #staleAfterMs: number;
  readonly #now: () => number;
  #connected = false;
  #failure?: string;
  #draining = false;
  #lastTurn = 0;

  /** `staleAfterMs`: how long the loop may go without a turn before the worker is not ready. */
  constructor(options: { staleAfterMs: number; now?: () => number }) {
    this.#staleAfterMs = options.staleAfterMs;
    this.#now = options.now ?? Date.now;
  }

  readCompleted(): void {
    this.#connected = true;
    this.#failure = undefined;
    this.#lastTurn = this.#now();
  }

  readFailed(error: unknown): void {
    this.#failure = error instanceof Error ? error.message : String(error);
  }

  loopTurned(): void {
    this.#lastTurn = this.#now();
  }

  stopping(): void {
    this.#draining = true;
  }

  /** Whether the worker is ready, and if not, why. */
  readiness(): Readiness {
    if (this.#draining) return { ready: false, reason: "draining: the worker is stopping" };
    if (this.#failure) return { ready: false, reason: `store unreachable: ${this.#failure}` };
    if (!this.#connected) return { ready: false, reason: "not connected to the store yet" };
    const idle = this.#now() - this.#lastTurn;
    if (idle > this.#staleAfterMs) {
      return { ready: false, reason: `the consumer loop has not turned for ${idle} ms` };
    }
    return { ready: true };
  }
}

/**
 * Serves `/healthz` and `/readyz` for `monitor` on `port` (0: any free port); 404 for any other
 * path. Resolves once it listens.
 *
 * @example
 * ```ts ignore
 * const server = await serveHealth(8080, health);
 * ```
 */
export function serveHealth(port: number, monitor: HealthMonitor): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      const answer = (status: number, body: string) => {
        response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
        response.end(body + "\n");
      };
      if (path === "/healthz") return answer(200, "ok");
      if (path === "/readyz") {
        const readiness = monitor.readiness();
        return readiness.ready ? answer(200, "ready") : answer(503, readiness.reason);
      }
      answer(404, `not found: ${path} (try /healthz or /readyz)`);
    });
    server.once("error", reject);
    server.listen(port, () => resolve(server));
  });
}
