/**
 * Flow control in memory: the counterpart of the admit, release and renew_slots scripts of the
 * Redis backend and of its safeguard, with the same rules on the same logical data (slot sets,
 * waiter queues, the watch set, debounce, cooldown and rate-limit records). Every function is
 * synchronous, so nothing interleaves with it.
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
import type { DocketState, StoredRun } from "./store.ts";
import { type ExpiringMap, SortedQueue } from "./structures.ts";
import { cancelTask, copyMessage, isLive } from "./operations.ts";
import { WaiterQueue } from "./flow_state.ts";

/** Removes the members scored at most `max` (ZREMRANGEBYSCORE -inf max); returns how many. */
function removeUpTo(set: SortedQueue | undefined, max: number): number {
  if (set === undefined) return 0;
  const gone = set.dueBy(max, Infinity);
  for (const member of gone) set.remove(member);
  return gone.length;
}

/** The members scored above `min` (ZCOUNT (min +inf). */
function countAbove(set: SortedQueue | undefined, min: number): number {
  return set === undefined ? 0 : set.size - set.dueBy(min, Infinity).length;
}

/** The lowest score (ZRANGE 0 0 WITHSCORES). */
function lowest(set: SortedQueue | undefined): number | undefined {
  const [first] = set?.first(1) ?? [];
  return first === undefined ? undefined : set!.score(first);
}

/** A sorted set stored under `name` in `map`, created (with no lifetime) when missing. */
function sortedSet(map: ExpiringMap<SortedQueue>, name: string): SortedQueue {
  let set = map.get(name);
  if (set === undefined) {
    set = new SortedQueue();
    map.set(name, set);
  }
  return set;
}

/** Deletes an empty sorted set, as Redis does. */
function dropIfEmpty(map: ExpiringMap<SortedQueue>, name: string): void {
  if (map.get(name)?.size === 0) map.delete(name);
}

function waiterLength(d: DocketState, name: string): number {
  return d.flow.waiters.get(name)?.length ?? 0;
}

interface CheckState {
  kind: AdmitRequest["checks"][number]["kind"];
  name: string;
  max?: number;
  held?: boolean;
  wake?: boolean;
  settle?: number;
  winner?: string;
  window?: number;
  limit?: number;
  per?: number;
}

/** Mirrors admit.ts: check every control, then apply the one outcome. */
export function admitDelivery(d: DocketState, request: AdmitRequest, now: number): AdmitOutcome {
  const flow = d.flow;
  const { delivery } = request;
  const message = delivery.message;
  const { key, generation } = message;
  const tracked = generation !== 0;
  const member = `${key}@${generation}`;
  const lease = Math.max(1, Math.round(request.leaseMs));
  const stale = now - lease;
  const acknowledge = () => d.stream.remove(delivery.id);

  const record = tracked ? d.runs.get(key) : undefined;
  if (tracked) {
    if (!record || !isLive(record.state) || record.generation !== generation) {
      acknowledge();
      return { outcome: "stale", wake: [] };
    }
  } else if (d.runs.get(key) !== undefined) {
    acknowledge();
    return { outcome: "stale", wake: [] };
  }
  const readmit = record?.state === "running";
  const fresh = !readmit && message.attempt === 1;

  // 1. Check everything.
  const checks: CheckState[] = [];
  let dropReason: string | undefined;
  let reschedAt: number | undefined;
  let park: CheckState | undefined;
  for (const check of request.checks) {
    const c: CheckState = { kind: check.kind, name: check.name };
    checks.push(c);
    if (check.kind === "concurrency") {
      c.max = check.max;
      const slots = flow.slots.get(check.name);
      c.held = slots?.score(member) !== undefined;
      if (!c.held) {
        const live = countAbove(slots, stale);
        const waiting = waiterLength(d, check.name);
        if (live >= check.max || waiting > 0) {
          park ??= c;
          c.wake = waiting > 0 && live < check.max;
        }
      }
      continue;
    }
    let verdict: "pass" | "wait" | "drop" = "pass";
    let at = 0;
    if (check.kind === "debounce" && fresh) {
      c.settle = Math.ceil(check.settle);
      const current = flow.debounce.get(check.name);
      c.winner = current?.winner;
      if (c.winner === undefined) {
        verdict = "wait";
        at = now + c.settle;
      } else if (c.winner === key) {
        const seen = current?.seen ?? 0;
        if (now - seen < c.settle) {
          verdict = "wait";
          at = seen + c.settle;
        }
      } else {
        verdict = "drop";
      }
    } else if (check.kind === "cooldown" && fresh) {
      c.window = Math.ceil(check.window);
      const holder = flow.cooldown.get(check.name);
      if (holder !== undefined && holder !== member) verdict = "drop";
    } else if (check.kind === "rate-limit" && !readmit) {
      c.limit = check.limit;
      c.per = Math.ceil(check.per);
      const log = flow.rateLimits.get(check.name);
      removeUpTo(log, now - c.per);
      dropIfEmpty(flow.rateLimits, check.name);
      if (log?.score(member) === undefined && (log?.size ?? 0) >= check.limit) {
        if (check.drop) verdict = "drop";
        else {
          verdict = "wait";
          at = Math.max(now + 1, lowest(log)! + c.per);
        }
      }
    }
    if (verdict === "drop") dropReason ??= check.name;
    if (verdict === "wait" && (reschedAt === undefined || at > reschedAt)) reschedAt = at;
  }

  // 2. Apply the outcome.
  const wake: string[] = [];
  const wakeIfWaiting = (c: CheckState) => {
    if (waiterLength(d, c.name) > 0) wake.push(c.name);
  };
  const giveBack = () => {
    for (const c of checks) {
      if (c.kind !== "concurrency") continue;
      if (c.held) {
        flow.slots.get(c.name)?.remove(member);
        dropIfEmpty(flow.slots, c.name);
        wakeIfWaiting(c);
      } else if (c.wake) {
        wake.push(c.name);
      }
    }
  };

  if (dropReason !== undefined) {
    giveBack();
    for (const c of checks) {
      if (c.kind !== "debounce" || c.winner === undefined) continue;
      if (c.winner === key) flow.debounce.delete(c.name);
      else {
        const current = flow.debounce.get(c.name);
        if (current) current.seen = now;
        else flow.debounce.set(c.name, { seen: now });
        flow.debounce.expire(c.name, c.settle! * 10);
      }
    }
    acknowledge();
    if (record) {
      if (request.ttlMs > 0) {
        record.state = "cancelled";
        record.completedAt = now;
        clearRunner(record);
        d.runs.expire(key, request.ttlMs);
      } else {
        d.runs.delete(key);
      }
      d.progress.delete(key);
      d.publishEvent(d.keys.stateChannel(key), {
        type: "state",
        key,
        state: "cancelled",
        completedAt: now,
      });
    }
    return { outcome: "dropped", reason: dropReason, wake };
  }

  if (reschedAt !== undefined) {
    const when = Math.floor(reschedAt);
    giveBack();
    for (const c of checks) {
      if (c.kind !== "debounce" || c.settle === undefined) continue;
      if (c.winner === undefined) {
        const current = flow.debounce.get(c.name);
        if (current) Object.assign(current, { winner: key, seen: now });
        else flow.debounce.set(c.name, { winner: key, seen: now });
      }
      flow.debounce.expire(c.name, c.settle * 10 + (when - now));
    }
    acknowledge();
    const nextGeneration = record ? (record.generation ?? 0) + 1 : 0;
    d.parked.set(key, { ...copyMessage(message), when, generation: nextGeneration });
    d.enqueue(key, when);
    if (record) {
      record.generation = nextGeneration;
      record.state = "scheduled";
      record.when = when;
      clearRunner(record);
      d.publishEvent(d.keys.stateChannel(key), { type: "state", key, state: "scheduled", when });
    }
    return { outcome: "rescheduled", when, wake };
  }

  if (park !== undefined) {
    giveBack();
    for (const c of checks) {
      if (c.kind === "debounce" && c.winner === key) flow.debounce.expire(c.name, c.settle! * 10);
    }
    acknowledge();
    let queue = flow.waiters.get(park.name);
    if (queue === undefined) {
      queue = new WaiterQueue();
      flow.waiters.set(park.name, queue);
    }
    queue.append({ message: copyMessage(message), max: park.max! });
    if (record) {
      record.state = "scheduled";
      clearRunner(record);
      d.publishEvent(d.keys.stateChannel(key), {
        type: "state",
        key,
        state: "scheduled",
        when: message.when,
      });
    }
    const oldest = lowest(flow.slots.get(park.name));
    const checkAt = oldest === undefined ? now : oldest + lease + 1;
    const current = flow.watch.score(park.name);
    if (current === undefined || checkAt < current) flow.watch.add(park.name, checkAt);
    return { outcome: "parked", limit: park.name, wake };
  }

  for (const c of checks) {
    if (c.kind === "concurrency") {
      const slots = sortedSet(flow.slots, c.name);
      const cleared = removeUpTo(slots, stale);
      slots.add(member, now);
      flow.slots.expire(c.name, lease * 4);
      if (cleared > 0) wakeIfWaiting(c);
    } else if (c.kind === "cooldown" && c.window !== undefined) {
      flow.cooldown.set(c.name, member);
      flow.cooldown.expire(c.name, c.window);
    } else if (c.kind === "rate-limit" && c.limit !== undefined) {
      sortedSet(flow.rateLimits, c.name).add(member, now);
      flow.rateLimits.expire(c.name, c.per! * 2);
    } else if (c.kind === "debounce" && c.winner === key) {
      flow.debounce.delete(c.name);
    }
  }
  if (record) {
    record.state = "running";
    record.worker = request.worker;
    record.startedAt = now;
    delete record.sid;
    d.publishEvent(d.keys.stateChannel(key), {
      type: "state",
      key,
      state: "running",
      worker: request.worker,
      startedAt: now,
      when: record.when,
    });
  }
  return { outcome: "admitted", wake };
}

function clearRunner(record: StoredRun): void {
  delete record.sid;
  delete record.worker;
  delete record.startedAt;
}

/** Mirrors release.ts (with every waiter declared, so one pass always suffices). */
export function releaseSlots(d: DocketState, request: ReleaseRequest, now: number): void {
  const flow = d.flow;
  const lease = Math.max(1, Math.round(request.leaseMs));
  const stale = now - lease;
  const member = request.holder ? `${request.holder.key}@${request.holder.generation}` : "";
  for (const name of new Set(request.limits)) {
    if (member !== "") {
      flow.slots.get(name)?.remove(member);
      dropIfEmpty(flow.slots, name);
    }
    const queue = flow.waiters.get(name);
    let full = false;
    if (queue !== undefined && queue.length > 0) {
      removeUpTo(flow.slots.get(name), stale);
      dropIfEmpty(flow.slots, name);
      for (let next = queue.first(); next !== undefined; next = queue.first()) {
        const [id, waiter] = next;
        if ((flow.slots.get(name)?.size ?? 0) >= waiter.max) {
          full = true;
          break;
        }
        queue.remove(id);
        wakeWaiter(d, name, waiter.message, now, lease);
      }
    }
    if (queue === undefined || queue.length === 0) {
      flow.waiters.delete(name);
      flow.watch.remove(name);
    } else {
      const oldest = full ? lowest(flow.slots.get(name)) : undefined;
      flow.watch.add(name, oldest === undefined ? now : oldest + lease + 1);
    }
  }
}

/** Puts a live waiter back on the stream with a reserved slot; drops a cancelled or stale one. */
function wakeWaiter(
  d: DocketState,
  name: string,
  message: TaskMessage,
  now: number,
  lease: number,
): void {
  const { key } = message;
  let generation = message.generation;
  let record: StoredRun | undefined;
  if (generation === 0) {
    if (d.runs.get(key) !== undefined) return;
  } else {
    record = d.runs.get(key);
    if (record?.state !== "scheduled" || record.generation !== generation) return;
    generation = (record.generation ?? 0) + 1;
    record.generation = generation;
  }
  const sid = d.stream.append({ ...copyMessage(message), generation });
  if (record) {
    record.state = "queued";
    record.sid = sid;
    d.publishEvent(d.keys.stateChannel(key), {
      type: "state",
      key,
      state: "queued",
      when: message.when,
    });
  }
  sortedSet(d.flow.slots, name).add(`${key}@${generation}`, now);
  d.flow.slots.expire(name, lease * 4);
}

/** Mirrors renew_slots.ts. */
export function renewHolds(d: DocketState, holds: SlotHold[], now: number, leaseMs: number): void {
  const ttl = Math.max(1, Math.round(leaseMs)) * 4;
  for (const hold of holds) {
    const member = `${hold.key}@${hold.generation}`;
    for (const name of hold.limits) {
      const slots = d.flow.slots.get(name);
      if (slots?.score(member) !== undefined) slots.add(member, now);
      d.flow.slots.expire(name, ttl);
    }
  }
}

/** The safeguard: wakes the limits whose check time has come. */
export function scavengeLimits(
  d: DocketState,
  now: number,
  leaseMs: number,
  limit: number,
): number {
  const due = d.flow.watch.dueBy(now, limit);
  if (due.length > 0) releaseSlots(d, { limits: due, leaseMs }, now);
  return due.length;
}

/** How many tasks wait behind concurrency limits. */
export function parkedCount(d: DocketState): number {
  let count = 0;
  for (const queue of d.flow.waiters.values()) count += queue.length;
  return count;
}

/** Up to `limit` parked messages (copies), in watch order, oldest first within each limit. */
export function parkedMessages(d: DocketState, limit: number): TaskMessage[] {
  const messages: TaskMessage[] = [];
  for (const name of d.flow.watch.first(d.flow.watch.size)) {
    for (const waiter of d.flow.waiters.get(name)?.all() ?? []) {
      if (messages.length >= limit) return messages;
      messages.push(copyMessage(waiter.message));
    }
  }
  return messages;
}

/** Cancels every parked task and empties the waiter queues; returns how many were dropped. */
export function clearParked(d: DocketState, now: number, ttlMs: number): number {
  let cleared = 0;
  for (const name of d.flow.watch.first(d.flow.watch.size)) {
    for (const waiter of d.flow.waiters.get(name)?.all() ?? []) {
      cancelTask(d, waiter.message.key, now, ttlMs);
      cleared++;
    }
    d.flow.waiters.delete(name);
    d.flow.watch.remove(name);
  }
  return cleared;
}
