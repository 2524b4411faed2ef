/**
 * The connection shapes the Redis backend uses: a standalone client, and a cluster client given its shape.
 *
 * @module
 */

import { type RedisClientType, RESP_TYPES } from "redis";

/** A connected node-redis client, as docket uses it. */
export type RedisClient = RedisClientType;

/** The options docket passes with a command (see {@linkcode commandOptions}). */
export type SendOptions = { timeout?: undefined; typeMapping?: typeof BINARY.typeMapping };

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
  /** `ready`: after a connection (again), once its subscriptions are restored (no argument). */
  on(event: "error" | "ready", listener: (error: Error) => void): unknown;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  pSubscribe(pattern: string, listener: (message: string) => void): Promise<void>;
  pUnsubscribe(pattern: string, listener: (message: string) => void): Promise<void>;
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
  on(event: "error" | "ready", listener: (error: Error) => void): unknown {
    return this.cluster.on(event, listener);
  }
  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.subscribe(channel, listener);
  }
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.unsubscribe(channel, listener);
  }
  pSubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.pSubscribe(pattern, listener);
  }
  pUnsubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.pUnsubscribe(pattern, listener);
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
