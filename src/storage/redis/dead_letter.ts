/**
 * The dead-letter set on Redis: reading pages of it, retrying and purging entries in batches.
 * Entries are written by the `finish` script, in the same step as the run's end.
 *
 * Reads are plain commands (pipelined where they fan out); every write is one script whose keys
 * are all declared, so the caller first reads which task each entry names.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type {
  FailedPageRequest,
  FailedPosition,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
} from "../dead_letter.ts";
import type { RedisAccess } from "./access.ts";
import { fieldMap, text } from "./messages.ts";
import { retryFailedScript } from "./scripts/retry_failed.ts";
import { purgeFailedScript } from "./scripts/purge_failed.ts";

/** How many extra index members a page reads, for the ones it may have to skip. */
const PAGE_SLACK = 16;

/** Parses a dead-letter entry hash read with HGETALL (binary); undefined when it is gone. */
export function parseFailed(flat: unknown[]): FailedRecord | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const fields = fieldMap(flat);
  const key = fields.get("key");
  const task = fields.get("task");
  const data = fields.get("data");
  if (key === undefined || task === undefined || data === undefined) return undefined;
  const stack = fields.get("estack");
  return {
    key: text(key),
    task: text(task),
    data,
    when: Number(text(fields.get("when") ?? "0")),
    attempt: Number(text(fields.get("attempt") ?? "1")),
    worker: fields.has("worker") ? text(fields.get("worker")) || undefined : undefined,
    failedAt: Number(text(fields.get("failed") ?? "0")),
    error: {
      name: text(fields.get("ename") ?? "Error"),
      message: text(fields.get("emessage") ?? ""),
      ...(stack && stack.length > 0 ? { stack: text(stack) } : {}),
    },
  };
}

/** Reads one entry. */
export async function readFailed(
  redis: RedisAccess,
  key: string,
): Promise<FailedRecord | undefined> {
  const flat = await redis.send(["HGETALL", redis.keys.failedEntry(key)], true) as unknown[];
  return parseFailed(flat);
}

/** True when (score, member) comes after `after` in newest-first order (Redis orders bytes). */
function comesAfter(failedAt: number, key: string, after: FailedPosition | undefined): boolean {
  if (!after || failedAt < after.failedAt) return true;
  if (failedAt > after.failedAt) return false;
  return Buffer.compare(Buffer.from(key), Buffer.from(after.key)) < 0;
}

/** A page of the index, newest first; members whose entry is gone or moved are removed. */
export async function failedPage(
  redis: RedisAccess,
  request: FailedPageRequest,
  now: number,
  ttlMs: number,
): Promise<FailedRecord[]> {
  const keys = redis.keys;
  const index = request.task === undefined ? keys.failed : keys.failedByTask(request.task);
  if (ttlMs > 0) await redis.send(["ZREMRANGEBYSCORE", index, "-inf", now - ttlMs]);
  const max = request.after?.failedAt ?? request.failedBefore ?? "+inf";
  const records: FailedRecord[] = [];
  let offset = 0;
  while (records.length < request.limit) {
    const count = request.limit - records.length + PAGE_SLACK;
    const reply = await redis.send(
      ["ZREVRANGEBYSCORE", index, max, "-inf", "WITHSCORES", "LIMIT", offset, count],
    ) as string[];
    offset += reply.length / 2;
    const members: string[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (comesAfter(Number(reply[i + 1]), reply[i], request.after)) members.push(reply[i]);
    }
    const entries = await Promise.all(members.map((key) => readFailed(redis, key)));
    const gone: string[] = [];
    for (const [i, entry] of entries.entries()) {
      if (entry === undefined || entry.task !== (request.task ?? entry.task)) gone.push(members[i]);
      else if (records.length < request.limit) records.push(entry);
    }
    if (gone.length > 0) {
      // Removing members shifts the offsets of the members after them.
      offset -= gone.length;
      await redis.send(["ZREM", index, ...gone]);
    }
    if (reply.length / 2 < count) break;
  }
  return records;
}

/** Reruns entries; one outcome per key (see the `retry_failed` script). */
export async function retryFailed(
  redis: RedisAccess,
  keys: string[],
  now: number,
): Promise<FailedRetryOutcome[]> {
  const outcomes: FailedRetryOutcome[] = new Array(keys.length).fill("missing");
  let pending = keys.map((key, at) => ({ key, at }));
  // An entry written again under another task between the read and the script is read again.
  for (let round = 0; round < 3 && pending.length > 0; round++) {
    const tasks = await Promise.all(
      pending.map(({ key }) => redis.send(["HGET", redis.keys.failedEntry(key), "task"])),
    ) as (string | null)[];
    const found = pending.map((item, i) => ({ ...item, task: tasks[i] }))
      .filter((item): item is { key: string; at: number; task: string } => item.task !== null);
    if (found.length === 0) break;
    const scriptKeys = [redis.keys.failed, redis.keys.stream];
    const args: (string | number)[] = [now];
    for (const { key, task } of found) {
      scriptKeys.push(
        redis.keys.failedEntry(key),
        redis.keys.runs(key),
        redis.keys.failedByTask(task),
      );
      args.push(key, task, redis.keys.stateChannel(key));
    }
    const replies = await redis.run(retryFailedScript, scriptKeys, args) as string[];
    pending = [];
    for (const [i, item] of found.entries()) {
      const reply = text(replies[i]);
      if (reply === "changed") pending.push(item);
      else outcomes[item.at] = reply as FailedRetryOutcome;
    }
  }
  return outcomes;
}

/** Removes one batch of entries (see the `purge_failed` script). */
export async function purgeFailed(
  redis: RedisAccess,
  request: FailedPurgeRequest,
): Promise<{ removed: number; purged: number }> {
  const keys = redis.keys;
  const index = request.task === undefined ? keys.failed : keys.failedByTask(request.task);
  const members = await redis.send(
    ["ZRANGEBYSCORE", index, "-inf", request.failedBefore, "LIMIT", 0, request.limit],
  ) as string[];
  if (members.length === 0) return { removed: 0, purged: 0 };
  const tasks: (string | null)[] = request.task !== undefined
    ? members.map(() => request.task as string)
    : await Promise.all(
      members.map((key) =>
        redis.send(["HGET", keys.failedEntry(key), "task"]) as Promise<string | null>
      ),
    );
  const scriptKeys = [keys.failed];
  const args: (string | number)[] = [
    request.failedBefore,
    request.task === undefined ? "all" : "task",
  ];
  for (const [i, key] of members.entries()) {
    const task = tasks[i];
    // An entry already gone has no task: its member is removed from the index scanned.
    scriptKeys.push(keys.failedEntry(key), task === null ? index : keys.failedByTask(task));
    args.push(key, task ?? "");
  }
  const [purged, removed] = await redis.run(purgeFailedScript, scriptKeys, args) as number[];
  return { removed: Number(removed), purged: Number(purged) };
}

/** How many entries the set holds, after trimming the members older than `ttlMs`. */
export async function countFailed(redis: RedisAccess, now: number, ttlMs: number): Promise<number> {
  if (ttlMs > 0) await redis.send(["ZREMRANGEBYSCORE", redis.keys.failed, "-inf", now - ttlMs]);
  return Number(await redis.send(["ZCARD", redis.keys.failed]));
}
