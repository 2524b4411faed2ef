/**
 * What the Redis backend's parts (flow control, the consumer, the registry, listings, batched
 * adds) need of it: the key layout, sending a command and running a script. They take this
 * rather than the backend, so none of them imports the backend.
 *
 * @module
 */

import type { DocketKeys } from "../../keys.ts";
import type { LuaScript } from "./script.ts";
import { Buffer } from "node:buffer";

/** One command argument: numbers are sent as decimal strings, bytes as they are. */
export type Arg = string | number | Uint8Array;

/** An argument as node-redis sends it: a string or a Buffer (bytes are not copied). */
export function toArgument(arg: Arg): string | Buffer {
  if (typeof arg === "number") return String(arg);
  if (typeof arg === "string" || Buffer.isBuffer(arg)) return arg;
  return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
}

/** What these functions need of the Redis backend. */
export interface RedisAccess {
  /** The docket's key layout. */
  readonly keys: DocketKeys;
  /**
   * Whether subscribers may be connected to nodes other than the one that runs the scripts
   * (Redis Cluster, where a PUBLISH reaches every node): a script cannot count who hears an
   * event there, so it publishes every one (see `scripts/listeners.ts`).
   */
  readonly subscribersElsewhere: boolean;
  /** Sends one command; with `binary`, blob strings come back as bytes. */
  send(args: Arg[], binary?: boolean): Promise<unknown>;
  /** Runs a Lua script by SHA. */
  run(script: LuaScript, keys: string[], args: Arg[], binary?: boolean): Promise<unknown>;
}

/** {@linkcode RedisAccess}, plus creating the consumer group when it is missing. */
export interface GroupAccess extends RedisAccess {
  /** Creates the consumer group (and the stream) if they do not exist yet. */
  ensureGroup(): Promise<void>;
}
