/**
 * Flow control on Redis: admission (one script per gated delivery), releasing slots and waking
 * waiters, renewing slots, the safeguard, and the parked tasks' part of counts, listings and
 * `clear`.
 *
 * Keys (all under the docket's hash tag, see `DocketKeys.flow`): a concurrency limit is a sorted
 * set of slots (member `<task key>@<generation>`, score = when the slot was taken or last
 * renewed) plus a stream of waiters (`…:waiters`); the watch set lists the limits that have
 * waiters. Debounce is a hash (`winner`, `seen`), cooldown a string, rate limit a sorted set of
 * start times.
 *
 * @module
 */

import type {
  AdmitOutcome,
  AdmitRequest,
  ReleaseRequest,
  SlotHold,
  TaskMessage,
} from "../backend.ts";
import type { Arg, RedisAccess } from "./access.ts";
import { WrongTypeKeyError } from "../../errors.ts";
import { parseMessage, type RawEntry, text } from "./messages.ts";
import { admitScript } from "./scripts/admit.ts";
import { releaseScript } from "./scripts/release.ts";
import { renewSlotsScript } from "./scripts/renew_slots.ts";

/** Waiter entries the release script hands back per limit, to be declared in the next call. */
const WAITERS_PER_READ = 8;
/** Release calls per request at most; the safeguard finishes anything left. */
const RELEASE_ROUNDS = 8;

/** Runs the admit script for one delivery. */
export async function admit(
  redis: RedisAccess,
  request: AdmitRequest,
  now: number,
): Promise<AdmitOutcome> {
  const keys = redis.keys;
  const { delivery, checks } = request;
  const { message } = delivery;
  const scriptKeys = [
    keys.stream,
    keys.runs(message.key),
    keys.queue,
    keys.parked(message.key),
    keys.progress(message.key),
    keys.concurrencyWatch,
  ];
  const args: Arg[] = [
    keys.group,
    request.worker,
    now,
    Math.max(1, Math.round(request.leaseMs)),
    Math.max(0, Math.round(request.ttlMs)),
    delivery.id,
    message.key,
    message.task,
    message.data,
    Math.round(message.when),
    message.attempt,
    message.generation,
    keys.stateChannel(message.key),
    keys.nextDueChannel,
  ];
  for (const check of checks) {
    switch (check.kind) {
      case "concurrency":
        scriptKeys.push(keys.flow(check.name), keys.waiters(check.name));
        args.push(check.kind, check.name, check.max, "", "");
        break;
      case "debounce":
        scriptKeys.push(keys.flow(check.name));
        args.push(check.kind, check.name, Math.ceil(check.settle), "", "");
        break;
      case "cooldown":
        scriptKeys.push(keys.flow(check.name));
        args.push(check.kind, check.name, Math.ceil(check.window), "", "");
        break;
      case "rate-limit":
        scriptKeys.push(keys.flow(check.name));
        args.push(check.kind, check.name, check.limit, Math.ceil(check.per), check.drop ? 1 : 0);
        break;
    }
  }
  const reply = (await redis.run(admitScript, scriptKeys, args) as unknown[]).map(text);
  const [outcome, detail, ...wake] = reply;
  switch (outcome) {
    case "admitted":
    case "stale":
      return { outcome, wake };
    case "parked":
      return { outcome, limit: detail, wake };
    case "rescheduled":
      return { outcome, when: Number(detail), wake };
    case "dropped":
      return { outcome, reason: detail, wake };
    case "unusable":
      throw new WrongTypeKeyError(keys.runs(message.key), "hash", detail);
    default:
      throw new Error(`unexpected reply from the admit script: ${JSON.stringify(reply)}`);
  }
}

/**
 * Frees and wakes with the release script: a first call declaring no waiter (enough when nobody
 * waits), then, for limits with room, further calls declaring the waiters the script handed back.
 */
export async function release(
  redis: RedisAccess,
  request: ReleaseRequest,
  now: number,
): Promise<void> {
  const keys = redis.keys;
  const lease = Math.max(1, Math.round(request.leaseMs));
  let member = request.holder ? `${request.holder.key}@${request.holder.generation}` : "";
  let limits: { name: string; waiters: [string, string][] }[] = [...new Set(request.limits)]
    .map((name) => ({ name, waiters: [] }));
  for (let round = 0; limits.length > 0 && round < RELEASE_ROUNDS; round++) {
    const scriptKeys = [keys.stream, keys.concurrencyWatch];
    const args: Arg[] = [now, lease, WAITERS_PER_READ];
    for (const { name, waiters } of limits) {
      scriptKeys.push(keys.flow(name), keys.waiters(name));
      args.push(name, member, waiters.length);
      for (const [id, key] of waiters) {
        scriptKeys.push(keys.runs(key));
        args.push(id, keys.stateChannel(key));
      }
    }
    const replies = await redis.run(releaseScript, scriptKeys, args) as unknown[][];
    limits = limits.flatMap(({ name }, i) => {
      const flat = (replies[i] ?? []).map(text);
      const waiters: [string, string][] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) waiters.push([flat[j], flat[j + 1]]);
      return waiters.length ? [{ name, waiters }] : [];
    });
    member = "";
    now = Date.now();
  }
}

/** Renews the slots of running tasks in one script call. */
export async function renewSlots(
  redis: RedisAccess,
  holds: SlotHold[],
  now: number,
  leaseMs: number,
): Promise<void> {
  const scriptKeys: string[] = [];
  const members: string[] = [];
  for (const hold of holds) {
    for (const name of hold.limits) {
      scriptKeys.push(redis.keys.flow(name));
      members.push(`${hold.key}@${hold.generation}`);
    }
  }
  if (scriptKeys.length === 0) return;
  await redis.run(renewSlotsScript, scriptKeys, [
    now,
    Math.max(1, Math.round(leaseMs)) * 4,
    ...members,
  ]);
}

/** The safeguard: wakes the limits whose check time has come. */
export async function scavenge(
  redis: RedisAccess,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<number> {
  const due = await redis.send(
    ["ZRANGEBYSCORE", redis.keys.concurrencyWatch, "-inf", now, "LIMIT", 0, limit],
  ) as string[];
  if (due.length === 0) return 0;
  await release(redis, { limits: due, leaseMs }, now);
  return due.length;
}

/** The limits that have waiters. */
function watched(redis: RedisAccess): Promise<string[]> {
  return redis.send(["ZRANGE", redis.keys.concurrencyWatch, 0, -1]) as Promise<string[]>;
}

/** How many tasks wait behind concurrency limits. */
export async function parkedCount(redis: RedisAccess): Promise<number> {
  const names = await watched(redis);
  if (names.length === 0) return 0;
  const lengths = await Promise.all(
    names.map((name) => redis.send(["XLEN", redis.keys.waiters(name)])),
  );
  return lengths.reduce((sum: number, length) => sum + Number(length), 0);
}

/** Up to `limit` parked messages, oldest first within each limit. */
export async function parkedMessages(redis: RedisAccess, limit: number): Promise<TaskMessage[]> {
  const messages: TaskMessage[] = [];
  for (const name of await watched(redis)) {
    if (messages.length >= limit) break;
    const entries = await redis.send(
      ["XRANGE", redis.keys.waiters(name), "-", "+", "COUNT", limit - messages.length],
      true,
    ) as RawEntry[];
    for (const [, flat] of entries) {
      const message = parseMessage(flat);
      if (typeof message !== "string") messages.push(message);
    }
  }
  return messages;
}

/**
 * Drops every parked task: each is cancelled (with `cancel`, which records and announces it)
 * and its limit's waiter stream is deleted. Returns how many were dropped.
 */
export async function clearParked(
  redis: RedisAccess,
  cancel: (key: string) => Promise<void>,
): Promise<number> {
  let cleared = 0;
  for (const name of await watched(redis)) {
    const waiters = redis.keys.waiters(name);
    for (;;) {
      const entries = await redis.send(
        ["XRANGE", waiters, "-", "+", "COUNT", 1000],
        true,
      ) as RawEntry[];
      if (entries.length === 0) break;
      const work: Promise<unknown>[] = [];
      for (const [id, flat] of entries) {
        const message = parseMessage(flat);
        work.push(redis.send(["XDEL", waiters, text(id)]));
        if (typeof message !== "string") work.push(cancel(message.key));
        cleared++;
      }
      await Promise.all(work);
    }
    await redis.send(["ZREM", redis.keys.concurrencyWatch, name]);
  }
  return cleared;
}
