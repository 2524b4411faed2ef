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
import { createProgress } from "./progress.ts";
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

/** What a run needs of its worker. */
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
  /**
   * Flow control, for tasks that have it: asks the store to admit the run (after the strike
   * check, before anything else). False: the run was parked, rescheduled or dropped and must not
   * go on; the store has recorded that. Throws when the task's controls cannot be applied to its
   * payload (a missing parameter): the task fails.
   */
  admit?(payload: Payload, logger: Logger): Promise<boolean>;
}

/** A run in progress, as the worker tracks it. */
export interface ActiveRun {
  readonly delivery: Delivery;
  readonly controller: AbortController;
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

/** Resolves when the signal aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<{ aborted: unknown }> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve({ aborted: signal.reason });
    else {signal.addEventListener("abort", () => resolve({ aborted: signal.reason }), {
        once: true,
      });}
  });
}

/** Runs one delivery to its end; never throws (every failure is recorded). */
export async function executeDelivery(
  env: RunEnvironment,
  delivery: Delivery,
  definition: TaskDefinition,
  controller: AbortController,
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

  const call = formatCall(message.task, payload, definition.logged, message.key);
  const logger = env.logger.child({
    task: message.task,
    key: message.key,
    attempt: message.attempt,
  });

  if (env.isStruck(message.task, message.key, payload)) {
    logger.warn(`🗙 ${call} is struck; cancelling`);
    await finishAs({ state: "cancelled" });
    return;
  }

  if (env.admit) {
    let admitted: boolean;
    try {
      admitted = await env.admit(payload, logger);
    } catch (error) {
      logger.error({ err: error }, `↩ ${call} cannot be admitted; marking it failed`);
      await finishAs({ state: "failed", error: describeError(error), ...encodeFailure(error) });
      return;
    }
    if (!admitted) return;
    startedAt = Date.now();
  }

  env.onStart(message.key);
  const execution = new Execution(docket, {
    key: message.key,
    taskName: message.task,
    payload,
    when: message.when,
    attempt: message.attempt,
    generation: message.generation,
    state: ExecutionState.RUNNING,
    worker: env.worker.name,
    startedAt,
  });
  const context: Record<string, unknown> = {
    docket,
    worker: env.worker,
    execution,
    key: message.key,
    attempt: message.attempt,
    logger,
    signal: controller.signal,
    progress: createProgress(docket.backend, message.key, message.generation, ttl > 0),
    deps: {},
    // Replaced by the task's own behaviours; on a task without one, using it throws clearly.
    ...unavailableControls(message.task),
  };
  const run: RunHandle = {
    taskName: message.task,
    key: message.key,
    payload,
    attempt: message.attempt,
    startedAt,
    context,
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
  };
  for (const hook of definition.hooks) hook.attach?.(run);

  const punctuality = startedAt - message.when;
  logger.info(
    { punctuality },
    `${message.attempt > 1 ? "↬" : "↪"} [${formatDuration(Math.max(0, punctuality))}] ${call}`,
  );

  let disposeDependencies = async () => {};
  const body = async () => {
    const deps = { ...env.workerDependencies, ...definition.deps };
    if (Object.keys(deps).length > 0) {
      const resolved = await resolveDependencies(
        deps,
        { key: message.key, taskName: message.task, payload },
        env.sharedDependencies,
      );
      disposeDependencies = resolved.dispose;
      context.deps = resolved.values;
      // Cut off (timeout, cancel) while the dependencies were being made: release them now.
      if (controller.signal.aborted) {
        await resolved.dispose();
        throw controller.signal.reason;
      }
    }
    return await definition.run(payload, context);
  };
  const wrapped = composeBody(definition.hooks, run, body);

  let outcome: RunOutcome;
  const raced = await Promise.race([
    wrapped().then((result) => ({ result }), (error) => ({ error })),
    aborted(controller.signal),
  ]);
  if ("aborted" in raced && raced.aborted instanceof CancelledByRequest) {
    outcome = { kind: "cancelled" };
  } else if ("aborted" in raced) {
    outcome = { kind: "failed", error: raced.aborted };
  } else if ("error" in raced) {
    outcome = raced.error instanceof CancelledByRequest
      ? { kind: "cancelled" }
      : { kind: "failed", error: raced.error };
  } else {
    outcome = { kind: "completed", result: raced.result };
  }

  try {
    await disposeDependencies();
  } catch (error) {
    if (outcome.kind === "completed") outcome = { kind: "failed", error };
  }

  const duration = Date.now() - startedAt;
  const took = formatDuration(duration);

  if (outcome.kind === "failed") {
    const retry = firstDecision(definition.hooks, (hook) => hook.onFailure?.(run, outcome.error));
    if (retry) {
      logger.warn({ err: outcome.error, duration }, `↩ [${took}] ${call}`);
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
      if (retried) {
        logger.info(
          { duration },
          `↫ [${took}] ${call} retrying at ${new Date(retry.when).toISOString()}`,
        );
      } else {
        logger.info({ duration }, `↬ [${took}] ${call} (superseded; not retried)`);
      }
      return;
    }
  }

  if (outcome.kind !== "cancelled") {
    const successor = firstDecision(definition.hooks, (hook) => hook.onSettled?.(run, outcome));
    if (successor) {
      await scheduleSuccessor(env, definition, message, successor, logger, took);
    }
  }

  if (outcome.kind === "completed") {
    let result: Uint8Array | undefined;
    if (ttl > 0 && outcome.result !== undefined) {
      try {
        result = encodeValue(outcome.result, "result");
      } catch (error) {
        logger.error({ err: error, duration }, `↩ [${took}] ${call}: result cannot be stored`);
        await finishAs({ state: "failed", error: describeError(error), ...encodeFailure(error) });
        return;
      }
    }
    logger.info({ duration, outcome: "completed" }, `↩ [${took}] ${call}`);
    await finishAs({ state: "completed", result });
  } else if (outcome.kind === "failed") {
    logger.error({ err: outcome.error, duration, outcome: "failed" }, `↩ [${took}] ${call}`);
    await finishAs({
      state: "failed",
      error: describeError(outcome.error),
      ...(ttl > 0 ? encodeFailure(outcome.error) : {}),
    });
  } else {
    logger.info({ duration, outcome: "cancelled" }, `✗ [${took}] ${call} (cancelled)`);
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
