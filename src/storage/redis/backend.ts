/**
 * The Redis backend: node-redis for transport, one Lua script per atomic operation.
 *
 * Round trips on the hot path: one EVALSHA per add (pipelined for `addMany`), one read_claim
 * script per batch of deliveries while tracked work is waiting (sent behind the finish script of
 * the batch that freed the slots, in the same round trip), otherwise one XREADGROUP (blocking
 * when idle) plus one claim script, and one finish script per batch of finished runs. Tasks with flow controls add one admit script per delivery and, for those that
 * hold concurrency slots, one read plus one release script when the run ends.
 *
 * This file holds the write path (schedule, cancel, finish, moving due tasks) and the
 * connections; the rest lives next to it, each part taking the backend as a `RedisAccess`
 * (`access.ts`): batched adds (`add_now.ts`), a worker's consumer (`consumer.ts`) and its group
 * (`consumer_group.ts`), flow control (`flow.ts`), the dead-letter set (`dead_letter.ts`),
 * listings and `clear` (`pending.ts`), progress (`progress.ts`), the worker registry
 * (`registry.ts`), the strike stream (`strikes.ts`) and keys of the wrong type (`wrong_type.ts`).
 *
 * @module
 */

import type {
  AdmitOutcome,
  AdmitRequest,
  Backend,
  BackendWarn,
  Consumer,
  FailedPageRequest,
  FailedPurgeRequest,
  FailedRecord,
  FailedRetryOutcome,
  FinishRequest,
  PendingTasks,
  ProgressRecord,
  ReleaseRequest,
  RescheduleRequest,
  RunRecord,
  ScheduleOutcome,
  ScheduleRequest,
  SlotHold,
  Unsubscribe,
  WorkerRecord,
} from "../backend.ts";
import { DocketKeys } from "../../keys.ts";
import {
  ClusterConnection,
  commandOptions,
  duplicateConnection,
  type RedisClient,
  type RedisConnection,
} from "./connection.ts";
import {
  openConnection,
  type OpenedConnection,
  redactError,
  type RedisConnectOptions,
} from "./open.ts";
import { SentinelConnection } from "./sentinel.ts";
import { ExplainedConnection, explainRefusal, type RefusalContext } from "./permissions.ts";
import { warnIfEvicting } from "./eviction.ts";
import { parseRedisUrl } from "./url.ts";
import { type LuaScript, runScript } from "./script.ts";
import { type Arg, toArgument } from "./access.ts";
import { scheduleScript } from "./scripts/schedule.ts";
import { finishScript } from "./scripts/finish.ts";
import { cancelScript } from "./scripts/cancel.ts";
import { moveDueScript } from "./scripts/move_due.ts";
import * as consumerGroup from "./consumer_group.ts";
import * as wrongType from "./wrong_type.ts";
import { AddNowBatcher } from "./add_now.ts";
import { RedisConsumer } from "./consumer.ts";
import * as deadLetter from "./dead_letter.ts";
import * as flow from "./flow.ts";
import * as pending from "./pending.ts";
import * as progress from "./progress.ts";
import * as registry from "./registry.ts";
import * as strikes from "./strikes.ts";
import { eventPatterns, listen, readStats } from "./events.ts";
import { finishCall } from "./finish.ts";

/** How long a cancellation tombstone lives for a key with no record (fire-and-forget tasks). */
const TOMBSTONE_TTL_MS = 3_600_000;

/** The storage operations of one docket on Redis. */
export class RedisBackend implements Backend {
  readonly kind = "redis" as const;
  readonly keys: DocketKeys;
  readonly subscribersElsewhere: boolean;
  #client: RedisConnection;
  /** Whether the docket opened `#client` (a client the caller brought is not closed). */
  #owned: boolean;
  #refusal: Omit<RefusalContext, "args">;
  /** The scripts run so far by SHA, to name one Redis refused a command inside. */
  #scripts = new Map<string, LuaScript>();
  #redact: (text: string) => string;
  #subscriber?: Promise<RedisConnection>;
  /** What the subscriptions that asked call when the subscriber connection is back. */
  #restored = new Set<() => void>();
  #strikeReader?: Promise<RedisConnection>;
  #consumers = new Set<RedisConsumer>();
  #warn: BackendWarn;
  #closed = false;
  #addNow = new AddNowBatcher(this);
  #taskIndex = new registry.TaskIndexWrites();

  private constructor(
    opened: OpenedConnection,
    keys: DocketKeys,
    warn: BackendWarn,
    user?: string,
  ) {
    this.#client = opened.connection;
    this.subscribersElsewhere = opened.connection instanceof ClusterConnection;
    this.#owned = opened.owned;
    this.#redact = opened.redact;
    this.keys = keys;
    this.#warn = warn;
    this.#refusal = { docket: keys.name, user };
  }

  /**
   * Connects to `url` for the docket `name` (or uses `options.redis`), then warns when Redis
   * may evict keys.
   */
  static async connect(
    url: string,
    name: string,
    warn: BackendWarn,
    options: RedisConnectOptions = {},
  ): Promise<RedisBackend> {
    const keys = new DocketKeys(name);
    const onError = (error: Error) => warn("Redis connection error", { error });
    const opened = await openConnection(url, keys.prefix, options, onError);
    const user = options.redis === undefined ? parseRedisUrl(url).username : undefined;
    const backend = new RedisBackend(opened, keys, warn, user);
    await warnIfEvicting((args) => backend.send(args), warn);
    return backend;
  }

  /**
   * The node-redis client (for users who need raw access): on a cluster, the client of the node
   * that holds this docket's slot now.
   */
  client(): Promise<RedisClient> {
    const client = this.#client;
    if (client instanceof ClusterConnection) return client.nodeClient();
    if (client instanceof SentinelConnection) return Promise.resolve(client.sentinel);
    return Promise.resolve(client as RedisClient);
  }

  /** Sends one command; with `binary`, blob strings come back as bytes. */
  send(args: Arg[], binary = false): Promise<unknown> {
    const command = args.map(toArgument);
    return this.#client.sendCommand(command, commandOptions(this.#client, binary)).catch(
      (error) => {
        throw explainRefusal(error, { ...this.#refusal, args: command, scripts: this.#scripts });
      },
    );
  }

  /** Runs a Lua script by SHA. */
  run(script: LuaScript, keys: string[], args: Arg[], binary = false): Promise<unknown> {
    if (!this.#scripts.has(script.sha)) this.#scripts.set(script.sha, script);
    return runScript(this.#sendScript, script, keys, args, binary);
  }

  /** Another connection like the main one, for blocking reads and subscriptions. */
  async #derive(role: string, warn: BackendWarn = this.#warn): Promise<RedisConnection> {
    const copy = await duplicateConnection(
      this.#client,
      (error) =>
        warn(`Redis connection error (${role})`, { error: redactError(error, this.#redact) }),
    );
    return new ExplainedConnection(copy, this.#refusal);
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
    // A traced add goes through the schedule script, which writes the trace context.
    if (addNow && request.tracked && request.attempt === 1 && !request.traceContext) {
      return await this.#addNow.add(request, when);
    }
    if (addNow && !request.tracked) {
      // An untracked task due now is the schedule script's simplest case, which only appends
      // the message: a plain XADD does the same in one round trip, without running Lua.
      const entry = [
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
      ];
      // Still one XADD: the trace context, when there is one, is one more field of the entry.
      if (request.traceContext) entry.push("p", request.traceContext);
      await this.send(entry);
      return "scheduled";
    }
    const reply = await this.#schedule(request, request.mode, now, "");
    return reply === "EXISTS" ? "exists" : reply === "STALE" ? "stale" : "scheduled";
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
        request.traceContext ?? "",
        keys.nextDueChannel,
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
    const call = finishCall(this.keys, requests, now, ttlMs, this.subscribersElsewhere);
    const reply = await this.run(finishScript, call.keys, call.args);
    // A bare count when every run was recorded; else the count and the runs that were not.
    if (Array.isArray(reply)) wrongType.reportUnrecorded(this, reply, requests, this.#warn);
  }

  async moveDue(now: number, limit: number): Promise<number> {
    const keys = this.keys;
    const due = await this.send(
      ["ZRANGEBYSCORE", keys.queue, "-inf", now, "LIMIT", 0, limit],
    ) as string[];
    if (due.length === 0) return 0;
    const scriptKeys = [keys.queue, keys.stream];
    const args: Arg[] = [now, this.subscribersElsewhere ? "1" : "0"];
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
    const reader = await this.#derive("stream reader", warn);
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

  readRun(key: string): Promise<RunRecord | undefined> {
    return wrongType.readRun(this, key);
  }

  readProgress(key: string): Promise<ProgressRecord | undefined> {
    return progress.readProgress(this, key);
  }

  writeProgress(
    key: string,
    generation: number,
    change: { total?: number; message?: string | null; increment?: number },
    now: number,
  ): Promise<ProgressRecord> {
    return progress.writeProgress(this, key, generation, change, now);
  }

  counts(): Promise<{ stream: number; queue: number }> {
    return pending.counts(this);
  }

  pending(limit: number): Promise<PendingTasks> {
    return pending.pending(this, limit);
  }

  clear(ttlMs: number): Promise<number> {
    return pending.clear(this, (key, now) => this.cancel(key, now, ttlMs));
  }

  heartbeat(worker: string, tasks: string[], now: number, staleMs: number): Promise<void> {
    return registry.heartbeat(this, this.#taskIndex, worker, tasks, now, staleMs);
  }

  removeWorker(worker: string, tasks: string[]): Promise<void> {
    return registry.removeWorker(this, this.#taskIndex, worker, tasks);
  }

  retireConsumer(worker: string): Promise<boolean> {
    return consumerGroup.retireConsumer(this, worker);
  }

  pruneConsumers(now: number, staleMs: number, idleMs: number, limit: number): Promise<string[]> {
    return consumerGroup.pruneConsumers(this, now, staleMs, idleMs, limit);
  }

  workers(now: number, staleMs: number, task?: string): Promise<WorkerRecord[]> {
    return registry.workers(this, now, staleMs, task);
  }

  appendStrike(instruction: Uint8Array): Promise<string> {
    return strikes.appendStrike(this, instruction);
  }

  compactStrikes(lastId: string, snapshot: Uint8Array, minLength: number): Promise<boolean> {
    return strikes.compactStrikes(this, lastId, snapshot, minLength);
  }

  readStrikes(
    afterId: string,
    blockMs: number,
  ): Promise<{ id: string; instruction: Uint8Array }[]> {
    return strikes.readStrikes(this, this.#strikeReaderConnection, afterId, blockMs);
  }

  /** The strike reader's own connection, opened on first use. */
  #strikeReaderConnection = (): Promise<RedisConnection> => {
    this.#strikeReader ??= this.#derive("strike reader");
    return this.#strikeReader;
  };

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

  failedPage(request: FailedPageRequest, now: number, ttlMs: number): Promise<FailedRecord[]> {
    return deadLetter.failedPage(this, request, now, ttlMs);
  }

  readFailed(key: string): Promise<FailedRecord | undefined> {
    return deadLetter.readFailed(this, key);
  }

  retryFailed(keys: string[], now: number): Promise<FailedRetryOutcome[]> {
    return deadLetter.retryFailed(this, keys, now);
  }

  purgeFailed(request: FailedPurgeRequest): Promise<{ removed: number; purged: number }> {
    return deadLetter.purgeFailed(this, request);
  }

  countFailed(now: number, ttlMs: number): Promise<number> {
    return deadLetter.countFailed(this, now, ttlMs);
  }

  subscribeEvents(listener: (message: string) => void, onRestored?: () => void) {
    return this.#listen("pattern", eventPatterns(this.keys), listener, onRestored);
  }

  readStats(minutes: number[]): Promise<Record<string, number>[]> {
    return readStats(this, minutes);
  }

  subscribe(channel: string, listener: (message: string) => void, onRestored?: () => void) {
    return this.#listen("channel", [channel], listener, onRestored);
  }

  async #listen(
    kind: "channel" | "pattern",
    names: string[],
    listener: (m: string) => void,
    onRestored?: () => void,
  ): Promise<Unsubscribe> {
    this.#subscriber ??= this.#derive("subscriber").then((subscriber) => {
      // node-redis subscribes again before it is ready on a new connection.
      subscriber.on("ready", () => {
        for (const restored of [...this.#restored]) restored();
      });
      return subscriber;
    });
    const unlisten = await listen(
      await this.#subscriber,
      kind,
      names,
      listener,
      () => this.#closed,
    );
    if (!onRestored) return unlisten;
    this.#restored.add(onRestored);
    return () => {
      this.#restored.delete(onRestored);
      return unlisten();
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
    if (!this.#owned) return;
    try {
      await this.#client.close();
    } catch {
      this.#client.destroy();
    }
  }
}
