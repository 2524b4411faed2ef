/**
 * In-process streams: the due-work stream read through one consumer group, and the append-only
 * strikes stream. Entry ids are `<ms>-<seq>` strings that only ever grow, as Redis assigns them.
 *
 * @module
 */

import type { TaskMessage } from "../backend.ts";
import { WaitList } from "./structures.ts";
import { pickReclaims, reclaimScan } from "../reclaim_policy.ts";

/** Hands out stream ids like XADD `*`: the wall clock in ms, with a sequence within one ms. */
export class IdSequence {
  #ms = 0;
  #seq = 0;

  /** The most recent id handed out (`0-0` before the first). */
  get last(): string {
    return `${this.#ms}-${this.#seq}`;
  }

  /** A new id, greater than every earlier one even when the clock stands still or steps back. */
  next(): string {
    const now = Date.now();
    if (now > this.#ms) {
      this.#ms = now;
      this.#seq = 0;
    } else {
      this.#seq++;
    }
    return this.last;
  }
}

/** Orders two stream ids; an id without a sequence part (`"1700000000000"`) means sequence 0. */
export function compareIds(a: string, b: string): number {
  const [msA, seqA] = parseId(a);
  const [msB, seqB] = parseId(b);
  return msA - msB || seqA - seqB;
}

/** Splits a stream id into its ms and sequence parts; throws a TypeError for a malformed id. */
export function parseId(id: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(id);
  if (!match) throw new TypeError(`invalid stream id "${id}"`);
  return [Number(match[1]), Number(match[2] ?? 0)];
}

/** One entry of a stream. */
export interface StreamEntry {
  readonly id: string;
  readonly message: TaskMessage;
}

/** A delivered, not yet acknowledged entry: who holds it and since when (wall clock). */
export interface PendingDelivery {
  consumer: string;
  deliveredAt: number;
  deliveries: number;
  /** Consumers that held it before and lost it to a takeover, oldest first (the last ten). */
  holders: string[];
}

/**
 * A stream with a single consumer group, like `{docket}:stream` with `docket-workers`.
 *
 * Entries are delivered once each to whichever consumer reads first, then stay in the pending
 * list (with their holder and delivery time) until acknowledged. Acknowledging always deletes
 * the entry too (every caller pairs XACK with XDEL), so an entry is either undelivered or
 * pending until it is gone.
 */
export class MemoryStream {
  #entries = new Map<string, TaskMessage>();
  /** Ids not yet delivered, in id order (the group's position, `>`). */
  #undelivered = new Set<string>();
  /** The pending entries list, in id order: deliveries happen in id order and renewals and
   * reclaims update entries in place, which keeps their position. */
  #pending = new Map<string, PendingDelivery>();
  #ids = new IdSequence();
  /** Consumers blocked in a read, woken by every append. */
  readonly arrivals: WaitList = new WaitList();

  /** How many entries are on the stream, delivered or not (XLEN). */
  get length(): number {
    return this.#entries.size;
  }

  /** Appends a message (XADD `*`) and wakes blocked readers; returns its id. */
  /** How many entries are pending (delivered and not yet removed), for any consumer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  append(message: TaskMessage): string {
    const id = this.#ids.next();
    this.#entries.set(id, message);
    this.#undelivered.add(id);
    this.arrivals.wakeAll();
    return id;
  }

  /** Acknowledges and deletes an entry (XACK + XDEL); unknown ids are ignored. */
  remove(id: string): void {
    this.#entries.delete(id);
    this.#undelivered.delete(id);
    this.#pending.delete(id);
  }

  /** Delivers up to `count` new entries to `consumer` (XREADGROUP … `>`). */
  readNew(consumer: string, count: number): StreamEntry[] {
    const taken: StreamEntry[] = [];
    for (const id of this.#undelivered) {
      if (taken.length >= count) break;
      this.#undelivered.delete(id);
      this.#pending.set(id, { consumer, deliveredAt: Date.now(), deliveries: 1, holders: [] });
      taken.push({ id, message: this.#entries.get(id)! });
    }
    return taken;
  }

  /**
   * Takes over pending entries idle for at least `minIdleMs`, as the Redis consumer does: it
   * looks at the first idle ones (XPENDING IDLE) and takes those `pickReclaims` chooses (XCLAIM).
   */
  reclaim(consumer: string, minIdleMs: number, count: number): StreamEntry[] {
    const now = Date.now();
    const idle: { id: string; times: number }[] = [];
    const scan = reclaimScan(count);
    for (const [id, holder] of this.#pending) {
      if (idle.length >= scan) break;
      if (now - holder.deliveredAt >= minIdleMs) idle.push({ id, times: holder.deliveries });
    }
    return pickReclaims(idle, count).map((id) => {
      const holder = this.#pending.get(id)!;
      holder.holders = [...holder.holders, holder.consumer].slice(-10);
      holder.consumer = consumer;
      holder.deliveredAt = now;
      holder.deliveries++;
      return { id, message: this.#entries.get(id)! };
    });
  }

  /** Resets the idle time of pending entries and assigns them to `consumer` (XCLAIM IDLE 0). */
  renew(consumer: string, ids: string[]): void {
    const now = Date.now();
    for (const id of ids) {
      const holder = this.#pending.get(id);
      if (holder === undefined) continue;
      holder.consumer = consumer;
      holder.deliveredAt = now;
    }
  }

  /** Who holds a delivered entry; undefined when it is undelivered or gone. */
  holder(id: string): PendingDelivery | undefined {
    return this.#pending.get(id);
  }

  /** The first `limit` entries in id order (XRANGE - + COUNT limit). */
  first(limit: number): StreamEntry[] {
    const entries: StreamEntry[] = [];
    for (const [id, message] of this.#entries) {
      if (entries.length >= limit) break;
      entries.push({ id, message });
    }
    return entries;
  }

  /** Every entry, in id order (a snapshot, safe to modify the stream while walking it). */
  all(): StreamEntry[] {
    return [...this.#entries].map(([id, message]) => ({ id, message }));
  }
}

/** One strike or restore instruction on the strikes stream. */
export interface StrikeEntry {
  readonly id: string;
  readonly instruction: Uint8Array;
}

/** The strikes stream: appended to, read by id like XREAD, compacted to a snapshot. */
export class StrikeLog {
  #entries: StrikeEntry[] = [];
  #ids = new IdSequence();
  /** Readers blocked waiting for the next instruction. */
  readonly arrivals: WaitList = new WaitList();

  /** The id of the newest entry (`0-0` when empty); what `$` means to XREAD. */
  get lastId(): string {
    return this.#ids.last;
  }

  /** Appends an instruction (the caller passes a copy) and wakes blocked readers. */
  append(instruction: Uint8Array): string {
    const id = this.#ids.next();
    this.#entries.push({ id, instruction });
    this.arrivals.wakeAll();
    return id;
  }

  /** How many entries the log holds. */
  get length(): number {
    return this.#entries.length;
  }

  /** Appends a snapshot entry and drops every entry before it; returns its id. */
  compact(snapshot: Uint8Array): string {
    const id = this.append(snapshot);
    this.#entries = this.#entries.slice(-1);
    return id;
  }

  /** Up to `count` entries with ids greater than `afterId`, oldest first. */
  after(afterId: string, count: number): StrikeEntry[] {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareIds(this.#entries[middle].id, afterId) <= 0) low = middle + 1;
      else high = middle;
    }
    return this.#entries.slice(low, low + count);
  }
}
