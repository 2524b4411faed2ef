/**
 * A worker's consumer on Redis: claiming deliveries from the stream (new messages with
 * XREADGROUP, abandoned ones with XAUTOCLAIM, then the claim script), renewing what it holds,
 * and closing without stranding a read in progress.
 *
 * @module
 */

import type { BackendWarn, Consumer, Delivery } from "../backend.ts";
import { commandOptions, type RedisConnection } from "./connection.ts";
import { parseMessage, type RawEntry, text } from "./messages.ts";
import type { Arg, GroupAccess } from "./access.ts";
import { claimScript } from "./scripts/claim.ts";

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
  #reading = new Set<Promise<void>>();

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

  async claim(options: {
    count: number;
    blockMs: number;
    reclaimIdleMs?: number;
    now: number;
    gated?: (task: string) => boolean;
  }): Promise<Delivery[]> {
    try {
      return await this.#claim(options);
    } catch (error) {
      if (!isNoGroup(error)) throw error;
      await this.#backend.ensureGroup();
      return await this.#claim(options);
    }
  }

  async #claim(options: {
    count: number;
    blockMs: number;
    reclaimIdleMs?: number;
    now: number;
    gated?: (task: string) => boolean;
  }): Promise<Delivery[]> {
    const keys = this.#backend.keys;
    const entries: { entry: RawEntry; redelivered: boolean }[] = [];
    if (options.reclaimIdleMs !== undefined) {
      const reply = await this.#backend.send([
        "XAUTOCLAIM",
        keys.stream,
        keys.group,
        this.#name,
        Math.max(0, Math.round(options.reclaimIdleMs)),
        "0-0",
        "COUNT",
        options.count,
      ], true) as [unknown, (RawEntry | null)[]];
      for (const entry of reply[1]) if (entry) entries.push({ entry, redelivered: true });
    }
    const remaining = options.count - entries.length;
    // Whether untracked messages read now need their tombstone check (see below).
    let tombstones: Promise<unknown> | undefined;
    if (remaining > 0) {
      const wait = entries.length === 0 && options.blockMs > 0
        ? ["BLOCK", String(Math.round(options.blockMs))]
        : [];
      const read = this.#reader.sendCommand(
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
        commandOptions(this.#reader, true),
      );
      // Sent right behind the read on the same connection, so Redis answers it as soon as the
      // read returns: while the marker is absent, no cancellation tombstone exists that could
      // stop an untracked message read here, and those need no claim script at all.
      tombstones = this.#reader.sendCommand(
        ["EXISTS", keys.tombstones],
        commandOptions(this.#reader, false),
      );
      const reading = Promise.allSettled([read, tombstones]).then(() => {});
      this.#reading.add(reading);
      reading.then(() => this.#reading.delete(reading));
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
   * Judges delivered entries: malformed ones are reported and dropped, the rest go through the
   * claim script, except untracked new messages when `noTombstones` (nothing there could stop
   * them, and nothing is marked running for them): those run as they are.
   */
  async #claimEntries(
    entries: { entry: RawEntry; redelivered: boolean }[],
    options: { now: number; gated?: (task: string) => boolean; noTombstones?: boolean },
  ): Promise<Delivery[]> {
    if (entries.length === 0) return [];
    const keys = this.#backend.keys;
    const candidates: Delivery[] = [];
    const runnable: Delivery[] = [];
    const malformed: string[] = [];
    for (const { entry: [rawId, flat], redelivered } of entries) {
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
      }
    }
    if (malformed.length) {
      await Promise.all([
        this.#backend.send(["XACK", keys.stream, keys.group, ...malformed]),
        this.#backend.send(["XDEL", keys.stream, ...malformed]),
      ]);
    }
    if (candidates.length === 0) return runnable;
    const scriptKeys = [keys.stream];
    const args: Arg[] = [keys.group, this.#name, options.now];
    for (const { id, message } of candidates) {
      scriptKeys.push(keys.runs(message.key));
      // The script needs the key and state channel only for tracked runs (their running event).
      const tracked = message.generation !== 0;
      args.push(
        id,
        tracked ? message.key : "",
        message.generation,
        options.gated?.(message.task) ? "1" : "0",
        tracked ? keys.stateChannel(message.key) : "",
      );
    }
    const verdicts = await this.#backend.run(claimScript, scriptKeys, args) as number[];
    const claimed = candidates.filter((_, i) => Number(verdicts[i]) === 1);
    return runnable.length === 0 ? claimed : runnable.concat(claimed);
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
    // A read in progress ends within its block time; waiting for it keeps any messages it
    // delivers from being stranded in this consumer's pending list without an owner running them.
    await Promise.all(this.#reading);
    try {
      await this.#reader.close();
    } catch {
      this.#reader.destroy();
    }
  }
}
