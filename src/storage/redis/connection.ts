/**
 * Connecting to Redis from a docket URL.
 *
 * @module
 */

import { createClient, createCluster, type RedisClientType, RESP_TYPES } from "redis";
import { ConnectionError } from "../../errors.ts";

/** A connected node-redis client, as docket uses it. */
export type RedisClient = RedisClientType;

/** The options docket passes with a command (see {@linkcode commandOptions}). */
type SendOptions = { timeout?: undefined; typeMapping?: typeof BINARY.typeMapping };

/**
 * The part of a client the Redis backend uses: a standalone node-redis client has it as is, and
 * {@linkcode ClusterConnection} gives a cluster client the same shape.
 */
export interface RedisConnection {
  readonly isReady: boolean;
  sendCommand(args: (string | Buffer)[], options?: SendOptions): Promise<unknown>;
  /** Another connection like this one, not connected yet. */
  duplicate(): RedisConnection;
  connect(): Promise<unknown>;
  on(event: "error", listener: (error: Error) => void): unknown;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

/** node-redis's cluster client (its generic type is too heavy to spell out here). */
type RedisCluster = any;

/**
 * A node-redis cluster client with a standalone client's `sendCommand(args, options)`: every
 * command is routed by the docket's hash tag (`{<docket>}`), which every docket key starts with,
 * so a docket's commands and scripts (and `SCRIPT LOAD`, which has no key) all reach the node
 * that holds its slot. Pub/sub uses the cluster's pub/sub connection (a `PUBLISH` reaches every
 * node), and `duplicate()` opens a cluster client of its own (for blocking reads).
 */
export class ClusterConnection implements RedisConnection {
  readonly cluster: RedisCluster;
  readonly #route: string;
  constructor(cluster: RedisCluster, route: string) {
    this.cluster = cluster;
    this.#route = route;
  }
  get isReady(): boolean {
    return this.cluster.isReady;
  }
  sendCommand(args: (string | Buffer)[], options?: SendOptions): Promise<unknown> {
    return this.cluster.sendCommand(this.#route, false, args, options);
  }
  duplicate(): ClusterConnection {
    return new ClusterConnection(this.cluster.duplicate(), this.#route);
  }
  connect(): Promise<unknown> {
    return this.cluster.connect();
  }
  on(event: "error", listener: (error: Error) => void): unknown {
    return this.cluster.on(event, listener);
  }
  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.subscribe(channel, listener);
  }
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.unsubscribe(channel, listener);
  }
  close(): Promise<void> {
    return this.cluster.close();
  }
  destroy(): void {
    this.cluster.destroy();
  }
  /** The node-redis client of the node that holds the docket's slot now. */
  nodeClient(): Promise<RedisClient> {
    return this.cluster.getNodeClientForKey(this.#route);
  }
}

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
  client: RedisConnection,
  binary: boolean,
): SendOptions | undefined {
  if (client.isReady) return binary ? BINARY_NO_WRITE_TIMEOUT : NO_WRITE_TIMEOUT;
  return binary ? BINARY : undefined;
}

/** Hides a password in a URL before it is shown in a message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, "//$1:***@");
}

/** Whether `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:/i.test(url);
}

/**
 * Checks a URL's scheme: standalone Redis (`redis://`, `rediss://`) or a Redis Cluster
 * (`redis+cluster://`, `rediss+cluster://`, one node to discover it from), over TCP or TLS.
 */
export function validateRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${redactUrl(url)}" is not a valid URL (expected redis://host:port/db)`);
  }
  const scheme = parsed.protocol.toLowerCase();
  if (scheme === "redis+cluster:" || scheme === "rediss+cluster:") {
    if (parsed.pathname !== "" && parsed.pathname !== "/" && parsed.pathname !== "/0") {
      throw new TypeError(`a Redis Cluster has only database 0, got ${redactUrl(url)}`);
    }
    return;
  }
  if (scheme !== "redis:" && scheme !== "rediss:") {
    throw new TypeError(
      `unsupported URL scheme "${parsed.protocol}" in ${redactUrl(url)}: ` +
        `use redis://, rediss://, redis+cluster://, rediss+cluster:// or memory://`,
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

/**
 * Opens a Redis Cluster client from one node's URL, routing every command by `route` (the
 * docket's hash tag). Credentials and TLS from the URL apply to every node discovered.
 */
export async function connectCluster(
  url: string,
  route: string,
  onError: (error: Error) => void,
): Promise<ClusterConnection> {
  validateRedisUrl(url);
  const parsed = new URL(url);
  const tls = parsed.protocol.toLowerCase() === "rediss+cluster:";
  const nodeUrl = `${tls ? "rediss" : "redis"}://${parsed.host}`;
  let connected = false;
  const cluster = createCluster({
    rootNodes: [{ url: nodeUrl }],
    RESP: 2,
    defaults: {
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      socket: {
        ...(tls ? { tls: true as const } : {}),
        reconnectStrategy: (retries: number) =>
          connected ? Math.min(50 * 2 ** retries, 2_000) : false,
      },
    },
  });
  cluster.on("error", (error: Error) => {
    if (connected) onError(error);
  });
  try {
    await cluster.connect();
  } catch (error) {
    try {
      cluster.destroy();
    } catch {
      // nothing was left open
    }
    throw new ConnectionError(
      `cannot reach Redis Cluster at ${redactUrl(url)}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
  connected = true;
  return new ClusterConnection(cluster, route);
}

/** Opens another connection like `client` (for blocking reads and subscriptions). */
export async function duplicateConnection(
  client: RedisConnection,
  onError: (error: Error) => void,
): Promise<RedisConnection> {
  const copy = client.duplicate();
  copy.on("error", onError);
  await copy.connect();
  return copy;
}
