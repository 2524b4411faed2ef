/**
 * The strike stream on Redis: appending strike instructions, and reading them in order (a
 * blocking read goes on a connection of its own, so it never holds up other commands).
 *
 * @module
 */

import type { RedisAccess } from "./access.ts";
import { BINARY, type RedisConnection } from "./connection.ts";
import { fieldMap, type RawEntry, text } from "./messages.ts";
import { compactStrikesScript } from "./scripts/compact_strikes.ts";

/** Appends an encoded strike instruction; returns its stream id. */
export async function appendStrike(redis: RedisAccess, instruction: Uint8Array): Promise<string> {
  return String(await redis.send(["XADD", redis.keys.strikes, "*", "i", instruction]));
}

/**
 * Replaces the stream's history with `snapshot` when `lastId` is its newest entry and it holds at
 * least `minLength` entries; true when it did.
 */
export async function compactStrikes(
  redis: RedisAccess,
  lastId: string,
  snapshot: Uint8Array,
  minLength: number,
): Promise<boolean> {
  const reply = await redis.run(compactStrikesScript, [redis.keys.strikes], [
    lastId,
    snapshot,
    minLength,
  ]);
  return text(reply as string) !== "";
}

/**
 * Up to 100 instructions after `afterId`; with `blockMs`, waits that long for one on the
 * connection `reader` gives.
 */
export async function readStrikes(
  redis: RedisAccess,
  reader: () => Promise<RedisConnection>,
  afterId: string,
  blockMs: number,
): Promise<{ id: string; instruction: Uint8Array }[]> {
  const args = ["XREAD", "COUNT", 100];
  let reply: unknown;
  if (blockMs > 0) {
    reply = await (await reader()).sendCommand(
      [...args, "BLOCK", blockMs, "STREAMS", redis.keys.strikes, afterId].map(String),
      BINARY,
    );
  } else {
    reply = await redis.send([...args, "STREAMS", redis.keys.strikes, afterId], true);
  }
  if (!reply) return [];
  const entries = (reply as [unknown, RawEntry[]][])[0]?.[1] ?? [];
  return entries.map(([id, flat]) => ({ id: text(id), instruction: fieldMap(flat).get("i")! }))
    .filter((entry) => entry.instruction !== undefined);
}
