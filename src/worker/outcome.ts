/**
 * How a run ends once its body has settled: whether its hooks retry it or give it a successor
 * (perpetual tasks), and the writing of its end (completed, failed, cancelled) to the store.
 *
 * The writes are returned, not awaited here, so the run awaits each exactly once.
 *
 * @module
 */

import type { Delivery, FinishRequest, RescheduleRequest } from "../storage/backend.ts";
import type { TaskDefinition } from "../definition.ts";
import type { RetryDecision, RunHandle, RunOutcome, Successor, TaskHook } from "../hooks.ts";
import { describeError, encodeValue, toErrorRecord } from "../codec.ts";
import { formatCall } from "../logging/call_repr.ts";
import type { Logger } from "../logging/logger.ts";
import type { RunEnvironment } from "./environment.ts";
import type { RunLog } from "./run_log.ts";
import { deadLetterFor } from "../dead_letter/entry.ts";

/** The retry the first hook that decides asks for after a failure, if any. */
export function retryFor(
  hooks: readonly TaskHook[],
  run: RunHandle,
  error: unknown,
): RetryDecision | undefined {
  for (const hook of hooks) {
    const decision = hook.onFailure?.(run, error);
    if (decision !== undefined) return decision;
  }
  return undefined;
}

/** The next run the first hook that decides asks for after a run that ended, if any. */
export function successorFor(
  hooks: readonly TaskHook[],
  run: RunHandle,
  outcome: RunOutcome,
): Successor | undefined {
  for (const hook of hooks) {
    const decision = hook.onSettled?.(run, outcome);
    if (decision !== undefined) return decision;
  }
  return undefined;
}

/** The next attempt of a failed run, due `when` (acknowledging this one). */
export function retryRequest(delivery: Delivery, when: number): RescheduleRequest {
  const { message } = delivery;
  return {
    id: delivery.id,
    key: message.key,
    task: message.task,
    data: message.data,
    when,
    attempt: message.attempt + 1,
    tracked: message.generation > 0,
    expectGeneration: message.generation > 0 ? message.generation : undefined,
    // Every attempt links to the span that first sent the task.
    traceContext: message.traceContext,
  };
}

/** The successor of a run, and what it is written from. */
export interface SuccessorOf {
  readonly definition: TaskDefinition;
  /** The run's message. */
  readonly message: Delivery["message"];
  readonly successor: Successor;
  /** The trace context the successor carries: the run's own span, which sends it. */
  readonly traceContext?: string;
}

/**
 * Writes a perpetual task's next run, unless this run is no longer the task's current one: its
 * record was cancelled (`docket.cancel`) or moved to a newer generation (replaced, or already
 * perpetuated by another copy of this run), so a stale copy never adds or moves a successor.
 */
export async function scheduleSuccessor(
  env: RunEnvironment,
  next: SuccessorOf,
  logger: Logger,
  took: string,
): Promise<"scheduled" | "superseded" | undefined> {
  const { definition, message, successor } = next;
  const { task: taskName, key } = message;
  const call = formatCall(taskName, successor.payload, definition.logged, key);
  if (env.isStruck(taskName, key, successor.payload)) {
    logger.info(`${call} is struck; not rescheduled`);
    return undefined;
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
    traceContext: next.traceContext,
  }], Date.now());
  if (outcome === "stale") {
    logger.info(`↬ [${took}] ${call} (superseded; not rescheduled)`);
    return "superseded";
  }
  logger.info(
    { nextRun: new Date(successor.when).toISOString() },
    `↫ [${took}] ${call} next at ${new Date(successor.when).toISOString()}`,
  );
  return "scheduled";
}

/** Records the end of `delivery`'s run as `request` says (batched with others). */
export function finishAs(
  env: RunEnvironment,
  delivery: Delivery,
  request: Omit<FinishRequest, "id" | "key" | "generation">,
): Promise<void> {
  const { message } = delivery;
  return env.finish({
    id: delivery.id,
    key: message.key,
    generation: message.generation,
    ...request,
  });
}

/**
 * Records that a run failed for good: the error's description, its encoded record while runs
 * are kept, and its dead-letter entry while failures are kept. Every end that leaves a task
 * FAILED (no retry left, an undecodable payload, an admission error…) goes through here, so
 * every such task lands in the dead-letter set, in the same write as its end.
 */
export function finishFailed(
  env: RunEnvironment,
  delivery: Delivery,
  error: unknown,
): Promise<void> {
  const { executionTtl, failedTtl } = env.docket;
  return finishAs(env, delivery, {
    state: "failed",
    error: describeError(error),
    ...(executionTtl > 0 ? encodeFailure(error) : {}),
    deadLetter: deadLetterFor(failedTtl, delivery.message, env.worker.name, error),
  });
}

/** Logs and records the end of a run that is not retried, `duration` ms after it started. */
export function finishRun(
  env: RunEnvironment,
  delivery: Delivery,
  log: RunLog,
  outcome: RunOutcome,
  duration: number,
): Promise<void> {
  if (outcome.kind === "completed") {
    return finishCompleted(env, delivery, log, outcome.result, duration);
  }
  if (outcome.kind === "failed") {
    log.failed(outcome.error, duration);
    return finishFailed(env, delivery, outcome.error);
  }
  log.cancelled(duration);
  return finishAs(env, delivery, { state: "cancelled" });
}

/** Records a completed run with its result (kept only while runs are kept). */
function finishCompleted(
  env: RunEnvironment,
  delivery: Delivery,
  log: RunLog,
  value: unknown,
  duration: number,
): Promise<void> {
  let result: Uint8Array | undefined;
  if (env.docket.executionTtl > 0 && value !== undefined) {
    try {
      result = encodeValue(value, "result");
    } catch (error) {
      log.resultNotStored(error, duration);
      return finishFailed(env, delivery, error);
    }
  }
  log.completed(duration);
  const { message } = delivery;
  return env.finish({
    id: delivery.id,
    key: message.key,
    generation: message.generation,
    state: "completed",
    result,
  });
}

function encodeFailure(error: unknown): { failure?: Uint8Array } {
  try {
    return { failure: encodeValue(toErrorRecord(error), "error") };
  } catch {
    return {};
  }
}
