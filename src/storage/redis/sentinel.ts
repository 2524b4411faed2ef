/**
 * Redis Sentinel: the master is found through the sentinels and followed across a failover.
 *
 * node-redis's sentinel client does the discovery: it asks the sentinels for the master, listens
 * on their `switch-master` channel, and sends a command again on the new master when the old one
 * answered `-READONLY` or dropped the connection. Blocking reads get a sentinel client of their
 * own (`duplicate()`), and its pub/sub follows the master too.
 *
 * When the master changes, node-redis destroys the old master and pub/sub connections, which
 * rejects whatever was still queued on them (a command, a `SUBSCRIBE` or an `UNSUBSCRIBE` sent
 * while the old master was down) with "Disconnects client". Those are sent again here, on the
 * new master, so a failover reaches no caller as an error.
 *
 * @module
 */

import { createSentinel } from "redis";
import type { RedisConnection, SendOptions } from "./connection.ts";
import type { RedisUrl } from "./url.ts";
import type { TlsSocketOptions } from "./tls.ts";

/** node-redis's sentinel client (its generic type is too heavy to spell out here). */
type RedisSentinel = any;

/** How long a command caught by a failover is retried. */
const FAILOVER_WAIT_MS = 60_000;

/** Whether `error` says the connection went away (rather than Redis refusing the command). */
function isConnectionLoss(error: unknown): boolean {
  const { name, message } = (error ?? {}) as Error;
  return /DisconnectsClient|SocketClosedUnexpectedly|ConnectionTimeout|Reconnect/.test(name) ||
    /Disconnects client|Socket closed unexpectedly|ECONNREFUSED|ECONNRESET|EPIPE/.test(
      String(message),
    );
}

/** A node-redis sentinel client with a standalone client's `sendCommand(args, options)`. */
export class SentinelConnection implements RedisConnection {
  readonly sentinel: RedisSentinel;
  constructor(sentinel: RedisSentinel) {
    this.sentinel = sentinel;
  }
  get isReady(): boolean {
    return this.sentinel.isReady;
  }
  get isOpen(): boolean {
    return this.sentinel.isOpen;
  }
  /**
   * Runs `send`, and again while a failover drops its connection (before the sentinels named
   * the new master, or as node-redis replaces the old master's connections), for up to a
   * minute, as a standalone client's commands wait for it to reconnect.
   */
  async #throughFailover<T>(send: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + FAILOVER_WAIT_MS;
    for (let attempt = 0;; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (!this.sentinel.isOpen || !isConnectionLoss(error) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)));
      }
    }
  }
  /** Sends a command; one caught by a failover is sent again on the new master. */
  sendCommand(args: (string | Buffer)[], options?: SendOptions): Promise<unknown> {
    return this.#throughFailover(() => this.sentinel.sendCommand(false, args, options));
  }
  duplicate(): SentinelConnection {
    return new SentinelConnection(this.sentinel.duplicate());
  }
  connect(): Promise<unknown> {
    return this.sentinel.connect();
  }
  on(event: "error" | "ready", listener: (error: Error) => void): unknown {
    return this.sentinel.on(event, listener);
  }
  /**
   * Subscribes; a `SUBSCRIBE` caught by a failover is sent again (node-redis adds the listener
   * only once Redis confirms, so a rejected one left nothing behind).
   */
  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.#throughFailover(() => this.sentinel.subscribe(channel, listener));
  }
  /**
   * Unsubscribes; an `UNSUBSCRIBE` caught by a failover is sent again (node-redis moved the
   * listener to the new master's connection, where it would otherwise stay).
   */
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.#throughFailover(() => this.sentinel.unsubscribe(channel, listener));
  }
  pSubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    return this.sentinel.pSubscribe(pattern, listener);
  }
  pUnsubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    return this.sentinel.pUnsubscribe(pattern, listener);
  }
  close(): Promise<void> {
    return this.sentinel.close();
  }
  destroy(): void {
    this.sentinel.destroy().catch(() => {});
  }
}

/** Whether `client` is a node-redis sentinel client (for clients a caller brings). */
export function isSentinelClient(client: any): boolean {
  return typeof client?.getMasterNode === "function" && typeof client?.acquire === "function";
}

/**
 * A sentinel client for a `redis+sentinel://` URL, not connected yet. The URL's credentials
 * apply to the master and replicas, `sentinel_username` / `sentinel_password` to the sentinels;
 * TLS (from `rediss+sentinel://` or the `tls` options) applies to both.
 */
export function createSentinelConnection(
  url: Extract<RedisUrl, { kind: "sentinel" }>,
  tls: TlsSocketOptions | undefined,
  reconnectStrategy: (retries: number) => number | false,
): SentinelConnection {
  const socket = { ...(tls ?? (url.tls ? { tls: true as const } : {})), reconnectStrategy };
  const sentinel = createSentinel({
    name: url.master,
    sentinelRootNodes: url.sentinels,
    // RESP2 keeps replies as flat arrays, the shape the scripts and parsers here are written for.
    RESP: 2,
    // One connection to the master, kept for this client: commands stay in the order they are
    // sent (a blocking read and the command behind it share one connection).
    masterPoolSize: 1,
    reserveClient: true,
    passthroughClientErrorEvents: true,
    nodeClientOptions: {
      ...(url.username ? { username: url.username } : {}),
      ...(url.password ? { password: url.password } : {}),
      ...(url.database ? { database: url.database } : {}),
      socket,
    } as any,
    sentinelClientOptions: {
      ...(url.sentinelUsername ? { username: url.sentinelUsername } : {}),
      ...(url.sentinelPassword ? { password: url.sentinelPassword } : {}),
      socket: { ...(tls ?? (url.tls ? { tls: true as const } : {})) },
    } as any,
  } as any);
  return new SentinelConnection(sentinel);
}
