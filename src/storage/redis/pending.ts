/**
 * Listing and dropping what waits on Redis: counting the waiting tasks, listing them (with the
 * consumer holding each delivered one) for snapshots, and `clear`.
 *
 * @module
 */

import type { PendingTasks, TaskMessage } from "../backend.ts";
import type { GroupAccess, RedisAccess } from "./access.ts";
import {
  lacksPayload,
  messageFromRun,
  parseMessage,
  type RawEntry,
  RUN_MESSAGE_FIELDS,
  text,
} from "./messages.ts";
import * as flow from "./flow.ts";
import { isWrongType } from "./wrong_type.ts";

/** Stream entries read per XRANGE while clearing. */
const CLEAR_PAGE = 1000;

/** How many tasks are on the stream, and how many wait in the queue or behind limits. */
export async function counts(redis: RedisAccess): Promise<{ stream: number; queue: number }> {
  const [stream, queue, parked] = await Promise.all([
    redis.send(["XLEN", redis.keys.stream]),
    redis.send(["ZCARD", redis.keys.queue]),
    flow.parkedCount(redis),
  ]);
  return { stream: Number(stream), queue: Number(queue) + parked };
}

/** Up to `limit` messages of the stream (with their holders) and of those waiting. */
export async function pending(redis: GroupAccess, limit: number): Promise<PendingTasks> {
  const keys = redis.keys;
  await redis.ensureGroup();
  const [entries, holders, queued] = await Promise.all([
    redis.send(["XRANGE", keys.stream, "-", "+", "COUNT", limit], true),
    redis.send(["XPENDING", keys.stream, keys.group, "-", "+", limit]),
    redis.send(["ZRANGE", keys.queue, 0, limit - 1, "WITHSCORES"]),
  ]) as [RawEntry[], [string, string, number, number][], string[]];
  const held = new Map(holders.map(([id, consumer, idle]) => [id, { consumer, idle }]));
  const now = Date.now();
  const stream: PendingTasks["stream"] = [];
  for (const [rawId, flat] of entries) {
    const message = parseMessage(flat);
    if (typeof message === "string") continue;
    const id = text(rawId);
    const holder = held.get(id);
    stream.push({
      id,
      message,
      consumer: holder?.consumer,
      deliveredAt: holder ? now - Number(holder.idle) : undefined,
    });
  }
  await fillPayloads(redis, stream.map(({ message }) => message));
  const future: Promise<TaskMessage | undefined>[] = [];
  for (let i = 0; i + 1 < queued.length; i += 2) {
    future.push(futureMessage(redis, queued[i], queued[i + 1]));
  }
  const queue = (await Promise.all(future)).filter((m): m is TaskMessage => m !== undefined);
  if (queue.length < limit) queue.push(...await flow.parkedMessages(redis, limit - queue.length));
  return { stream, queue };
}

/**
 * Gives messages without a payload field (tracked tasks: the payload is stored once, in the runs
 * record) the record's payload, read in one pipelined round trip.
 */
async function fillPayloads(redis: RedisAccess, messages: TaskMessage[]): Promise<void> {
  const lacking = messages.filter(lacksPayload);
  const payloads = await Promise.all(
    lacking.map(({ key }) =>
      redis.send(["HGET", redis.keys.runs(key), "data"], true).catch(() => undefined)
    ),
  );
  lacking.forEach((message, i) => {
    if (payloads[i] instanceof Uint8Array) message.data = payloads[i];
  });
}

/**
 * The message of a future task, as `move_due` will write it: from its parked hash when there is
 * one (an untracked task, or a tracked one written by an earlier version), else from its runs
 * record and its `score` in the queue (its due time, when the record leaves it out). Undefined
 * when neither holds a usable message (a key of another type included).
 */
async function futureMessage(
  redis: RedisAccess,
  key: string,
  score: string,
): Promise<TaskMessage | undefined> {
  const keys = redis.keys;
  // A key of another type (written by something else) leaves this task out of the listing.
  const [parked, record] = await Promise.all([
    redis.send(["HGETALL", keys.parked(key)], true).catch(skipWrongType),
    redis.send(["HMGET", keys.runs(key), ...RUN_MESSAGE_FIELDS], true).catch(skipWrongType),
  ]) as [unknown[], unknown[]];
  const message = Array.isArray(parked) && parked.length > 0
    ? parseMessage(parked)
    : messageFromRun(key, record, score);
  return typeof message === "string" ? undefined : message;
}

function skipWrongType(error: unknown): unknown[] {
  if (isWrongType(error)) return [];
  throw error;
}

/**
 * Drops every waiting task, cancelling each with `cancelAt` (all at one time, taken once the
 * group exists; delivered ones are left to finish); returns how many were dropped.
 */
export async function clear(
  redis: GroupAccess,
  cancelAt: (key: string, now: number) => Promise<void>,
): Promise<number> {
  await redis.ensureGroup();
  const now = Date.now();
  const cancel = (key: string) => cancelAt(key, now);
  let cleared = await clearStream(redis, cancel);
  cleared += await clearQueue(redis, cancel);
  cleared += await flow.clearParked(redis, cancel);
  return cleared;
}

/** Deletes the stream's undelivered entries, a page at a time, cancelling their tasks. */
async function clearStream(
  redis: RedisAccess,
  cancel: (key: string) => Promise<void>,
): Promise<number> {
  const keys = redis.keys;
  let cleared = 0;
  const held = new Set(
    (await redis.send(["XPENDING", keys.stream, keys.group, "-", "+", 1_000_000]) as string[][])
      .map(([id]) => id),
  );
  let start = "-";
  for (;;) {
    const entries = await redis.send(
      ["XRANGE", keys.stream, start, "+", "COUNT", CLEAR_PAGE],
      true,
    ) as RawEntry[];
    if (entries.length === 0) break;
    const work: Promise<unknown>[] = [];
    for (const [rawId, flat] of entries) {
      const id = text(rawId);
      if (held.has(id)) continue;
      const message = parseMessage(flat);
      work.push(redis.send(["XDEL", keys.stream, id]));
      if (typeof message !== "string") work.push(cancel(message.key));
      cleared++;
    }
    await Promise.all(work);
    start = `(${text(entries[entries.length - 1][0])}`;
    if (entries.length < CLEAR_PAGE) break;
  }
  return cleared;
}

/** Cancels every task in the future queue, a thousand at a time. */
async function clearQueue(
  redis: RedisAccess,
  cancel: (key: string) => Promise<void>,
): Promise<number> {
  let cleared = 0;
  for (;;) {
    const queued = await redis.send(["ZRANGE", redis.keys.queue, 0, 999]) as string[];
    if (queued.length === 0) break;
    await Promise.all(queued.map((key) => cancel(key)));
    cleared += queued.length;
  }
  return cleared;
}
