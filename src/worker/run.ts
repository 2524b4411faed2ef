/**
 * Running one delivered task: build its context, resolve its dependencies, call its body through
 * its behaviours' hooks, and decide how the run ends (completed, failed, cancelled, retried,
 * perpetuated).
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Delivery, FinishRequest } from "../storage/backend.ts";
import type { TaskDefinition } from "../definition.ts";
import type { RunHandle, RunOutcome, Successor, TaskHook } from "../hooks.ts";
import { decodeValue, describeError, encodeValue, toErrorRecord } from "../codec.ts";
import { Execution } from "../execution.ts";
import { ExecutionState, type Payload } from "../types.ts";
import { formatCall } from "../logging/call_repr.ts";
import { formatDuration, type Logger } from "../logging/logger.ts";
import { createProgress, type Progress } from "./progress.ts";
import { resolveDependencies, type SharedDependencies } from "./dependencies.ts";
import type { Dependency } from "../dependencies.ts";
import { unavailableControls } from "../task.ts";

/** Marks the abort reason of a run cancelled with `docket.cancel`. */
export class CancelledByRequest extends Error {
  /** Creates the reason. */
  constructor(key: string) {
    super(`task ${key} was cancelled`);
    this.name = "CancelledByRequest";
  }
}

/** What a run needs of its worker; one environment serves every run of a worker. */
export interface RunEnvironment {
  readonly docket: Docket;
  readonly worker: { readonly name: string };
  readonly logger: Logger;
  readonly sharedDependencies: SharedDependencies;
  readonly workerDependencies: Readonly<Record<string, Dependency<unknown>>>;
  /** Records the end of a run (batched with others). */
  finish(request: FinishRequest): Promise<void>;
  /** True when the task must not run (strikes, `runAtMost`). */
  isStruck(taskName: string, key: string, payload: Payload): boolean;
  /** Called when a run passes its strike check and starts. */
  onStart(key: string): void;
}

/**
 * Flow control, for tasks that have it: asks the store to admit the run (after the strike check,
 * before anything else). False: the run was parked, rescheduled or dropped and must not go on;
 * the store has recorded that. Throws when the task's controls cannot be applied to its payload
 * (a missing parameter): the task fails.
 */
export type Admit = (payload: Payload, logger: Logger) => Promise<boolean>;

/**
 * A run's abort switch, standing in for an `AbortController` that is only made when something
 * asks for the run's signal (most tasks never do, and a controller per run is not free).
 */
export class RunAbort {
  #controller?: AbortController;
  #aborted = false;
  #reason: unknown;
  /** Called once, when the run is aborted. */
  onAbort?: (reason: unknown) => void;

  /** The run's signal (made on first use, already aborted if the run is). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether the run has been aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the run was aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts the run; without a reason, the reason is the `AbortError` a controller would give. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    if (reason === undefined) {
      const signal = this.signal;
      this.#controller!.abort();
      reason = signal.reason;
    }
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
  }
}

/** A run in progress, as the worker tracks it. */
export interface ActiveRun {
  readonly delivery: Delivery;
  readonly abort: RunAbort;
  readonly done: Promise<void>;
}

function composeBody(
  hooks: readonly TaskHook[],
  run: RunHandle,
  body: () => Promise<unknown>,
): () => Promise<unknown> {
  let call = body;
  for (let i = hooks.length - 1; i >= 0; i--) {
    const hook = hooks[i];
    if (!hook.around) continue;
    const next = call;
    call = () => hook.around!(run, next);
  }
  return call;
}

/** True when `record` has an own enumerable key (without listing them). */
function hasEntries(record: Readonly<Record<string, unknown>> | undefined): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

/** How the run ends when it is aborted (cancelled by request, or cut off). */
function abortedOutcome(reason: unknown): RunOutcome {
  return reason instanceof CancelledByRequest
    ? { kind: "cancelled" }
    : { kind: "failed", error: reason };
}

/**
 * A run's logging: the child logger (bound to task, key and attempt) and the rendering of the
 * call are made only when a line is actually written.
 */
class RunLog {
  #parent: Logger;
  #message: Delivery["message"];
  #payload: Payload;
  #definition: TaskDefinition;
  #child?: Logger;
  #call?: string;

  constructor(
    parent: Logger,
    message: Delivery["message"],
    payload: Payload,
    definition: TaskDefinition,
  ) {
    this.#parent = parent;
    this.#message = message;
    this.#payload = payload;
    this.#definition = definition;
  }

  get logger(): Logger {
    const message = this.#message;
    return this.#child ??= this.#parent.child({
      task: message.task,
      key: message.key,
      attempt: message.attempt,
    });
  }

  /** `process_order(customerId='1001', …){key}`. */
  get call(): string {
    const message = this.#message;
    return this.#call ??= formatCall(
      message.task,
      this.#payload,
      this.#definition.logged,
      message.key,
    );
  }

  /** Whether a line at `level` would be written (a logger without the method is assumed to). */
  enabled(level: "info" | "warn" | "error"): boolean {
    const logger = this.#child ?? this.#parent;
    return typeof logger.isLevelEnabled === "function" ? logger.isLevelEnabled(level) : true;
  }
}

/**
 * The `ctx` a task receives. `execution`, `logger`, `signal` and `progress` are made on first
 * read (most tasks never touch them, and each costs something to make); like every field, they
 * can be replaced (a hook may wrap the logger, say).
 */
class RunContext {
  readonly docket: Docket;
  readonly worker: RunEnvironment["worker"];
  readonly key: string;
  readonly attempt: number;
  deps: unknown = {};
  // Replaced by the task's own behaviours; on a task without one, using it throws clearly.
  perpetual: unknown;
  retry: unknown;
  timeout: unknown;
  #message: Delivery["message"];
  #payload: Payload;
  #startedAt: number;
  #abort: RunAbort;
  #log: RunLog;
  #execution?: Execution;
  #logger?: Logger;
  #signal?: AbortSignal;
  #progress?: Progress;

  constructor(
    env: RunEnvironment,
    message: Delivery["message"],
    payload: Payload,
    startedAt: number,
    abort: RunAbort,
    log: RunLog,
  ) {
    this.docket = env.docket;
    this.worker = env.worker;
    this.key = message.key;
    this.attempt = message.attempt;
    const controls = unavailableControls(message.task);
    this.perpetual = controls.perpetual;
    this.retry = controls.retry;
    this.timeout = controls.timeout;
    this.#message = message;
    this.#payload = payload;
    this.#startedAt = startedAt;
    this.#abort = abort;
    this.#log = log;
  }

  get execution(): Execution {
    const message = this.#message;
    return this.#execution ??= new Execution(this.docket, {
      key: message.key,
      taskName: message.task,
      payload: this.#payload,
      when: message.when,
      attempt: message.attempt,
      generation: message.generation,
      state: ExecutionState.RUNNING,
      worker: this.worker.name,
      startedAt: this.#startedAt,
    });
  }
  set execution(value: Execution) {
    this.#execution = value;
  }

  get logger(): Logger {
    return this.#logger ?? this.#log.logger;
  }
  set logger(value: Logger) {
    this.#logger = value;
  }

  get signal(): AbortSignal {
    return this.#signal ?? this.#abort.signal;
  }
  set signal(value: AbortSignal) {
    this.#signal = value;
  }

  get progress(): Progress {
    const message = this.#message;
    return this.#progress ??= createProgress(
      this.docket.backend,
      message.key,
      message.generation,
      this.docket.executionTtl > 0,
    );
  }
  set progress(value: Progress) {
    this.#progress = value;
  }
}

/** What hooks see of a run. */
class Run implements RunHandle {
  readonly taskName: string;
  readonly key: string;
  readonly payload: Payload;
  readonly attempt: number;
  readonly startedAt: number;
  readonly context: Record<string, unknown>;
  #abort: RunAbort;

  constructor(
    message: Delivery["message"],
    payload: Payload,
    startedAt: number,
    context: RunContext,
    abort: RunAbort,
  ) {
    this.taskName = message.task;
    this.key = message.key;
    this.payload = payload;
    this.attempt = message.attempt;
    this.startedAt = startedAt;
    this.context = context as unknown as Record<string, unknown>;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  abort(reason: unknown): void {
    this.#abort.abort(reason);
  }
}

/**
 * Runs one delivery to its end; never throws (every failure is recorded).
 *
 * The per-run pieces a task may never touch are made on first use (see `RunLog` and
 * `RunContext`), and a task without behaviours or dependencies is called directly.
 */
export async function executeDelivery(
  env: RunEnvironment,
  delivery: Delivery,
  definition: TaskDefinition,
  abort: RunAbort,
  admit?: Admit,
): Promise<void> {
  const { docket } = env;
  const { message } = delivery;
  let startedAt = Date.now();
  const ttl = docket.executionTtl;
  const finishAs = (request: Omit<FinishRequest, "id" | "key" | "generation">) =>
    env.finish({ id: delivery.id, key: message.key, generation: message.generation, ...request });

  let payload: Payload;
  try {
    payload = decodeValue(message.data) as Payload;
    if (payload === null || typeof payload !== "object") throw new TypeError("not an object");
  } catch (error) {
    env.logger.error(
      { key: message.key, task: message.task, err: error },
      `task ${message.key} has a payload that cannot be decoded; marking it failed`,
    );
    const failure = new TypeError(`payload of ${message.key} could not be decoded: ${error}`);
    await finishAs({ state: "failed", error: describeError(failure), ...encodeFailure(failure) });
    return;
  }

  const log = new RunLog(env.logger, message, payload, definition);

  if (env.isStruck(message.task, message.key, payload)) {
    if (log.enabled("warn")) log.logger.warn(`🗙 ${log.call} is struck; cancelling`);
    await finishAs({ state: "cancelled" });
    return;
  }

  if (admit) {
    let admitted: boolean;
    try {
      admitted = await admit(payload, log.logger);
    } catch (error) {
      log.logger.error({ err: error }, `↩ ${log.call} cannot be admitted; marking it failed`);
      await finishAs({ state: "failed", error: describeError(error), ...encodeFailure(error) });
      return;
    }
    if (!admitted) return;
    startedAt = Date.now();
  }

  env.onStart(message.key);
  const context = new RunContext(env, message, payload, startedAt, abort, log);
  const hooks = definition.hooks;
  const run: RunHandle = new Run(message, payload, startedAt, context, abort);
  for (const hook of hooks) hook.attach?.(run);

  if (log.enabled("info")) {
    const punctuality = startedAt - message.when;
    log.logger.info(
      { punctuality },
      `${message.attempt > 1 ? "↬" : "↪"} [${
        formatDuration(Math.max(0, punctuality))
      }] ${log.call}`,
    );
  }

  let disposeDependencies: (() => Promise<void>) | undefined;
  const needsDependencies = hasEntries(env.workerDependencies) || hasEntries(definition.deps);
  const body = async () => {
    if (needsDependencies) {
      const resolved = await resolveDependencies(
        { ...env.workerDependencies, ...definition.deps },
        { key: message.key, taskName: message.task, payload },
        env.sharedDependencies,
      );
      disposeDependencies = resolved.dispose;
      context.deps = resolved.values;
      // Cut off (timeout, cancel) while the dependencies were being made: release them now.
      if (abort.aborted) {
        await resolved.dispose();
        throw abort.reason;
      }
    }
    return await definition.run(payload, context);
  };

  // The body's end or the run's abort, whichever comes first (an abort that came before the body
  // returned wins, as it would in a race).
  let outcome = await new Promise<RunOutcome>((resolve) => {
    let settled = false;
    const settle = (end: RunOutcome) => {
      if (settled) return;
      settled = true;
      abort.onAbort = undefined;
      resolve(end);
    };
    const completed = (result: unknown) => settle({ kind: "completed", result });
    const failed = (error: unknown) =>
      settle(
        error instanceof CancelledByRequest ? { kind: "cancelled" } : { kind: "failed", error },
      );
    let returned: unknown;
    let threw = false;
    try {
      returned = hooks.length === 0 && !needsDependencies
        ? definition.run(payload, context)
        : composeBody(hooks, run, body)();
    } catch (error) {
      threw = true;
      returned = error;
    }
    if (abort.aborted) return settle(abortedOutcome(abort.reason));
    abort.onAbort = (reason) => settle(abortedOutcome(reason));
    if (threw) failed(returned);
    else if (isThenable(returned)) Promise.resolve(returned).then(completed, failed);
    else completed(returned);
  });

  if (disposeDependencies) {
    try {
      await disposeDependencies();
    } catch (error) {
      if (outcome.kind === "completed") outcome = { kind: "failed", error };
    }
  }

  const duration = Date.now() - startedAt;
  const took = () => formatDuration(duration);

  if (outcome.kind === "failed") {
    const failure = outcome.error;
    const retry = firstDecision(hooks, (hook) => hook.onFailure?.(run, failure));
    if (retry) {
      if (log.enabled("warn")) {
        log.logger.warn({ err: failure, duration }, `↩ [${took()}] ${log.call}`);
      }
      const retried = await docket.backend.reschedule({
        id: delivery.id,
        key: message.key,
        task: message.task,
        data: message.data,
        when: retry.when,
        attempt: message.attempt + 1,
        tracked: message.generation > 0,
        expectGeneration: message.generation > 0 ? message.generation : undefined,
      }, Date.now());
      if (!log.enabled("info")) return;
      if (retried) {
        log.logger.info(
          { duration },
          `↫ [${took()}] ${log.call} retrying at ${new Date(retry.when).toISOString()}`,
        );
      } else {
        log.logger.info({ duration }, `↬ [${took()}] ${log.call} (superseded; not retried)`);
      }
      return;
    }
  }

  if (outcome.kind !== "cancelled") {
    const ended = outcome;
    const successor = firstDecision(hooks, (hook) => hook.onSettled?.(run, ended));
    if (successor) {
      await scheduleSuccessor(env, definition, message, successor, log.logger, took());
    }
  }

  if (outcome.kind === "completed") {
    let result: Uint8Array | undefined;
    if (ttl > 0 && outcome.result !== undefined) {
      try {
        result = encodeValue(outcome.result, "result");
      } catch (error) {
        log.logger.error(
          { err: error, duration },
          `↩ [${took()}] ${log.call}: result cannot be stored`,
        );
        await finishAs({ state: "failed", error: describeError(error), ...encodeFailure(error) });
        return;
      }
    }
    if (log.enabled("info")) {
      log.logger.info({ duration, outcome: "completed" }, `↩ [${took()}] ${log.call}`);
    }
    await env.finish({
      id: delivery.id,
      key: message.key,
      generation: message.generation,
      state: "completed",
      result,
    });
  } else if (outcome.kind === "failed") {
    if (log.enabled("error")) {
      log.logger.error(
        { err: outcome.error, duration, outcome: "failed" },
        `↩ [${took()}] ${log.call}`,
      );
    }
    await finishAs({
      state: "failed",
      error: describeError(outcome.error),
      ...(ttl > 0 ? encodeFailure(outcome.error) : {}),
    });
  } else {
    if (log.enabled("info")) {
      log.logger.info({ duration, outcome: "cancelled" }, `✗ [${took()}] ${log.call} (cancelled)`);
    }
    await finishAs({ state: "cancelled" });
  }
}

function firstDecision<T>(
  hooks: readonly TaskHook[],
  decide: (hook: TaskHook) => T | undefined,
): T | undefined {
  for (const hook of hooks) {
    const decision = decide(hook);
    if (decision !== undefined) return decision;
  }
  return undefined;
}

/**
 * Writes a perpetual task's next run, unless this run is no longer the task's current one: its
 * record was cancelled (`docket.cancel`) or moved to a newer generation (replaced, or already
 * perpetuated by another copy of this run), so a stale copy never adds or moves a successor.
 */
async function scheduleSuccessor(
  env: RunEnvironment,
  definition: TaskDefinition,
  message: Delivery["message"],
  successor: Successor,
  logger: Logger,
  took: string,
): Promise<void> {
  const { task: taskName, key } = message;
  const next = formatCall(taskName, successor.payload, definition.logged, key);
  if (env.isStruck(taskName, key, successor.payload)) {
    logger.info(`${next} is struck; not rescheduled`);
    return;
  }
  // Written only while this run still owns the chain (same generation, still live), in the
  // same atomic step: a stale copy of the run, or one cancelled or replaced meanwhile, writes
  // nothing.
  const [outcome] = await env.docket.backend.schedule([{
    mode: "replace",
    key,
    task: taskName,
    data: encodeValue(successor.payload, "payload"),
    when: successor.when,
    attempt: 1,
    tracked: true,
    expectGeneration: message.generation > 0 ? message.generation : undefined,
  }], Date.now());
  if (outcome === "stale") {
    logger.info(`↬ [${took}] ${next} (superseded; not rescheduled)`);
    return;
  }
  logger.info(
    { nextRun: new Date(successor.when).toISOString() },
    `↫ [${took}] ${next} next at ${new Date(successor.when).toISOString()}`,
  );
}

function encodeFailure(error: unknown): { failure?: Uint8Array } {
  try {
    return { failure: encodeValue(toErrorRecord(error), "error") };
  } catch {
    return {};
  }
}
