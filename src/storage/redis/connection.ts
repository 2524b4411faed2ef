/**
 * Connecting to Redis from a docket URL.
 *
 * @module
 */

import { createClient, type RedisClientType, RESP_TYPES } from "redis";
import { ConnectionError } from "../../errors.ts";

/** A connected node-redis client, as docket uses it. */
export type RedisClient = RedisClientType;

/** Command options that return blob strings as bytes (payloads and results are MessagePack). */
export const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/**
 * node-redis gives every command a timeout (5 s by default) for the time it waits to be written,
 * which matters only while the connection is down: a command sent on a ready connection is
 * written at the next turn of the event loop. Each timeout is an `AbortSignal.timeout` whose
 * timer lives its full 5 s, a real cost at tens of thousands of commands a second, so commands
 * sent while the connection is ready go without one ({@linkcode commandOptions}).
 */
const NO_WRITE_TIMEOUT = { timeout: undefined } as const;
const BINARY_NO_WRITE_TIMEOUT = { ...BINARY, timeout: undefined } as const;

/**
 * The options for a command sent now on `client`: bytes for blob strings with `binary`, and no
 * write timeout when the connection is ready (see above; while it is down, the default applies).
 */
export function commandOptions(
  client: RedisClient,
  binary: boolean,
): { timeout?: undefined; typeMapping?: typeof BINARY.typeMapping } | undefined {
  if (client.isReady) return binary ? BINARY_NO_WRITE_TIMEOUT : NO_WRITE_TIMEOUT;
  return binary ? BINARY : undefined;
}

/** Hides a password in a URL before it is shown in a message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, "//$1:***@");
}

/**
 * Checks a URL's scheme; standalone Redis over TCP or TLS is what this backend speaks.
 */
export function validateRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${redactUrl(url)}" is not a valid URL (expected redis://host:port/db)`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(
      `unsupported URL scheme "${parsed.protocol}" in ${redactUrl(url)}: ` +
        `use redis://, rediss:// or memory://`,
    );
  }
}

/**
 * Opens a client. The first connection must succeed (a clear error says why not); after that
 * node-redis reconnects on its own with a capped backoff, and commands wait for it.
 */
export async function connectRedis(
  url: string,
  onError: (error: Error) => void,
): Promise<RedisClient> {
  validateRedisUrl(url);
  let connected = false;
  // RESP2 keeps replies as flat arrays, the shape the scripts and parsers here are written for.
  const client = createClient({
    url,
    RESP: 2,
    socket: {
      reconnectStrategy: (retries: number) =>
        connected ? Math.min(50 * 2 ** retries, 2_000) : false,
    },
  });
  client.on("error", (error: Error) => {
    if (connected) onError(error);
  });
  try {
    await client.connect();
  } catch (error) {
    throw new ConnectionError(
      `cannot reach Redis at ${redactUrl(url)}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
  connected = true;
  return client as unknown as RedisClient;
}

/** Opens another connection like `client` (for blocking reads and subscriptions). */
export async function duplicateConnection(
  client: RedisClient,
  onError: (error: Error) => void,
): Promise<RedisClient> {
  const copy = client.duplicate();
  copy.on("error", onError);
  await copy.connect();
  return copy;
}
