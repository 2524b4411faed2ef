/**
 * The docket client: register tasks, schedule them now or later, replace, cancel and strike
 * them, and look at what is waiting and who is working.
 *
 * @module
 */

import type { Backend } from "./storage/backend.ts";
import { RedisBackend } from "./storage/redis/backend.ts";
import type { RedisClient } from "./storage/redis/connection.ts";
import { DocketKeys } from "./keys.ts";
import type { When } from "./duration.ts";
import type { Execution, ExecutionHost } from "./execution.ts";
import { type TaskDefinition, type TaskLike, type TaskList, toDefinition } from "./definition.ts";
import { TaskRegistry } from "./task_registry.ts";
import type { Logger } from "./logging/logger.ts";
import { StrikeList } from "./strikes/strike_list.ts";
import { makeStrikeInstruction } from "./strikes/strike_set.ts";
import type { Payload } from "./types.ts";
import type { AddCall, AddManyCall, ExecutionsFor, ScheduleEntries } from "./task_types.ts";
import { builtinTasks } from "./builtin_tasks.ts";
import * as deadLetter from "./dead_letter/failed.ts";
import {
  type DocketConnection,
  type DocketOptions,
  openBackend,
  resolveConnection,
} from "./docket_options.ts";
import { sendRequests, traceCancel, traceClear } from "./telemetry/tracing.ts";
import { traceStrike } from "./telemetry/strikes.ts";
import {
  type AddOptions,
  applyOutcomes,
  checkKey,
  dispositionOf,
  dueTime,
  prepareTask,
  scheduleEntries,
  type ScheduleEntry,
  type ScheduleMode,
} from "./docket_schedule.ts";
import {
  type DocketSnapshot,
  readExecution,
  takeSnapshot,
  toWorkerInfo,
  type WorkerInfo,
} from "./docket_snapshot.ts";

/**
 * A docket: a named set of tasks in one store.
 *
 * @example
 * ```ts ignore
 * import { Docket } from "@docket/core";
 * await using docket = await Docket.connect({ name: "orders", url: "redis://localhost:6379/0" });
 * docket.register(processOrder);
 * const execution = await docket.add(processOrder)({ customerId: "1001", items: ["a"] });
 * ```
 */
export class Docket implements ExecutionHost, AsyncDisposable {
  /** The docket's name. */
  readonly name: string;
  /** The store URL. */
  readonly url: string;
  /** Milliseconds state and results are kept; 0 keeps nothing. */
  readonly executionTtl: number;
  /** Milliseconds failed tasks stay in the dead-letter set; 0 keeps none. */
  readonly failedTtl: number;
  /** Milliseconds between worker heartbeats. */
  readonly heartbeatInterval: number;
  /** Heartbeats a worker may miss before it is considered gone. */
  readonly missedHeartbeats: number;
  /** Times a task's worker may vanish before the task ends FAILED as abandoned. */
  readonly maxRedeliveries: number;
  /** The docket's logger. */
  readonly logger: Logger;
  /** The key layout. */
  readonly keys: DocketKeys;
  /** The storage backend. */
  readonly backend: Backend;
  /** Strikes in effect, kept current from the store. */
  readonly strikeList: StrikeList;
  #registry = new TaskRegistry();
  #closed = false;

  private constructor(options: DocketConnection & { backend: Backend }) {
    this.name = options.name;
    this.url = options.url;
    this.executionTtl = options.executionTtl;
    this.failedTtl = options.failedTtl;
    this.logger = options.logger;
    this.backend = options.backend;
    this.heartbeatInterval = options.heartbeatInterval;
    this.missedHeartbeats = options.missedHeartbeats;
    this.maxRedeliveries = options.maxRedeliveries;
    this.keys = new DocketKeys(options.name);
    this.strikeList = new StrikeList(options.backend, options.logger);
    for (const task of builtinTasks) this.register(task);
  }

  /** Connects to the store and loads the strikes in effect. */
  static async connect(options: DocketOptions = {}): Promise<Docket> {
    // Every option is checked before connecting, so a bad one leaves no connection open.
    const connection = resolveConnection(options);
    const backend = await openBackend(connection.url, connection.name, connection.logger, options);
    const docket = new Docket({ ...connection, backend });
    // A docket that cannot load its strikes is not handed out, and leaves no connection open.
    await docket.strikeList.load().catch((error) =>
      backend.close().then(() => Promise.reject(error))
    );
    return docket;
  }

  /** Milliseconds after which a silent worker is considered gone. */
  get workerStaleAfter(): number {
    return this.heartbeatInterval * this.missedHeartbeats;
  }

  /** The registered tasks by name (aliases included). */
  get tasks(): ReadonlyMap<string, TaskDefinition> {
    return this.#registry.tasks;
  }

  /**
   * Registers a task under its name and any aliases.
   *
   * @example
   * ```ts ignore
   * docket.register(processOrder, { names: ["process_order", "orders.process"] });
   * ```
   */
  register(task: TaskLike, options: { names?: string[] } = {}): TaskDefinition {
    return this.#registry.register(task, options);
  }

  /** The definition registered under `name`, or an `UnknownTaskError`. */
  resolveTask(task: TaskLike | string): { name: string; definition: TaskDefinition } {
    return this.#registry.resolve(task);
  }

  /**
   * Schedules a task: returns a function that takes the payload. `when` defaults to now and
   * `key` to a new UUIDv7, both fixed each time that function is called. A key that is already
   * scheduled, queued or running is left alone (`already_scheduled`). The payload is typed by the
   * task and the execution by its result; by name, both are loose (or `add<typeof task>(name)`).
   *
   * @example
   * ```ts ignore
   * const execution = await docket.add(double)({ n: 21 }); // docket.add(double)({}) is refused
   * const n: number = await execution.getResult();
   * await docket.add(processOrder, { when: Date.now() + 60_000, key: "order-1002" })({
   *   customerId: "1002",
   *   items: [],
   * });
   * ```
   */
  add<T extends TaskLike = TaskDefinition>(task: T | string, options: AddOptions = {}): AddCall<T> {
    const { name } = this.resolveTask(task);
    const call = (payload?: Payload) => this.#writeOne("add", name, options, payload ?? {});
    return call as AddCall<T>;
  }

  /**
   * Schedules many tasks of one kind in one round trip; payloads are typed as in `add`.
   *
   * @example
   * ```ts ignore
   * await docket.addMany(sendEmail)([{ to: "a@example.com" }, { to: "b@example.com" }]);
   * ```
   */
  addMany<T extends TaskLike = TaskDefinition>(
    task: T | string,
    options: { when?: When } = {},
  ): AddManyCall<T> {
    const { name } = this.resolveTask(task);
    return ((payloads: readonly Payload[]) =>
      this.#write("add", name, options, payloads)) as AddManyCall<T>;
  }

  /**
   * Schedules many tasks, each with its own task, payload, `when` and `key`, in one round trip
   * (what `Agenda.scatter` uses). Every name is checked and every payload encoded before anything
   * is written: an unregistered name throws `UnknownTaskError` and nothing is scheduled. Each
   * entry behaves, and is typed, as `add` (`scheduled`, `already_scheduled` or `struck`). If the
   * store fails part-way, a {@linkcode ScheduleError} says how many tasks were scheduled.
   *
   * @example
   * ```ts ignore
   * const executions = await docket.schedule([
   *   { task: processOrder, payload: { customerId: "1001", items: [] } },
   *   { task: "send_email", payload: { userId: "u1" }, when: Date.now() + 60_000, key: "welcome-u1" },
   * ]);
   * ```
   */
  schedule<const T extends TaskList>(entries: ScheduleEntries<T>): Promise<ExecutionsFor<T>>;
  async schedule(entries: readonly ScheduleEntry[]): Promise<Execution[]> {
    this.#assertOpen();
    return await scheduleEntries(this, entries);
  }

  /**
   * Schedules a task under `key`, superseding whatever was scheduled under it; typed as `add`.
   *
   * @example
   * ```ts ignore
   * await docket.replace(processOrder, { when: Date.now() + 5_000, key: "order-1002" })(payload);
   * ```
   */
  replace<T extends TaskLike = TaskDefinition>(
    task: T | string,
    options: { when?: When; key: string },
  ): AddCall<T> {
    if (typeof options?.key !== "string" || !options.key) {
      throw new TypeError("replace needs a key: replace(task, { key, when? })");
    }
    const { name } = this.resolveTask(task);
    const call = (payload?: Payload) => this.#writeOne("replace", name, options, payload ?? {});
    return call as AddCall<T>;
  }

  /** `#write` for a single task (`add` and `replace`), without the lists. */
  async #writeOne(
    mode: ScheduleMode,
    name: string,
    options: AddOptions,
    payload: Payload,
  ): Promise<Execution> {
    this.#assertOpen();
    const now = Date.now();
    const when = dueTime(options.when, now);
    checkKey(options.key);
    const { execution, request } = prepareTask(this, mode, name, payload, when, options.key, now);
    if (request) {
      const [outcome] = await sendRequests(this, mode, [request], now);
      execution.disposition = dispositionOf(outcome);
    }
    return execution;
  }

  async #write(
    mode: ScheduleMode,
    name: string,
    options: AddOptions,
    payloads: readonly Payload[],
  ): Promise<Execution[]> {
    this.#assertOpen();
    const now = Date.now();
    const when = dueTime(options.when, now);
    checkKey(options.key);
    const prepared = payloads.map((payload) =>
      prepareTask(this, mode, name, payload, when, options.key, now)
    );
    const toWrite = prepared.flatMap(({ request }) => request ? [request] : []);
    const outcomes = toWrite.length ? await sendRequests(this, "addMany", toWrite, now) : [];
    return applyOutcomes(prepared, outcomes);
  }

  /**
   * True when a strike in effect matches this task (`add` and the worker ask this); a strike value
   * of another type than the payload's does not match, and says so in a warning.
   *
   * @example
   * ```ts ignore
   * await docket.strike(processOrder, "amount", ">", 1000);
   * docket.isStruck("process_order", "order-1", { customerId: "67890", amount: 2000 }); // true
   * ```
   */
  isStruck(name: string, key: string, payload: Payload): boolean {
    return this.strikeList.strikes.isStruck(name, key, payload, this.#warnStrike);
  }

  #warnStrike = (message: string): void => this.logger.warn(message);

  /**
   * Cancels a task in any state: a waiting task is removed, a running one is aborted.
   *
   * @example
   * ```ts ignore
   * await docket.cancel("order-1002");
   * ```
   */
  async cancel(key: string): Promise<void> {
    this.#assertOpen();
    await traceCancel(this, key);
  }

  /**
   * Reads an execution back by key; `null` when there is no record of it.
   *
   * @example
   * ```ts ignore
   * const execution = await docket.getExecution("order-1002");
   * ```
   */
  async getExecution(key: string): Promise<Execution | null> {
    return await readExecution(this.#assertOpen(), key);
  }

  /**
   * Strikes a task, or tasks whose parameter matches a condition, everywhere at once: the
   * instruction goes to the docket's strike stream, which every docket and worker follows, and
   * applies here before this resolves. A struck task is not scheduled by `add` (disposition
   * `struck`), and a worker that meets one ends it `cancelled` without running it.
   *
   * `op` is one of `==` (default), `!=`, `<`, `<=`, `>`, `>=`, `between` (`value` is an inclusive
   * `[lo, hi]`). Anything else, a parameter strike without a value, or a whole-task strike with an
   * operator or value is refused with a `TypeError`. Strikes combine with OR: a task is struck
   * when any one strike in effect matches it.
   *
   * @example
   * ```ts ignore
   * await docket.strike(processOrder);                               // the whole task
   * await docket.strike(null, "customerId", "==", "12345");          // any task, by argument
   * await docket.strike("process_payment", "amount", "between", [1000, 5000]);
   * ```
   */
  async strike(
    task: TaskLike | string | null,
    param?: string | null,
    op?: string,
    value?: unknown,
  ): Promise<void> {
    await this.#sendStrike("strike", task, param, op, value);
  }

  /**
   * Restores what `strike` struck (the same arguments). A whole-task strike and the parameter
   * strikes on the same task are separate: each is restored on its own. Restoring what is not
   * struck changes nothing.
   *
   * @example
   * ```ts ignore
   * await docket.restore(null, "customerId", "==", "12345");
   * ```
   */
  async restore(
    task: TaskLike | string | null,
    param?: string | null,
    op?: string,
    value?: unknown,
  ): Promise<void> {
    await this.#sendStrike("restore", task, param, op, value);
  }

  async #sendStrike(
    direction: "strike" | "restore",
    task: TaskLike | string | null,
    param?: string | null,
    op?: string,
    value?: unknown,
  ): Promise<void> {
    this.#assertOpen();
    const name = task == null ? null : typeof task === "string" ? task : toDefinition(task).name;
    const instruction = makeStrikeInstruction(direction, name, param, op, value);
    await traceStrike(this.name, instruction, () => this.strikeList.send(instruction));
  }

  /**
   * Tasks that ended failed for good (kept `failedTtl`), newest first; pass `cursor` for more.
   *
   * @example
   * ```ts ignore
   * const { items, cursor } = await docket.failed({ task: "send_email", limit: 20 });
   * ```
   */
  async failed(query?: deadLetter.FailedQuery): Promise<deadLetter.FailedPage> {
    return await deadLetter.listFailed(this.#assertOpen(), query);
  }

  /**
   * Reruns a failed task with its payload as a fresh task due now, and removes it from the
   * failed set; a {@linkcode FailedTaskNotFoundError} when the key is not in it.
   *
   * @example
   * ```ts ignore
   * const execution = await docket.retry("order-1002");
   * ```
   */
  async retry(key: string): Promise<Execution> {
    return await deadLetter.retryFailedTask(this.#assertOpen(), key);
  }

  /**
   * Reruns every failed task (of one task name, when given) in batches; returns how many.
   *
   * @example
   * ```ts ignore
   * await docket.retryFailed({ task: "send_email" });
   * ```
   */
  async retryFailed(options?: { task?: string }): Promise<number> {
    return await deadLetter.retryFailedTasks(this.#assertOpen(), options);
  }

  /**
   * Removes failed tasks (of one task name, failed `olderThan` ago); returns how many.
   *
   * @example
   * ```ts ignore
   * await docket.purgeFailed({ olderThan: { days: 1 } });
   * ```
   */
  async purgeFailed(options?: deadLetter.PurgeFailedOptions): Promise<number> {
    return await deadLetter.purgeFailedTasks(this.#assertOpen(), options);
  }

  /**
   * Drops every waiting task (running ones finish); returns how many were dropped.
   *
   * @example
   * ```ts ignore
   * const dropped = await docket.clear();
   * ```
   */
  async clear(): Promise<number> {
    this.#assertOpen();
    return await traceClear(this);
  }

  /**
   * What is scheduled, queued and running, and by which worker.
   *
   * @example
   * ```ts ignore
   * const { future, running, workers } = await docket.snapshot();
   * ```
   */
  async snapshot(): Promise<DocketSnapshot> {
    this.#assertOpen();
    return await takeSnapshot(this, () => this.workers());
  }

  /**
   * Live workers and the tasks each serves.
   *
   * @example
   * ```ts ignore
   * for (const worker of await docket.workers()) console.log(worker.name, worker.tasks);
   * ```
   */
  async workers(): Promise<WorkerInfo[]> {
    return (await this.backend.workers(Date.now(), this.workerStaleAfter)).map(toWorkerInfo);
  }

  /**
   * Live workers serving one task.
   *
   * @example
   * ```ts ignore
   * await docket.taskWorkers("process_order");
   * ```
   */
  async taskWorkers(taskName: string): Promise<WorkerInfo[]> {
    const records = this.backend.workers(Date.now(), this.workerStaleAfter, taskName);
    return (await records).map(toWorkerInfo);
  }

  /**
   * The node-redis client this docket uses (not on `memory://`). On a cluster, the client of the
   * node holding this docket's slot now: do not close it; ask again after slots move.
   *
   * @example
   * ```ts ignore
   * const redis = await docket.redis();
   * await redis.sendCommand(["ZCARD", "{orders}:concurrency:customerId:1001"]);
   * ```
   */
  async redis(): Promise<RedisClient> {
    if (this.backend instanceof RedisBackend) return await this.backend.client();
    throw new Error(`docket.redis() is not available on ${this.url}: it has no Redis client`);
  }

  /** Closes the docket's connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopping = this.strikeList.stop();
    await this.backend.close();
    await stopping;
  }

  /** Closes the docket (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): this {
    if (this.#closed) throw new Error(`docket "${this.name}" is closed`);
    return this;
  }
}
