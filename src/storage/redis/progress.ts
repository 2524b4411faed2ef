/**
 * Progress records on Redis: reading a task's progress, and updating it atomically with the
 * progress script (which also publishes the new record).
 *
 * @module
 */

import type { ProgressRecord } from "../backend.ts";
import type { RedisAccess } from "./access.ts";
import { fieldMap, text } from "./messages.ts";
import { progressScript } from "./scripts/progress.ts";

/** How long a progress record lives without an update (it is deleted when the task ends). */
const PROGRESS_TTL_MS = 86_400_000;

/** The progress recorded for `key`, if any. */
export async function readProgress(
  redis: RedisAccess,
  key: string,
): Promise<ProgressRecord | undefined> {
  const flat = await redis.send(["HGETALL", redis.keys.progress(key)]) as unknown[];
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const fields = fieldMap(flat);
  const number = (name: string) => {
    const value = fields.get(name);
    return value === undefined ? undefined : Number(text(value));
  };
  const message = fields.get("message");
  return {
    current: number("current"),
    total: number("total"),
    message: message === undefined ? undefined : text(message),
    updatedAt: number("updated"),
  };
}

/** Applies `change` to the progress `key`'s run `generation` reports; returns the new record. */
export async function writeProgress(
  redis: RedisAccess,
  key: string,
  generation: number,
  change: { total?: number; message?: string | null; increment?: number },
  now: number,
): Promise<ProgressRecord> {
  const reply = await redis.run(progressScript, [redis.keys.progress(key)], [
    key,
    generation,
    now,
    change.total ?? "",
    change.message ?? "",
    change.message === null ? "1" : "0",
    change.increment ?? "",
    PROGRESS_TTL_MS,
  ]) as (string | null)[];
  return {
    current: reply[0] == null ? undefined : Number(reply[0]),
    total: reply[1] == null ? undefined : Number(reply[1]),
    message: reply[2] ?? undefined,
    updatedAt: reply[3] == null ? undefined : Number(reply[3]),
  };
}
