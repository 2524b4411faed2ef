/**
 * Opening the Redis connection a docket asks for: from a URL (standalone, Cluster or Sentinel,
 * over TCP or TLS), or a client the caller already configured and keeps owning.
 *
 * The first connection must succeed (a clear error says why not, its passwords hidden); after
 * that node-redis reconnects on its own with a capped backoff, and commands wait for it.
 *
 * @module
 */

import { createClient, createCluster } from "redis";
import { ConnectionError } from "../../errors.ts";
import { adaptRedisToRuntime } from "./bun_writes.ts";
import { ClusterConnection, type RedisConnection } from "./connection.ts";
import { createSentinelConnection, isSentinelClient, SentinelConnection } from "./sentinel.ts";
import { type TlsOptions, type TlsSocketOptions, tlsSocketOptions } from "./tls.ts";
import { parseRedisUrl, redactSecrets, redactUrl, type RedisUrl, secretsOf } from "./url.ts";

/** How a docket connects to Redis, besides its URL. */
export interface RedisConnectOptions {
  /** TLS settings for a `rediss://` URL (see {@linkcode TlsOptions}). */
  tls?: TlsOptions;
  /**
   * A node-redis client (standalone, cluster or sentinel) to use instead of opening one from
   * the URL; the docket never closes it (it closes only the connections it derives from it).
   */
  redis?: unknown;
}

/** An open connection, and whether the docket opened it (and so closes it). */
export interface OpenedConnection {
  connection: RedisConnection;
  owned: boolean;
  /** Hides the passwords of this connection in a message. */
  redact: (text: string) => string;
}

/** Reconnect with a capped backoff once connected; before that, fail at once. */
function backoff(connected: () => boolean) {
  return (retries: number): number | false =>
    connected() ? Math.min(50 * 2 ** retries, 2_000) : false;
}

function describe(url: RedisUrl, redacted: string): string {
  if (url.kind === "cluster") return `Redis Cluster at ${redacted}`;
  if (url.kind === "sentinel") {
    return `Redis master "${url.master}" through the sentinels at ${redacted}`;
  }
  return `Redis at ${redacted}`;
}

/** The socket options node-redis takes for a URL and the TLS options. */
function socketOptions(url: RedisUrl, tls: TlsSocketOptions | undefined, raw: string) {
  if (tls && !url.tls) {
    throw new TypeError(
      `tls options were given but ${redactUrl(raw)} does not use TLS: ` +
        `use rediss://, rediss+cluster:// or rediss+sentinel://`,
    );
  }
  return tls ?? (url.tls ? { tls: true as const } : {});
}

function credentials(url: RedisUrl) {
  return {
    ...(url.username ? { username: url.username } : {}),
    ...(url.password ? { password: url.password } : {}),
  };
}

/** A client for `url`, not connected yet. */
function createConnection(
  url: RedisUrl,
  raw: string,
  route: string,
  tls: TlsSocketOptions | undefined,
  connected: () => boolean,
): RedisConnection {
  const socket = socketOptions(url, tls, raw);
  const reconnectStrategy = backoff(connected);
  if (url.kind === "sentinel") return createSentinelConnection(url, tls, reconnectStrategy);
  if (url.kind === "cluster") {
    const cluster = createCluster({
      rootNodes: [{ socket: { host: url.node.host, port: url.node.port, ...socket } } as any],
      RESP: 2,
      defaults: { ...credentials(url), socket: { ...socket, reconnectStrategy } as any },
    });
    return new ClusterConnection(cluster, route);
  }
  // RESP2 keeps replies as flat arrays, the shape the scripts and parsers here are written for.
  return createClient({
    RESP: 2,
    ...credentials(url),
    ...(url.database ? { database: url.database } : {}),
    socket: { host: url.node.host, port: url.node.port, ...socket, reconnectStrategy } as any,
  }) as unknown as RedisConnection;
}

/**
 * Opens the connection for `url` (or adopts `options.redis`), routing cluster commands by
 * `route` (the docket's hash tag). `onError` hears connection errors after the first connect.
 */
export async function openConnection(
  url: string,
  route: string,
  options: RedisConnectOptions,
  onError: (error: Error) => void,
): Promise<OpenedConnection> {
  // Before any socket writes: on Bun, node-redis's writes are coalesced (see bun_writes.ts).
  adaptRedisToRuntime();
  const secrets = secretsOf(url);
  const redact = (text: string) => redactSecrets(text, secrets);
  if (options.redis !== undefined) {
    return { ...await adoptClient(options.redis, route), redact };
  }
  const parsed = parseRedisUrl(url);
  const tls = tlsSocketOptions(options.tls);
  let connected = false;
  const connection = createConnection(parsed, url, route, tls, () => connected);
  connection.on("error", (error: Error) => {
    if (connected) onError(redactError(error, redact));
  });
  try {
    await connection.connect();
  } catch (error) {
    try {
      connection.destroy();
    } catch {
      // nothing was left open
    }
    throw new ConnectionError(
      redact(`cannot reach ${describe(parsed, redactUrl(url))}: ${reason(error)}`),
      { cause: redactError(error, redact) },
    );
  }
  connected = true;
  return { connection, owned: true, redact };
}

function reason(error: unknown): string {
  const message = (error as Error)?.message || String(error);
  const code = (error as { code?: string })?.code;
  // A refused TLS handshake names only its code in some runtimes: say what it means.
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i.test(`${code} ${message}`)) {
    return `${message} (the server's TLS certificate did not verify: check tls.ca / --tls-ca)`;
  }
  return message;
}

/** The error with its message (and stack) free of passwords. */
export function redactError<E>(error: E, redact: (text: string) => string): E {
  if (!(error instanceof Error)) return error;
  const message = redact(error.message);
  if (message === error.message) return error;
  const copy = new Error(message, { cause: undefined });
  copy.name = error.name;
  copy.stack = error.stack ? redact(error.stack) : undefined;
  return copy as E;
}

/**
 * Uses a client the caller configured: a standalone client as is, a cluster or sentinel client
 * through the same wrappers as those opened from a URL. One not connected yet is connected (it
 * stays the caller's to close). docket's replies and key names assume RESP2 and no key prefix:
 * a client with RESP3 (node-redis's default) or a `keyPrefix` is not used itself but through a
 * copy of it (`duplicate()`) without them, which the docket owns and closes.
 */
async function adoptClient(
  client: any,
  route: string,
): Promise<{ connection: RedisConnection; owned: boolean }> {
  if (typeof client?.sendCommand !== "function" || typeof client?.duplicate !== "function") {
    throw new TypeError("redis must be a node-redis client, cluster or sentinel client");
  }
  const options = client.options ?? client._self?.options ?? {};
  const usable = options.RESP === 2 && options.keyPrefix === undefined;
  // RESP3-only features go with RESP3.
  const source = usable ? client : client.duplicate({
    RESP: 2,
    keyPrefix: undefined,
    ...(options.maintNotifications ? { maintNotifications: "disabled" } : {}),
    ...(options.clientSideCache ? { clientSideCache: undefined } : {}),
    ...(options.emitInvalidate ? { emitInvalidate: undefined } : {}),
  });
  const connection: RedisConnection = typeof source.getNodeClientForKey === "function"
    ? new ClusterConnection(source, route)
    : isSentinelClient(source)
    ? new SentinelConnection(source)
    : source;
  if (!source.isOpen) await connection.connect();
  return { connection, owned: !usable };
}
