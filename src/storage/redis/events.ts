/**
 * The Redis backend's listening and counting helpers: subscribing to channels or patterns on the
 * shared subscriber connection, and the per-minute run counters of `src/stats/`.
 *
 * @module
 */

import type { FinishRequest, Unsubscribe } from "../backend.ts";
import type { DocketKeys } from "../../keys.ts";
import { minuteOf, STATS_TTL_MS } from "../../stats/minute_stats.ts";
import type { RedisAccess } from "./access.ts";
import type { RedisConnection } from "./connection.ts";

/**
 * Delivers the messages of `names` (channels, or patterns such as `{d}:state:*`) to `listener`;
 * resolves with the function that stops it (a no-op once the backend is closed).
 */
export async function listen(
  subscriber: RedisConnection,
  kind: "channel" | "pattern",
  names: string[],
  listener: (message: string) => void,
  isClosed: () => boolean,
): Promise<Unsubscribe> {
  const wrapped = (message: string) => listener(message);
  for (const name of names) {
    if (kind === "channel") await subscriber.subscribe(name, wrapped);
    else await subscriber.pSubscribe(name, wrapped);
  }
  return async () => {
    if (isClosed()) return;
    try {
      for (const name of names) {
        if (kind === "channel") await subscriber.unsubscribe(name, wrapped);
        else await subscriber.pUnsubscribe(name, wrapped);
      }
    } catch {
      // The connection is going away; nothing is left to unsubscribe.
    }
  };
}

/** Reads the counters of the given minutes, sent together (node-redis pipelines them). */
export async function readStats(
  access: RedisAccess,
  minutes: number[],
): Promise<Record<string, number>[]> {
  const replies = await Promise.all(
    minutes.map((minute) => access.send(["HGETALL", access.keys.stats(minute)])),
  );
  return replies.map(numericFields);
}

/** A HGETALL reply (a flat list or a map, by protocol) as field to number. */
function numericFields(reply: unknown): Record<string, number> {
  const record: Record<string, number> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = Number(reply[i + 1]);
  } else if (reply && typeof reply === "object") {
    for (const [field, value] of Object.entries(reply)) record[field] = Number(value);
  }
  return record;
}

/** The patterns of every state and progress channel of the docket. */
export function eventPatterns(keys: DocketKeys): string[] {
  return [keys.stateChannel("*"), keys.progressChannel("*")];
}

/** The stats hash of the minute `now` falls in (the finish script's last key). */
export function statsKey(keys: DocketKeys, now: number): string {
  return keys.stats(minuteOf(now));
}

/**
 * The finish script's stats arguments: the TTL, then how many runs of the batch completed,
 * failed and were cancelled.
 */
export function statsArgs(requests: readonly FinishRequest[]): number[] {
  const counts = [0, 0, 0];
  for (const { state } of requests) counts[["completed", "failed", "cancelled"].indexOf(state)]++;
  return [STATS_TTL_MS, ...counts];
}
