/**
 * What `deno task bench` runs on: a throwaway redis-server (the one the side-by-side comparison
 * uses, stopped when the bench process ends) and memory://, with logging off. Not a benchmark
 * itself: `deno bench` picks up only `*_bench.ts` files.
 */
import { createLogger, Docket, type DocketOptions, task } from "../mod.ts";
import { startRedisServer } from "./compare/redis_server.ts";

/** Logging off, as in production benchmarks of the hot path. */
export const silentLogger = createLogger({ level: "silent" });

export interface BenchBackend {
  /** `redis` or `memory`, for bench names and groups. */
  name: string;
  url: string;
  /** Why the backend cannot run here (the benches are then registered as ignored). */
  unavailable?: string;
}

async function redisBackend(): Promise<BenchBackend> {
  try {
    const server = await startRedisServer();
    // Deno.bench has no teardown: the server goes when the bench process ends.
    globalThis.addEventListener("unload", () => server.kill());
    return { name: "redis", url: server.url };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { name: "redis", url: "", unavailable: `no redis-server: ${reason}` };
  }
}

/** Redis (when redis-server is on PATH) and memory://. */
export async function benchBackends(): Promise<BenchBackend[]> {
  return [await redisBackend(), { name: "memory", url: "memory://bench" }];
}

let dockets = 0;

/** A docket of its own (a fresh name, so no keys are shared), logging off. */
export function openDocket(
  backend: BenchBackend,
  options: Omit<DocketOptions, "url" | "name" | "logger"> = {},
): Promise<Docket> {
  return Docket.connect({
    ...options,
    name: `bench-${Date.now().toString(36)}-${++dockets}`,
    url: backend.url,
    logger: silentLogger,
  });
}

/** The payload every bench task carries: small, as in a typical job. */
export type BenchPayload = { i: number; customerId: string; amount: number };

export function payload(i: number): BenchPayload {
  return { i, customerId: `customer-${i % 1_000}`, amount: 500 };
}

/** A no-op task; `seen` counts its runs. */
export function noopTask(): { task: ReturnType<typeof task<BenchPayload, void>>; seen(): number } {
  let runs = 0;
  const noop = task({
    name: "bench_noop",
    run: (_payload: BenchPayload) => {
      runs++;
    },
  });
  return { task: noop, seen: () => runs };
}
