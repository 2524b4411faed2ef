/**
 * The Redis backend: node-redis for transport, one Lua script per atomic operation.
 *
 * Round trips on the hot path: one EVALSHA per add (pipelined for `addMany`), one blocking
 * XREADGROUP plus one claim script per batch of deliveries, and one finish script per batch of
 * finished runs. Tasks with flow controls add one admit script per delivery and, for those that
 * hold concurrency slots, one read plus one release script when the run ends.
 *
 * @module
 */

import type {
  AdmitOutcome,
  AdmitRequest,
  Backend,
  BackendWarn,
  Consumer,
  Delivery,
  FinishRequest,
  PendingTasks,
  ProgressRecord,
  ReleaseRequest,
  RescheduleRequest,
  RunRecord,
  ScheduleOutcome,
  ScheduleRequest,
  SlotHold,
  TaskMessage,
  Unsubscribe,
  WorkerRecord,
} from "../backend.ts";
import { DocketKeys } from "../../keys.ts";
import {
  BINARY,
  commandOptions,
  connectRedis,
  duplicateConnection,
  type RedisClient,
} from "./connection.ts";
import { fieldMap, parseMessage, parseRun, type RawEntry, text } from "./messages.ts";
import { type LuaScript, runScript } from "./script.ts";
import { scheduleScript } from "./scripts/schedule.ts";
import { addNowScript } from "./scripts/add_now.ts";
import { claimScript } from "./scripts/claim.ts";
import { finishScript } from "./scripts/finish.ts";
import { cancelScript } from "./scripts/cancel.ts";
import { moveDueScript } from "./scripts/move_due.ts";
import { progressScript } from "./scripts/progress.ts";
import * as flow from "./flow.ts";

/** How long a cancellation tombstone lives for a key with no record (fire-and-forget tasks). */
const TOMBSTONE_TTL_MS = 3_600_000;
/** At most this many adds share one add_now call. */
const ADD_NOW_BATCH = 250;
/** How long a progress record lives without an update (it is deleted when the task ends). */
const PROGRESS_TTL_MS = 86_400_000;

type Arg = string | number | Uint8Array;

function toArgument(arg: Arg): string | Buffer {
  if (typeof arg === "number") return String(arg);
  if (typeof arg === "string" || Buffer.isBuffer(arg)) return arg;
  return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
}

function isNoGroup(error: unknown): boolean {
  return String((error as Error)?.message ?? "").startsWith("NOGROUP");
}

/** The storage operations of one docket on Redis. */
export class RedisBackend implements Backend {
  readonly kind = "redis" as const;
  readonly keys: DocketKeys;
  #client: RedisClient;
  #subscriber?: Promise<RedisClient>;
  #strikeReader?: Promise<RedisClient>;
  #consumers = new Set<RedisConsumer>();
  #warn: BackendWarn;
  #closed = false;
  #addNowBatch?: {
    request: ScheduleRequest;
    when: number;
    resolve: (outcome: ScheduleOutcome) => void;
    reject: (error: unknown) => void;
  }[];

  private constructor(client: RedisClient, keys: DocketKeys, warn: BackendWarn) {
    this.#client = client;
    this.keys = keys;
    this.#warn = warn;
  }

  /** Connects to `url` for the docket `name`. */
  static async connect(url: string, name: string, warn: BackendWarn): Promise<RedisBackend> {
    const keys = new DocketKeys(name);
    const client = await connectRedis(url, (error) => warn("Redis connection error", { error }));
    return new RedisBackend(client, keys, warn);
  }

  /** The node-redis client (for users who need raw access). */
  get client(): RedisClient {
    return this.#client;
  }

  /** Sends one command; with `binary`, blob strings come back as bytes. */
  send(args: Arg[], binary = false): Promise<unknown> {
    const command = args.map(toArgument);
    return this.#client.sendCommand(command, commandOptions(this.#client, binary));
  }

  /** Runs a Lua script by SHA. */
  run(script: LuaScript, keys: string[], args: Arg[], binary = false): Promise<unknown> {
    return runScript(this.#sendScript, script, keys, args, binary);
  }

  // Every command, scripts included, goes through `send` (which tests wrap to count them).
  #sendScript = (command: (string | Uint8Array)[], binary?: boolean): Promise<unknown> =>
    this.send(command, binary);

  schedule(requests: ScheduleRequest[], now: number): Promise<ScheduleOutcome[]> {
    if (requests.length === 1) {
      return this.#scheduleOne(requests[0], now).then((outcome) => [outcome]);
    }
    return Promise.all(requests.map((request) => this.#scheduleOne(request, now)));
  }

  async #scheduleOne(request: ScheduleRequest, now: number): Promise<ScheduleOutcome> {
    const when = Math.round(request.when);
    const addNow = request.mode === "add" && when <= now &&
      request.expectGeneration === undefined;
    if (addNow && request.tracked && request.attempt === 1) {
      return await this.#addNow(request, when);
    }
    if (addNow && !request.tracked) {
      // An untracked task due now is the schedule script's simplest case, which only appends
      // the message: a plain XADD does the same in one round trip, without running Lua.
      await this.send([
        "XADD",
        this.keys.stream,
        "*",
        "k",
        request.key,
        "t",
        request.task,
        "d",
        request.data,
        "w",
        String(when),
        "a",
        String(request.attempt),
        "g",
        "0",
      ]);
      return "scheduled";
    }
    const reply = await this.#schedule(request, request.mode, now, "");
    return reply === "EXISTS" ? "exists" : reply === "STALE" ? "stale" : "scheduled";
  }

  /**
   * Writes a tracked task due now with the add_now script. Such adds made together (in the
   * same turn of the event loop: `addMany`, `schedule`, many `add`s in flight) share one call,
   * each still answered on its own.
   */
  #addNow(request: ScheduleRequest, when: number): Promise<ScheduleOutcome> {
    return new Promise((resolve, reject) => {
      let batch = this.#addNowBatch;
      if (!batch) {
        batch = this.#addNowBatch = [];
        queueMicrotask(() => this.#flushAddNow());
      }
      batch.push({ request, when, resolve, reject });
      if (batch.length >= ADD_NOW_BATCH) this.#flushAddNow();
    });
  }

  #flushAddNow(): void {
    const batch = this.#addNowBatch;
    this.#addNowBatch = undefined;
    if (!batch || batch.length === 0) return;
    const keys = this.keys;
    const scriptKeys = [keys.stream];
    const args: Arg[] = [];
    for (const { request, when } of batch) {
      scriptKeys.push(keys.runs(request.key));
      args.push(request.key, request.task, request.data, when, keys.stateChannel(request.key));
    }
    this.run(addNowScript, scriptKeys, args).then((answers) => {
      for (let i = 0; i < batch.length; i++) {
        const answer = text((answers as unknown[])[i]);
        if (answer === "OK") batch[i].resolve("scheduled");
        else if (answer === "EXISTS") batch[i].resolve("exists");
        else batch[i].reject(new Error(answer.replace(/^ERR /, "")));
      }
    }, (error) => {
      for (const item of batch) item.reject(error);
    });
  }

  async reschedule(request: RescheduleRequest, now: number): Promise<boolean> {
    const reply = await this.#schedule(request, "reschedule", now, request.id);
    return reply !== "STALE";
  }

  #schedule(
    request: Omit<ScheduleRequest, "mode">,
    mode: string,
    now: number,
    ackId: string,
  ): Promise<unknown> {
    const keys = this.keys;
    return this.run(
      scheduleScript,
      [keys.runs(request.key), keys.stream, keys.queue, keys.parked(request.key)],
      [
        mode,
        request.key,
        request.task,
        request.data,
        Math.round(request.when),
        now,
        request.attempt,
        request.tracked ? "1" : "0",
        keys.group,
        ackId,
        keys.stateChannel(request.key),
        request.expectGeneration ?? "",
      ],
    );
  }

  async cancel(key: string, now: number, ttlMs: number): Promise<void> {
    const keys = this.keys;
    await this.run(
      cancelScript,
      [
        keys.runs(key),
        keys.stream,
        keys.queue,
        keys.parked(key),
        keys.progress(key),
        keys.tombstones,
      ],
      [
        key,
        now,
        ttlMs,
        keys.group,
        keys.stateChannel(key),
        keys.cancelChannel,
        TOMBSTONE_TTL_MS,
      ],
    );
  }

  async finish(requests: FinishRequest[], now: number, ttlMs: number): Promise<void> {
    if (requests.length === 0) return;
    const keys = this.keys;
    const scriptKeys = [keys.stream];
    const args: Arg[] = [keys.group, now, ttlMs, 0];
    let untracked: string[] | undefined;
    for (const request of requests) {
      if (request.generation === 0) {
        (untracked ??= []).push(request.id);
        continue;
      }
      args[3] = (args[3] as number) + 1;
      scriptKeys.push(keys.runs(request.key), keys.progress(request.key));
      args.push(
        request.id,
        request.key,
        request.generation,
        request.state,
        request.error ?? "",
        request.failure ?? "",
        request.result ?? "",
        keys.stateChannel(request.key),
      );
    }
    if (untracked) args.push(...untracked);
    await this.run(finishScript, scriptKeys, args);
  }

  async moveDue(now: number, limit: number): Promise<number> {
    const keys = this.keys;
    const due = await this.send(
      ["ZRANGEBYSCORE", keys.queue, "-inf", now, "LIMIT", 0, limit],
    ) as string[];
    if (due.length === 0) return 0;
    const scriptKeys = [keys.queue, keys.stream];
    const args: Arg[] = [now];
    for (const key of due) {
      scriptKeys.push(keys.parked(key), keys.runs(key));
      args.push(key, keys.stateChannel(key));
    }
    return Number(await this.run(moveDueScript, scriptKeys, args));
  }

  async nextDue(): Promise<number | undefined> {
    const [, score] = await this.send(
      ["ZRANGEBYSCORE", this.keys.queue, "-inf", "+inf", "WITHSCORES", "LIMIT", 0, 1],
    ) as string[];
    return score === undefined ? undefined : Number(score);
  }

  async consumer(name: string, warn: BackendWarn): Promise<Consumer> {
    const reader = await duplicateConnection(
      this.#client,
      (error) => warn("Redis connection error (stream reader)", { error }),
    );
    const consumer = new RedisConsumer(this, reader, name, warn, (c) => this.#consumers.delete(c));
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Creates the consumer group (and the stream) if they do not exist yet. */
  async ensureGroup(): Promise<void> {
    try {
      await this.send(["XGROUP", "CREATE", this.keys.stream, this.keys.group, "0", "MKSTREAM"]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("BUSYGROUP")) throw error;
    }
  }

  async readRun(key: string): Promise<RunRecord | undefined> {
    const flat = await this.send(["HGETALL", this.keys.runs(key)], true) as unknown[];
    return parseRun(key, flat);
  }

  async readProgress(key: string): Promise<ProgressRecord | undefined> {
    const flat = await this.send(["HGETALL", this.keys.progress(key)]) as unknown[];
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

  async writeProgress(
    key: string,
    generation: number,
    change: { total?: number; message?: string | null; increment?: number },
    now: number,
  ): Promise<ProgressRecord> {
    const reply = await this.run(progressScript, [this.keys.progress(key)], [
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

  async counts(): Promise<{ stream: number; queue: number }> {
    const [stream, queue, parked] = await Promise.all([
      this.send(["XLEN", this.keys.stream]),
      this.send(["ZCARD", this.keys.queue]),
      flow.parkedCount(this),
    ]);
    return { stream: Number(stream), queue: Number(queue) + parked };
  }

  async pending(limit: number): Promise<PendingTasks> {
    const keys = this.keys;
    await this.ensureGroup();
    const [entries, holders, queued] = await Promise.all([
      this.send(["XRANGE", keys.stream, "-", "+", "COUNT", limit], true),
      this.send(["XPENDING", keys.stream, keys.group, "-", "+", limit]),
      this.send(["ZRANGE", keys.queue, 0, limit - 1]),
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
    const parked = await Promise.all(
      queued.map((key) => this.send(["HGETALL", keys.parked(key)], true) as Promise<unknown[]>),
    );
    const queue = parked.map(parseMessage).filter((m): m is TaskMessage => typeof m !== "string");
    if (queue.length < limit) queue.push(...await flow.parkedMessages(this, limit - queue.length));
    return { stream, queue };
  }

  async clear(ttlMs: number): Promise<number> {
    const keys = this.keys;
    await this.ensureGroup();
    let cleared = 0;
    const now = Date.now();
    const held = new Set(
      (await this.send(["XPENDING", keys.stream, keys.group, "-", "+", 1_000_000]) as string[][])
        .map(([id]) => id),
    );
    let start = "-";
    for (;;) {
      const entries = await this.send(
        ["XRANGE", keys.stream, start, "+", "COUNT", 1000],
        true,
      ) as RawEntry[];
      if (entries.length === 0) break;
      const work: Promise<unknown>[] = [];
      for (const [rawId, flat] of entries) {
        const id = text(rawId);
        if (held.has(id)) continue;
        const message = parseMessage(flat);
        work.push(this.send(["XDEL", keys.stream, id]));
        if (typeof message !== "string") work.push(this.cancel(message.key, now, ttlMs));
        cleared++;
      }
      await Promise.all(work);
      start = `(${text(entries[entries.length - 1][0])}`;
      if (entries.length < 1000) break;
    }
    for (;;) {
      const queued = await this.send(["ZRANGE", keys.queue, 0, 999]) as string[];
      if (queued.length === 0) break;
      await Promise.all(queued.map((key) => this.cancel(key, now, ttlMs)));
      cleared += queued.length;
    }
    cleared += await flow.clearParked(this, (key) => this.cancel(key, now, ttlMs));
    return cleared;
  }

  async heartbeat(worker: string, tasks: string[], now: number, staleMs: number): Promise<void> {
    const keys = this.keys;
    const work: Promise<unknown>[] = [
      this.send(["ZADD", keys.workers, now, worker]),
      this.send(["ZREMRANGEBYSCORE", keys.workers, "-inf", now - staleMs]),
      this.send(["DEL", keys.workerTasks(worker)]),
    ];
    if (tasks.length) work.push(this.send(["SADD", keys.workerTasks(worker), ...tasks]));
    work.push(this.send(["PEXPIRE", keys.workerTasks(worker), Math.max(staleMs, 1000)]));
    for (const task of tasks) {
      work.push(this.send(["ZADD", keys.taskWorkers(task), now, worker]));
      work.push(this.send(["ZREMRANGEBYSCORE", keys.taskWorkers(task), "-inf", now - staleMs]));
    }
    await Promise.all(work);
  }

  async removeWorker(worker: string, tasks: string[]): Promise<void> {
    const keys = this.keys;
    await Promise.all([
      this.send(["ZREM", keys.workers, worker]),
      this.send(["DEL", keys.workerTasks(worker)]),
      ...tasks.map((task) => this.send(["ZREM", keys.taskWorkers(task), worker])),
    ]);
  }

  async workers(now: number, staleMs: number, task?: string): Promise<WorkerRecord[]> {
    const keys = this.keys;
    const set = task === undefined ? keys.workers : keys.taskWorkers(task);
    await this.send(["ZREMRANGEBYSCORE", set, "-inf", now - staleMs]);
    const flat = await this.send(["ZRANGE", set, 0, -1, "WITHSCORES"]) as string[];
    const records: WorkerRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      records.push({ name: flat[i], lastSeen: Number(flat[i + 1]), tasks: [] });
    }
    await Promise.all(records.map(async (record) => {
      record.tasks = (await this.send(["SMEMBERS", keys.workerTasks(record.name)]) as string[])
        .sort();
    }));
    return records;
  }

  async appendStrike(instruction: Uint8Array): Promise<string> {
    return String(await this.send(["XADD", this.keys.strikes, "*", "i", instruction]));
  }

  async readStrikes(
    afterId: string,
    blockMs: number,
  ): Promise<{ id: string; instruction: Uint8Array }[]> {
    const args = ["XREAD", "COUNT", 100];
    let reply: unknown;
    if (blockMs > 0) {
      this.#strikeReader ??= duplicateConnection(
        this.#client,
        (error) => this.#warn("Redis connection error (strike reader)", { error }),
      );
      const reader = await this.#strikeReader;
      reply = await reader.sendCommand(
        [...args, "BLOCK", blockMs, "STREAMS", this.keys.strikes, afterId].map(String),
        BINARY,
      );
    } else {
      reply = await this.send([...args, "STREAMS", this.keys.strikes, afterId], true);
    }
    if (!reply) return [];
    const entries = (reply as [unknown, RawEntry[]][])[0]?.[1] ?? [];
    return entries.map(([id, flat]) => ({ id: text(id), instruction: fieldMap(flat).get("i")! }))
      .filter((entry) => entry.instruction !== undefined);
  }

  async tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const reply = await this.send(["SET", this.keys.lock(name), owner, "NX", "PX", ttlMs]);
    return reply === "OK";
  }

  admit(request: AdmitRequest, now: number): Promise<AdmitOutcome> {
    return flow.admit(this, request, now);
  }

  release(request: ReleaseRequest, now: number): Promise<void> {
    return flow.release(this, request, now);
  }

  renewSlots(holds: SlotHold[], now: number, leaseMs: number): Promise<void> {
    return flow.renewSlots(this, holds, now, leaseMs);
  }

  scavenge(now: number, leaseMs: number, limit: number): Promise<number> {
    return flow.scavenge(this, now, leaseMs, limit);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    this.#subscriber ??= duplicateConnection(
      this.#client,
      (error) => this.#warn("Redis connection error (subscriber)", { error }),
    );
    const subscriber = await this.#subscriber;
    const wrapped = (message: string) => listener(message);
    await subscriber.subscribe(channel, wrapped);
    return async () => {
      if (this.#closed) return;
      try {
        await subscriber.unsubscribe(channel, wrapped);
      } catch {
        // The connection is going away; nothing is left to unsubscribe.
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
    const extra = await Promise.allSettled(
      [this.#subscriber, this.#strikeReader].filter((p) => p !== undefined),
    );
    for (const result of extra) {
      if (result.status === "fulfilled") result.value.destroy();
    }
    try {
      await this.#client.close();
    } catch {
      this.#client.destroy();
    }
  }
}

/** A worker's reader: its own connection, so a blocking read never holds up other commands. */
class RedisConsumer implements Consumer {
  #backend: RedisBackend;
  #reader: RedisClient;
  #name: string;
  #warn: BackendWarn;
  #onClose: (consumer: RedisConsumer) => void;
  #closed = false;
  /** Reads under way (a worker may have more than one claim out at once). */
  #reading = new Set<Promise<void>>();

  constructor(
    backend: RedisBackend,
    reader: RedisClient,
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
