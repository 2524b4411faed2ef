/**
 * A worker's consumer on Redis: claiming deliveries from the stream (while work is waiting, new
 * messages with the read_claim script, read and claimed in one call; on an idle stream, with a
 * blocking XREADGROUP; abandoned ones with XPENDING and XCLAIM; those two then through the claim
 * script), renewing what it holds, and closing without stranding a read in progress.
 *
 * @module
 */

import type { BackendWarn, Consumer, Delivery } from "../backend.ts";
import { commandOptions, type RedisConnection } from "./connection.ts";
import { lacksPayload, parseMessage, type RawEntry, text } from "./messages.ts";
import type { Arg, GroupAccess } from "./access.ts";
import { claimScript } from "./scripts/claim.ts";
import { readClaimScript } from "./scripts/read_claim.ts";
import { pickReclaims, reclaimScan } from "../reclaim_policy.ts";

/** The options of {@linkcode Consumer.claim}. */
type ClaimOptions = Parameters<Consumer["claim"]>[0];

/** An entry as read, with what XPENDING said of it when it was taken over. */
interface DeliveredEntry {
  entry: RawEntry;
  redelivered: boolean;
  /** Times delivered counting this one; 0 when unknown. */
  deliveries?: number;
  /** The consumer that held it before the takeover. */
  previous?: string;
}

/**
 * Applies the claim script's verdict to a delivery: true when the worker gets it (to run, or to
 * record as failed when it is abandoned or its record unusable).
 */
function judged(delivery: Delivery, verdict: unknown[], keys: { runs(key: string): string }) {
  const code = text(verdict?.[0]);
  // A message without its payload: the verdict ends with the runs record's copy.
  if ((code === "1" || code === "A") && lacksPayload(delivery.message)) {
    delivery.message.data = verdict[verdict.length - 1] as Uint8Array;
  }
  if (code === "1") return true;
  if (code === "A") {
    const workers = text(verdict[2] ?? "").split("\n").filter(Boolean);
    delivery.abandoned = { times: Number(verdict[1]), workers };
    return true;
  }
  if (code === "E") {
    const storeKey = keys.runs(delivery.message.key);
    delivery.unusable = { storeKey, expected: "hash", reason: text(verdict[1]) };
    return true;
  }
  return false;
}

/**
 * The largest read that goes through read_claim. A small batch's time is its round trips, which
 * read_claim halves; a large one's is Redis time per message, which reading inside Lua raises
 * (every entry is converted to Lua and back): at concurrency 100 with state kept, XREADGROUP and
 * then the claim script drained faster.
 */
const READ_CLAIM_MAX = 16;

/**
 * Splits read_claim's flat reply (per entry: id, field count, fields, verdict length, verdict)
 * into the entries as XREADGROUP gives them and their verdicts.
 */
function readClaimReply(reply: unknown[]): { entries: RawEntry[]; verdicts: unknown[][] } {
  const entries: RawEntry[] = [];
  const verdicts: unknown[][] = [];
  let at = 0;
  while (at < reply.length) {
    const id = reply[at] as Uint8Array;
    const fieldsEnd = at + 2 + Number(reply[at + 1]);
    entries.push([id, reply.slice(at + 2, fieldsEnd) as Uint8Array[]]);
    const verdictEnd = fieldsEnd + 1 + Number(reply[fieldsEnd]);
    verdicts.push(reply.slice(fieldsEnd + 1, verdictEnd));
    at = verdictEnd;
  }
  return { entries, verdicts };
}

/** How often `interrupt()` tries again while the read it ends has not begun blocking yet. */
const UNBLOCK_RETRY_MS = 10;
/** How long `interrupt()` keeps trying before it leaves the read to end on its own. */
const UNBLOCK_GIVE_UP_MS = 2_000;

/** A blocking read under way that `interrupt()` can end. */
interface BlockingRead {
  /** The reader's client id (asked for on the reader, right before the read). */
  clientId: Promise<unknown>;
  /** Settles when the read has returned. */
  ended: Promise<void>;
  over: boolean;
}

function isNoGroup(error: unknown): boolean {
  return String((error as Error)?.message ?? "").startsWith("NOGROUP");
}

/** A worker's reader: its own connection, so a blocking read never holds up other commands. */
export class RedisConsumer implements Consumer {
  #backend: GroupAccess;
  #reader: RedisConnection;
  #name: string;
  #warn: BackendWarn;
  #onClose: (consumer: RedisConsumer) => void;
  #closed = false;
  /** Reads under way (a worker may have more than one claim out at once). */
  #reading = new Set<Promise<unknown>>();
  /** Task names of tracked messages seen: read_claim is told whether each is gated. */
  #taskNames = new Set<string>();
  /**
   * Whether the last messages read were tracked. Those need a claim script, which read_claim
   * folds into the read; untracked ones with no tombstones need none, and a plain XREADGROUP
   * (on the main connection, in the finish write) is cheaper for Redis than reading them in Lua.
   */
  #lastTracked = true;
  #nonePending = false;
  /** Whether CLIENT ID and CLIENT UNBLOCK are allowed (asked once). */
  #canUnblock?: Promise<boolean>;
  #blocking?: BlockingRead;
  /** Claims under way; an interrupt while one has not begun its read makes that read not block. */
  #claimsOut = 0;
  #cutShort = false;

  constructor(
    backend: GroupAccess,
    reader: RedisConnection,
    name: string,
    warn: BackendWarn,
    onClose: (consumer: RedisConsumer) => void,
  ) {
    this.#backend = backend;
    this.#reader = reader;
    this.#name = name;
    this.#warn = warn;
    this.#onClose = onClose;
  }

  async claim(options: ClaimOptions): Promise<Delivery[]> {
    this.#claimsOut++;
    try {
      return await this.#claim(options);
    } catch (error) {
      if (!isNoGroup(error)) throw error;
      await this.#backend.ensureGroup();
      return await this.#claim(options);
    } finally {
      if (--this.#claimsOut === 0) this.#cutShort = false;
    }
  }

  #sendOnReader = (args: string[], binary: boolean): Promise<unknown> =>
    this.#reader.sendCommand(args, commandOptions(this.#reader, binary));

  #sendOnMain = (args: string[], binary: boolean): Promise<unknown> =>
    this.#backend.send(args, binary);

  async #claim(options: ClaimOptions): Promise<Delivery[]> {
    const keys = this.#backend.keys;
    const entries: DeliveredEntry[] = [];
    let blockMs = options.blockMs;
    if (options.reclaimIdleMs !== undefined) {
      this.#nonePending = options.countPending === true && await this.#pendingCount() === 0;
      if (this.#nonePending) blockMs = options.quietBlockMs ?? blockMs;
    }
    if (options.reclaimIdleMs !== undefined && !this.#nonePending) {
      entries.push(
        ...await this.#reclaim(Math.max(0, Math.round(options.reclaimIdleMs)), options.count),
      );
    }
    if (this.#cutShort) blockMs = 0;
    const remaining = options.count - entries.length;
    if (
      remaining > 0 && remaining <= READ_CLAIM_MAX && entries.length === 0 &&
      blockMs <= 0 && this.#lastTracked
    ) {
      return await this.#readClaim(remaining, options);
    }
    // Whether untracked messages read now need their tombstone check (see below).
    let tombstones: Promise<unknown> | undefined;
    if (remaining > 0) {
      const wait = entries.length === 0 && blockMs > 0
        ? ["BLOCK", String(Math.round(blockMs))]
        : [];
      // An interruptible read is preceded by CLIENT ID, which `interrupt()` needs.
      const clientId = wait.length > 0 && options.interruptible
        ? this.#reader.sendCommand(["CLIENT", "ID"], commandOptions(this.#reader, false))
        : undefined;
      // A read that cannot block goes on the main connection, where the finish write that freed
      // its slots went in the same turn: both leave in one write and come back in one reply,
      // instead of one write, one wake-up of Redis and one reply on each connection.
      const send = wait.length > 0 ? this.#sendOnReader : this.#sendOnMain;
      const read = send(
        [
          "XREADGROUP",
          "GROUP",
          keys.group,
          this.#name,
          "COUNT",
          String(remaining),
          ...wait,
          "STREAMS",
          keys.stream,
          ">",
        ],
        true,
      );
      // Sent right behind the read on the same connection, so Redis answers it as soon as the
      // read returns: while the marker is absent, no cancellation tombstone exists that could
      // stop an untracked message read here, and those need no claim script at all.
      tombstones = send(["EXISTS", keys.tombstones], false);
      const reading = Promise.allSettled([read, tombstones]).then(() => {});
      this.#reading.add(reading);
      reading.then(() => this.#reading.delete(reading));
      if (clientId) this.#trackBlocking(clientId, reading);
      const [reply] = await Promise.all([read, tombstones]) as unknown as [
        [unknown, RawEntry[]][] | null,
        unknown,
      ];
      for (const entry of reply?.[0]?.[1] ?? []) entries.push({ entry, redelivered: false });
    }
    // Stamp runs with the time the messages arrived, not when the (blocking) read began.
    return await this.#claimEntries(entries, {
      ...options,
      now: Math.max(options.now, Date.now()),
      noTombstones: tombstones !== undefined && Number(await tombstones) === 0,
    });
  }

  /**
   * Reads and claims new messages in one read_claim call (work is waiting: nothing to block
   * for). Messages the script could not judge come back untouched: malformed ones are dropped,
   * tracked ones of a task it was not told about go through the claim script.
   */
  async #readClaim(count: number, options: {
    now: number;
    gated?: (task: string) => boolean;
  }): Promise<Delivery[]> {
    const keys = this.#backend.keys;
    const args: Arg[] = [keys.group, this.#name, options.now, count, keys.prefix];
    const gated = options.gated;
    args.push(gated ? "0" : "1", this.#backend.subscribersElsewhere ? "1" : "0");
    if (gated) { for (const task of this.#taskNames) args.push(task, gated(task) ? "1" : "0"); }
    const call = this.#backend.run(readClaimScript, [keys.stream, keys.tombstones], args, true);
    // Tracked without promises of its own (this runs once per claim): close() waits for every
    // read in the set to settle, and the read leaves the set as this method resumes.
    this.#reading.add(call);
    let reply: unknown[];
    try {
      reply = await call as unknown[];
    } finally {
      this.#reading.delete(call);
    }
    const { entries, verdicts } = readClaimReply(reply);
    const claimed: Delivery[] = [];
    const unjudged: DeliveredEntry[] = [];
    let tracked = entries.length === 0;
    for (let i = 0; i < entries.length; i++) {
      const verdict = verdicts[i];
      const code = text(verdict[0]);
      if (code === "0") continue;
      const entry = entries[i];
      if (code === "?") {
        unjudged.push({ entry, redelivered: false });
        continue;
      }
      const message = parseMessage(entry[1]);
      if (typeof message === "string") {
        // Judged by the script but not readable here: dropped as the claim path drops it.
        unjudged.push({ entry, redelivered: false });
        continue;
      }
      if (message.generation !== 0) {
        this.#taskNames.add(message.task);
        tracked = true;
      }
      const delivery: Delivery = { id: text(entry[0]), message, redelivered: false };
      if (judged(delivery, verdict, keys)) claimed.push(delivery);
    }
    this.#lastTracked = tracked || unjudged.length > 0;
    if (unjudged.length === 0) return claimed;
    const rest = await this.#claimEntries(unjudged, { ...options, now: Date.now() });
    for (const delivery of rest) {
      if (delivery.message.generation !== 0) this.#taskNames.add(delivery.message.task);
    }
    return claimed.concat(rest);
  }

  /**
   * Takes over messages idle past the lease: XPENDING says who held each and how often it was
   * delivered (for the redelivery cap and the abandoned error), `pickReclaims` chooses, and
   * XCLAIM takes them (only those still idle: another worker may have been quicker).
   */
  async #reclaim(idle: number, count: number): Promise<DeliveredEntry[]> {
    const keys = this.#backend.keys;
    const pending = await this.#backend.send(
      ["XPENDING", keys.stream, keys.group, "IDLE", idle, "-", "+", reclaimScan(count)],
    ) as [string, string, number, number][];
    if (pending.length === 0) return [];
    const held = new Map(
      pending.map(([id, consumer, , times]) => [String(id), { consumer, times }]),
    );
    const ids = pickReclaims(
      [...held].map(([id, { times }]) => ({ id, times: Number(times) })),
      count,
    );
    const claimed = await this.#backend.send(
      ["XCLAIM", keys.stream, keys.group, this.#name, idle, ...ids],
      true,
    ) as (RawEntry | null)[];
    const entries: DeliveredEntry[] = [];
    for (const entry of claimed) {
      if (!entry) continue;
      const before = held.get(text(entry[0]));
      entries.push({
        entry,
        redelivered: true,
        deliveries: before ? Number(before.times) + 1 : 0,
        previous: before?.consumer ?? "",
      });
    }
    return entries;
  }

  /**
   * Judges delivered entries: malformed ones are reported and dropped, the rest go through the
   * claim script, except untracked new messages when `noTombstones` (nothing there could stop
   * them, and nothing is marked running for them): those run as they are.
   */
  async #claimEntries(
    entries: DeliveredEntry[],
    options: {
      now: number;
      gated?: (task: string) => boolean;
      noTombstones?: boolean;
      maxRedeliveries?: number;
    },
  ): Promise<Delivery[]> {
    if (entries.length === 0) return [];
    const keys = this.#backend.keys;
    const candidates: Delivery[] = [];
    const delivered: DeliveredEntry[] = [];
    const runnable: Delivery[] = [];
    const malformed: string[] = [];
    for (const delivery of entries) {
      const { entry: [rawId, flat], redelivered } = delivery;
      const id = text(rawId);
      const message = parseMessage(flat);
      if (typeof message === "string") {
        this.#warn("Dropping a malformed message from the stream", {
          id,
          problem: message,
          fields: Array.isArray(flat) ? flat.map(text) : flat,
        });
        malformed.push(id);
        continue;
      }
      if (options.noTombstones && message.generation === 0 && !redelivered) {
        runnable.push({ id, message, redelivered });
      } else {
        candidates.push({ id, message, redelivered });
        delivered.push(delivery);
      }
    }
    if (malformed.length) {
      await Promise.all([
        this.#backend.send(["XACK", keys.stream, keys.group, ...malformed]),
        this.#backend.send(["XDEL", keys.stream, ...malformed]),
      ]);
    }
    if (candidates.some(({ message, redelivered }) => message.generation !== 0 && !redelivered)) {
      this.#lastTracked = true;
    } else if (runnable.length > 0) this.#lastTracked = false;
    if (candidates.length === 0) return runnable;
    const scriptKeys = [keys.stream];
    const args: Arg[] = [
      keys.group,
      this.#name,
      options.now,
      options.maxRedeliveries ?? -1,
      this.#backend.subscribersElsewhere ? "1" : "0",
    ];
    for (const [i, { id, message }] of candidates.entries()) {
      scriptKeys.push(keys.runs(message.key));
      // The script needs the key and state channel only for tracked runs (their running event).
      const tracked = message.generation !== 0;
      args.push(
        id,
        tracked ? message.key : "",
        message.generation,
        options.gated?.(message.task) ? "1" : "0",
        tracked ? keys.stateChannel(message.key) : "",
        delivered[i].deliveries ?? 1,
        delivered[i].previous ?? "",
        lacksPayload(message) ? "1" : "0",
      );
    }
    // Binary: a verdict may end with a payload.
    const verdicts = await this.#backend.run(claimScript, scriptKeys, args, true) as unknown[][];
    const claimed = candidates.filter((delivery, i) => judged(delivery, verdicts[i], keys));
    return runnable.length === 0 ? claimed : runnable.concat(claimed);
  }

  /** How many messages are pending in the group, held by any consumer (XPENDING's summary). */
  async #pendingCount(): Promise<number> {
    const keys = this.#backend.keys;
    const summary = await this.#backend.send(["XPENDING", keys.stream, keys.group]) as unknown[];
    return Number(summary?.[0] ?? 0);
  }

  get nonePending(): boolean {
    return this.#nonePending;
  }

  /**
   * Whether a blocking read can be ended early: CLIENT UNBLOCK (from the main connection) ends
   * it as if it had timed out, so nothing is delivered and nothing is stranded. Users without
   * the right to it (a least-privilege ACL may leave it out) get short blocks instead.
   */
  interruptible(): Promise<boolean> {
    this.#canUnblock ??= Promise.all([
      this.#reader.sendCommand(["CLIENT", "ID"]),
      this.#backend.send(["CLIENT", "UNBLOCK", "0"]),
    ]).then(() => true, () => false);
    return this.#canUnblock;
  }

  #trackBlocking(clientId: Promise<unknown>, ended: Promise<void>): void {
    clientId.catch(() => {});
    const blocking: BlockingRead = { clientId, ended, over: false };
    this.#blocking = blocking;
    ended.then(() => {
      blocking.over = true;
      if (this.#blocking === blocking) this.#blocking = undefined;
    });
  }

  async interrupt(): Promise<void> {
    const blocking = this.#blocking;
    if (!blocking) {
      if (this.#claimsOut > 0) this.#cutShort = true;
      return;
    }
    let id: string;
    try {
      id = String(await blocking.clientId);
    } catch {
      return;
    }
    // CLIENT UNBLOCK answers 0 while the read has not reached Redis yet: try again until it
    // has, or until the read has returned anyway.
    const giveUp = Date.now() + UNBLOCK_GIVE_UP_MS;
    while (!blocking.over && Date.now() < giveUp) {
      try {
        if (Number(await this.#backend.send(["CLIENT", "UNBLOCK", id])) === 1) return;
      } catch {
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const retry = new Promise((resolve) => (timer = setTimeout(resolve, UNBLOCK_RETRY_MS)));
      await Promise.race([blocking.ended, retry]);
      clearTimeout(timer);
    }
  }

  async renew(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const keys = this.#backend.keys;
    await this.#backend.send([
      "XCLAIM",
      keys.stream,
      keys.group,
      this.#name,
      0,
      ...ids,
      "IDLE",
      0,
      "JUSTID",
    ]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
    await this.interrupt();
    // A read in progress ends within its block time; waiting for it keeps any messages it
    // delivers from being stranded in this consumer's pending list without an owner running them.
    await Promise.allSettled(this.#reading);
    try {
      await this.#reader.close();
    } catch {
      this.#reader.destroy();
    }
  }
}
