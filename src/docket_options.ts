/**
 * How {@linkcode Docket.connect} is configured: its options, the environment variables that stand
 * in for unset ones, and opening the store a URL names.
 *
 * @module
 */

import type { Backend } from "./storage/backend.ts";
import { RedisBackend } from "./storage/redis/backend.ts";
import type { RedisConnectOptions } from "./storage/redis/open.ts";
import type { TlsOptions } from "./storage/redis/tls.ts";
import { DocketKeys } from "./keys.ts";
import { type Duration, toMillis } from "./duration.ts";
import { createLogger, type Logger } from "./logging/logger.ts";
import { readEnv } from "./runtime.ts";

/** Options of {@linkcode Docket.connect}. */
export interface DocketOptions {
  /** The docket's name; every key is prefixed with it. Default `"docket"`. */
  name?: string;
  /**
   * `redis://`, `rediss://`, `redis+cluster://`, `rediss+cluster://`, `redis+sentinel://`,
   * `rediss+sentinel://` or `memory://`. Default `DOCKET_URL`, else `redis://localhost:6379/0`.
   */
  url?: string;
  /**
   * TLS settings for a `rediss…://` URL: `ca`, `cert`, `key` (PEM text or file paths),
   * `rejectUnauthorized`, `servername`.
   */
  tls?: TlsOptions;
  /**
   * A node-redis client (standalone, cluster or sentinel, RESP2) to use instead of connecting
   * to `url`, for setups a URL cannot express. The docket does not close it; it closes only the
   * connections it derives from it with `duplicate()` (blocking reads, subscriptions).
   */
  redis?: unknown;
  /** How long state and results are kept after a task ends; 0 keeps nothing. Default 15 min. */
  executionTtl?: Duration;
  /**
   * How long a task that failed for good stays in the dead-letter set (see `docket.failed()`),
   * whatever `executionTtl` is; 0 keeps no failures. Default 7 days.
   */
  failedTtl?: Duration;
  /** A pino logger; default: one at `DOCKET_LOG_LEVEL`, else warn (a library is quiet unless asked). */
  logger?: Logger;
  /** How often workers announce themselves. Default 2 s. */
  heartbeatInterval?: Duration;
  /** Heartbeats a worker may miss before it is considered gone. Default 5. */
  missedHeartbeats?: number;
  /**
   * How many times a task's worker may vanish while running it before the task is no longer
   * run again (it ends FAILED as abandoned); the default of this docket's workers. Default 3.
   */
  maxRedeliveries?: number;
}

/** The name, store and retention a docket connects with, resolved from its options. */
export interface DocketConnection {
  /** The docket's name. */
  name: string;
  /** The store URL. */
  url: string;
  /** Milliseconds state and results are kept; 0 keeps nothing. */
  executionTtl: number;
  /** Milliseconds failed tasks stay in the dead-letter set; 0 keeps none. */
  failedTtl: number;
  /** The docket's logger (a child tagged with the docket's name). */
  logger: Logger;
  /** Milliseconds between worker heartbeats. */
  heartbeatInterval: number;
  /** Heartbeats a worker may miss before it is considered gone. */
  missedHeartbeats: number;
  /** Times a task's worker may vanish before the task ends FAILED as abandoned. */
  maxRedeliveries: number;
}

/**
 * Resolves the name, URL, retention and logger from `options`, then the environment, then the
 * defaults; throws on a negative retention or an invalid name.
 */
export function resolveConnection(options: DocketOptions): DocketConnection {
  const name = options.name ?? readEnv("DOCKET_NAME") ?? "docket";
  const url = options.url ?? (options.redis !== undefined ? "redis://(client)" : undefined) ??
    readEnv("DOCKET_URL") ?? "redis://localhost:6379/0";
  const executionTtl = toMillis(options.executionTtl ?? { minutes: 15 }, "executionTtl");
  if (executionTtl < 0) throw new RangeError("executionTtl must not be negative");
  const failedTtl = toMillis(options.failedTtl ?? { days: 7 }, "failedTtl");
  if (failedTtl < 0) throw new RangeError("failedTtl must not be negative");
  const heartbeatInterval = toMillis(options.heartbeatInterval ?? 2_000, "heartbeatInterval");
  const missedHeartbeats = options.missedHeartbeats ?? 5;
  if (!(heartbeatInterval > 0) || !Number.isInteger(missedHeartbeats) || missedHeartbeats < 1) {
    throw new RangeError(
      "heartbeatInterval must be positive and missedHeartbeats a whole number of at least 1",
    );
  }
  const maxRedeliveries = checkMaxRedeliveries(options.maxRedeliveries ?? 3);
  // A library speaks up only when something is wrong, unless the application asks for more.
  const logger = (options.logger ?? createLogger({ defaultLevel: "warn" })).child({ docket: name });
  new DocketKeys(name);
  return {
    name,
    url,
    executionTtl,
    failedTtl,
    logger,
    heartbeatInterval,
    missedHeartbeats,
    maxRedeliveries,
  };
}

/** `maxRedeliveries`, checked: a whole number, at least 0. */
export function checkMaxRedeliveries(value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`maxRedeliveries must be a whole number of at least 0, got ${value}`);
  }
  return value;
}

/**
 * Opens the store `url` names: `memory://` in this process, anything else on Redis (with the
 * TLS options, or the client the caller brought).
 */
export async function openBackend(
  url: string,
  name: string,
  logger: Logger,
  connect: RedisConnectOptions = {},
): Promise<Backend> {
  const warn = (message: string, details?: Record<string, unknown>) =>
    logger.warn(details ?? {}, message);
  return url.startsWith("memory://") && connect.redis === undefined
    ? (await import("./storage/memory/backend.ts")).MemoryBackend.forUrl(url, name, warn)
    : await RedisBackend.connect(url, name, warn, { tls: connect.tls, redis: connect.redis });
}
