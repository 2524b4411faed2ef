/**
 * Keys of the wrong type on Redis: what a docket key holds when something else wrote it (a
 * string where a runs hash belongs). Reads say so with a `WrongTypeKeyError`; writes of a batch
 * report the runs they could not record, and go on with the rest.
 *
 * @module
 */

import type { BackendWarn, FinishRequest, RunRecord } from "../backend.ts";
import { WrongTypeKeyError } from "../../errors.ts";
import type { RedisAccess } from "./access.ts";
import { parseRun } from "./messages.ts";
import { readRunScript } from "./scripts/read_run.ts";

/** True for Redis's WRONGTYPE error. */
export function isWrongType(error: unknown): boolean {
  return String((error as Error)?.message ?? "").includes("WRONGTYPE");
}

/**
 * Reads a runs record, a future task's due time included (`read_run`); a runs key of another
 * type is a `WrongTypeKeyError`.
 */
export async function readRun(redis: RedisAccess, key: string): Promise<RunRecord | undefined> {
  const storeKey = redis.keys.runs(key);
  try {
    const flat = await redis.run(readRunScript, [storeKey, redis.keys.queue], [key], true);
    return parseRun(key, flat as unknown[]);
  } catch (error) {
    if (!isWrongType(error)) throw error;
    throw new WrongTypeKeyError(storeKey, "hash", `task ${key} cannot be read`);
  }
}

/**
 * Reports the runs the finish script could not record (`reply` after its count: task key,
 * error, …). Their messages were acknowledged all the same, so this is the only trace of how
 * they ended (their dead-letter entries aside).
 */
export function reportUnrecorded(
  redis: RedisAccess,
  reply: unknown[],
  requests: readonly FinishRequest[],
  warn: BackendWarn,
): void {
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const key = String(reply[i]);
    const request = requests.find((r) => r.key === key);
    warn("a task's end could not be recorded: its runs key holds the wrong type", {
      key,
      storeKey: redis.keys.runs(key),
      state: request?.state,
      taskError: request?.error,
      reason: String(reply[i + 1]),
    });
  }
}
