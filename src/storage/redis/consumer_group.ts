/**
 * Keeping the stream's consumer group small on Redis: a stopping worker's consumer is deleted,
 * and so are those of workers that are gone (see the two scripts).
 *
 * @module
 */

import type { RedisAccess } from "./access.ts";
import { retireConsumerScript } from "./scripts/retire_consumer.ts";
import { pruneConsumersScript } from "./scripts/prune_consumers.ts";

/** Deletes `worker`'s consumer when nothing is pending for it; true when it was deleted. */
export async function retireConsumer(redis: RedisAccess, worker: string): Promise<boolean> {
  const keys = redis.keys;
  return Number(await redis.run(retireConsumerScript, [keys.stream], [keys.group, worker])) === 1;
}

/** Deletes up to `limit` consumers of gone workers; returns their names. */
export async function pruneConsumers(
  redis: RedisAccess,
  now: number,
  staleMs: number,
  idleMs: number,
  limit: number,
): Promise<string[]> {
  const keys = redis.keys;
  const reply = await redis.run(
    pruneConsumersScript,
    [keys.stream, keys.workers],
    [keys.group, now, staleMs, Math.round(idleMs), limit],
  ) as unknown[];
  return reply.map(String);
}
