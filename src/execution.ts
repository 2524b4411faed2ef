/**
 * One execution of a task: its state, progress and result, and ways to wait for them.
 *
 * @module
 */

import type { Backend, RunRecord } from "./storage/backend.ts";
import type { DocketKeys } from "./keys.ts";
import { decodeValue, type ErrorRecord, fromErrorRecord } from "./codec.ts";
import { ExecutionCancelledError, TimeoutError } from "./errors.ts";
import { type Duration, toEpochMillis, toMillis, type When } from "./duration.ts";
import {
  type Disposition,
  type ExecutionEvent,
  ExecutionState,
  type Payload,
  type ProgressEvent,
  type ProgressInfo,
  type StateEvent,
  TERMINAL_STATES,
} from "./types.ts";

/** What an execution needs of its docket; `Docket` implements it. */
export interface ExecutionHost {
  /** The store the execution's record, progress and events are read from. */
  readonly backend: Backend;
  /** The key layout, for the execution's state and progress channels. */
  readonly keys: DocketKeys;
  /** Milliseconds; 0 means nothing is kept (fire-and-forget). */
  readonly executionTtl: number;
}

/** The fields an execution starts with. */
export interface ExecutionInit {
  /** The task key. */
  key: string;
  /** The registered name the task was sent under. */
  taskName: string;
  /** The task's arguments. */
  payload: Payload;
  /** When the task is due, epoch milliseconds. */
  when: number;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** The generation of the record the execution comes from; default 0. */
  generation?: number;
  /** The state it starts in; default `scheduled`. */
  state?: ExecutionState;
  /** What the call that made it did; default `loaded`. */
  disposition?: Disposition;
  /** The worker running the task, if one is. */
  worker?: string;
  /** When the current run started, epoch milliseconds. */
  startedAt?: number;
}

/** Options of {@linkcode Execution.getResult}: wait at most `timeout`, or until `deadline`. */
export interface GetResultOptions {
  /** How long to wait at most; not with `deadline`. Default: no limit. */
  timeout?: Duration;
  /** The instant to stop waiting at; not with `timeout`. Default: no limit. */
  deadline?: When;
}

/** Where each state sits in a run, to tell an older state event from a newer one. */
const STATE_RANK: Record<ExecutionState, number> = {
  scheduled: 0,
  queued: 1,
  running: 2,
  completed: 3,
  failed: 3,
  cancelled: 3,
};

const optionalDate = (ms: number | undefined | null) =>
  ms === undefined || ms === null ? undefined : new Date(ms);

/**
 * An execution of a task. `add` returns one; `getExecution` and `snapshot` read them back.
 * `R` is the task's result type: `docket.add(task)` gives an `Execution` of the awaited return
 * type of the task's run function; one read back by key (or added by name) is `Execution<unknown>`.
 *
 * @example
 * ```ts ignore
 * const execution = await docket.add(processOrder)({ customerId: "1001", items: ["a"] });
 * const { processed } = await execution.getResult({ timeout: { seconds: 30 } }); // a number
 * ```
 */
export class Execution<R = unknown> {
  /** The task key. */
  readonly key: string;
  /** The registered name the task was sent under. */
  readonly taskName: string;
  /** The payload. */
  payload: Payload;
  /** When the task is (or was) due. */
  when: Date;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** The generation of the record this execution last saw. */
  generation: number;
  /** The last known state (call `sync()` to refresh). */
  state: ExecutionState;
  /** What the call that made this execution did. */
  disposition: Disposition;
  /** The worker running (or that ran) the task. */
  worker: string | undefined;
  /** When the current run started. */
  startedAt: Date | undefined;
  /** When the task completed, failed or was cancelled. */
  completedAt: Date | undefined;
  /** `"Name: message"` of the failure. */
  error: string | undefined;
  /** The last known progress. */
  progress: ProgressInfo = {
    current: undefined,
    total: undefined,
    message: undefined,
    updatedAt: undefined,
  };
  #host: ExecutionHost;

  /** Creates an execution; users get them from the docket rather than constructing them. */
  constructor(host: ExecutionHost, init: ExecutionInit) {
    this.#host = host;
    this.key = init.key;
    this.taskName = init.taskName;
    this.payload = init.payload;
    this.when = new Date(init.when);
    this.attempt = init.attempt;
    this.generation = init.generation ?? 0;
    this.state = init.state ?? ExecutionState.SCHEDULED;
    this.disposition = init.disposition ?? "loaded";
    this.worker = init.worker;
    this.startedAt = optionalDate(init.startedAt);
    this.completedAt = undefined;
    this.error = undefined;
  }

  /** Refreshes state and progress from the store. */
  async sync(): Promise<void> {
    const [run, progress] = await Promise.all([
      this.#host.backend.readRun(this.key),
      this.#host.backend.readProgress(this.key),
    ]);
    this.#applyRun(run);
    this.progress = {
      current: progress?.current,
      total: progress?.total,
      message: progress?.message,
      updatedAt: optionalDate(progress?.updatedAt),
    };
  }

  #applyRun(run: RunRecord | undefined): void {
    if (!run) return;
    this.state = run.state;
    if (run.when !== undefined) this.when = new Date(run.when);
    if (run.attempt !== undefined) this.attempt = run.attempt;
    if (run.generation !== undefined) this.generation = run.generation;
    this.worker = run.worker;
    this.startedAt = optionalDate(run.startedAt);
    this.completedAt = optionalDate(run.completedAt);
    this.error = run.error;
  }

  /**
   * Yields the current state and progress, then every state and progress event as it happens,
   * until the caller stops iterating. Events published while the connection to the store was
   * down are lost; once the subscription is back, the state and progress are read again and
   * yielded if they changed meanwhile.
   *
   * @example
   * ```ts ignore
   * for await (const event of execution.subscribe()) {
   *   if (event.type === "state" && event.state === "completed") break;
   * }
   * ```
   */
  async *subscribe(): AsyncGenerator<ExecutionEvent, void, undefined> {
    const keys = this.#host.keys;
    const queue: ExecutionEvent[] = [];
    let wake: (() => void) | undefined;
    let restored = false;
    const push = (event: ExecutionEvent | undefined) => {
      if (!event) return;
      queue.push(event);
      wake?.();
    };
    // Events published while the subscription was down are lost: read the record again then.
    const onRestored = () => {
      restored = true;
      wake?.();
    };
    const backend = this.#host.backend;
    const unsubscribers = await Promise.all([
      backend.subscribe(keys.stateChannel(this.key), (m) => push(parseEvent(m)), onRestored),
      backend.subscribe(keys.progressChannel(this.key), (m) => push(parseEvent(m)), onRestored),
    ]);
    try {
      await this.#syncDroppingCovered(queue);
      yield this.#stateEvent();
      yield this.#progressEvent();
      for (;;) {
        while (queue.length === 0 && !restored) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        wake = undefined;
        if (restored) {
          restored = false;
          yield* this.#resynced(queue);
          continue;
        }
        const event = queue.shift()!;
        this.#applyEvent(event);
        yield event;
      }
    } finally {
      await Promise.all(unsubscribers.map((unsubscribe) => unsubscribe()));
    }
  }

  /**
   * Reads the current state and progress. Events that arrived while reading may be older than
   * it: those the snapshot already covers are dropped, so nobody sees the task go back to an
   * earlier state.
   */
  async #syncDroppingCovered(queue: ExecutionEvent[]): Promise<void> {
    await this.sync();
    const early = queue.splice(0).filter((event) => !this.#covers(event));
    queue.unshift(...early);
  }

  /** After a restored subscription: the state and progress read afresh, each if it changed. */
  async *#resynced(queue: ExecutionEvent[]): AsyncGenerator<ExecutionEvent, void, undefined> {
    const state = this.#stateEvent();
    const progress = this.#progressEvent();
    try {
      await this.#syncDroppingCovered(queue);
    } catch {
      return; // the store is not answering yet; the events that come are still delivered
    }
    const same = (a: ExecutionEvent, b: ExecutionEvent) => JSON.stringify(a) === JSON.stringify(b);
    const freshState = this.#stateEvent();
    if (!same(state, freshState)) yield freshState;
    const freshProgress = this.#progressEvent();
    if (!same(progress, freshProgress)) yield freshProgress;
  }

  /** True when the last synced state and progress already reflect `event` (or something later). */
  #covers(event: ExecutionEvent): boolean {
    if (TERMINAL_STATES.has(this.state)) return true;
    if (event.type === "state") return STATE_RANK[event.state] <= STATE_RANK[this.state];
    const synced = this.progress.updatedAt?.getTime();
    const at = event.updatedAt?.getTime();
    if (synced === undefined || at === undefined) return false;
    if (at !== synced) return at < synced;
    return event.current === this.progress.current && event.total === this.progress.total &&
      event.message === this.progress.message;
  }

  #applyEvent(event: ExecutionEvent): void {
    if (event.type === "progress") {
      this.progress = {
        current: event.current,
        total: event.total,
        message: event.message,
        updatedAt: event.updatedAt,
      };
      return;
    }
    this.state = event.state;
    if (event.when !== undefined) this.when = event.when;
    if (STATE_RANK[event.state] < STATE_RANK.running) {
      // Written again (a retry, a replacement): the record starts afresh, as sync() would read.
      this.worker = undefined;
      this.startedAt = undefined;
      this.completedAt = undefined;
      this.error = undefined;
    }
    if (event.worker !== undefined) this.worker = event.worker;
    if (event.startedAt !== undefined) this.startedAt = event.startedAt;
    if (event.completedAt !== undefined) this.completedAt = event.completedAt;
    if (event.error !== undefined) this.error = event.error;
    if (TERMINAL_STATES.has(event.state)) {
      this.progress = {
        current: undefined,
        total: undefined,
        message: undefined,
        updatedAt: undefined,
      };
    }
  }

  #stateEvent(): StateEvent {
    return {
      type: "state",
      key: this.key,
      state: this.state,
      when: this.when,
      worker: this.worker,
      startedAt: this.startedAt,
      completedAt: this.completedAt,
      error: this.error,
    };
  }

  #progressEvent(): ProgressEvent {
    return { type: "progress", key: this.key, ...this.progress };
  }

  /**
   * Waits for the task to finish and returns its result; rejects with the task's own error, with
   * `ExecutionCancelledError`, or with a `TimeoutError` when the wait runs out. Waits on pub/sub,
   * without polling. Refuses at once on a docket that keeps nothing (`executionTtl: 0`). The
   * result has the task's result type `R` (what its run function returns, awaited).
   *
   * @example
   * ```ts ignore
   * const execution = await docket.add(double)({ n: 21 }); // Execution<number>
   * const n: number = await execution.getResult({ timeout: { minutes: 1 } });
   * ```
   */
  async getResult(options: GetResultOptions = {}): Promise<R> {
    if (options.timeout !== undefined && options.deadline !== undefined) {
      throw new TypeError("getResult takes timeout or deadline, not both");
    }
    if (this.#host.executionTtl === 0) {
      throw new Error(
        `results are not kept on a docket with executionTtl: 0 (fire-and-forget), so the ` +
          `result of ${this.key} cannot be read; use a docket with a positive executionTtl`,
      );
    }
    const deadline = options.deadline !== undefined
      ? toEpochMillis(options.deadline, "deadline")
      : options.timeout !== undefined
      ? Date.now() + toMillis(options.timeout, "timeout")
      : Infinity;
    const run = await this.#waitForEnd(deadline);
    return this.#outcome(run);
  }

  async #waitForEnd(deadline: number): Promise<RunRecord> {
    const backend = this.#host.backend;
    // Each read waits only for the terminal events announced after it began: one announced
    // while it is under way ends the wait at once, one from before it is not waited on again.
    let settle: (() => void) | undefined;
    // An end announced while the subscription was down is lost: read again once it is back.
    const unsubscribe = await backend.subscribe(this.#host.keys.stateChannel(this.key), (m) => {
      const event = parseEvent(m);
      if (event?.type === "state" && TERMINAL_STATES.has(event.state)) settle?.();
    }, () => settle?.());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      const remaining = deadline - Date.now();
      if (Number.isFinite(remaining)) timer = setTimeout(() => resolve("timeout"), remaining);
    });
    try {
      for (;;) {
        const ended = new Promise<void>((resolve) => (settle = resolve));
        const run = await backend.readRun(this.key);
        if (!run) {
          throw new Error(
            `no record of execution ${this.key}: it never existed, or its record expired`,
          );
        }
        if (TERMINAL_STATES.has(run.state)) return run;
        // Not terminal: not yet, or the end announced was an earlier run's (the key was added
        // again). Wait for the next one.
        if (deadline <= Date.now() || await Promise.race([ended, timedOut]) === "timeout") {
          throw new TimeoutError(`timed out waiting for execution ${this.key} to finish`);
        }
      }
    } finally {
      clearTimeout(timer);
      await unsubscribe();
    }
  }

  #outcome(run: RunRecord): R {
    this.#applyRun(run);
    if (run.state === ExecutionState.CANCELLED) throw new ExecutionCancelledError(this.key);
    if (run.state === ExecutionState.FAILED) {
      if (run.failure) throw fromErrorRecord(decodeValue(run.failure) as ErrorRecord);
      throw new Error(run.error ?? "task failed");
    }
    // The worker stored what this task's run function returned, which is what R stands for.
    return (run.result ? decodeValue(run.result) : undefined) as R;
  }
}

/** Parses a published event; malformed messages are ignored. */
export function parseEvent(message: string): ExecutionEvent | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  const date = (value: unknown) => typeof value === "number" ? new Date(value) : undefined;
  const number = (value: unknown) => typeof value === "number" ? value : undefined;
  const string = (value: unknown) => typeof value === "string" ? value : undefined;
  if (raw.type === "state") {
    return {
      type: "state",
      key: String(raw.key),
      state: raw.state as ExecutionState,
      when: date(raw.when),
      worker: string(raw.worker),
      startedAt: date(raw.startedAt),
      completedAt: date(raw.completedAt),
      error: string(raw.error),
    };
  }
  if (raw.type === "progress") {
    return {
      type: "progress",
      key: String(raw.key),
      current: number(raw.current),
      total: number(raw.total),
      message: string(raw.message),
      updatedAt: date(raw.updatedAt),
    };
  }
  return undefined;
}
