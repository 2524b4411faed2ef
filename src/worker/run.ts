/**
 * Running one delivered task: decode its payload, check strikes and admission, build its context,
 * resolve its dependencies, call its body through its behaviours' hooks, and hand the outcome on
 * to be retried, perpetuated or recorded. The pieces live next door: the task's `ctx` in
 * `context.ts`, its log lines in `run_log.ts`, how it ends in `outcome.ts`.
 *
 * @module
 */

import type { Delivery } from "../storage/backend.ts";
import type { TaskDefinition } from "../definition.ts";
import type { RunHandle, RunOutcome, TaskHook } from "../hooks.ts";
import { decodeValue } from "../codec.ts";
import type { Payload } from "../types.ts";
import { formatDuration } from "../logging/logger.ts";
import { resolveDependencies } from "./dependencies.ts";
import { CancelledByRequest, type RunAbort, WorkerShutdown } from "./abort.ts";
import type { Admit, RunEnvironment } from "./environment.ts";
import { RunLog } from "./run_log.ts";
import { isDefaultFallback, unknownTaskWarning } from "./defaults.ts";
import { refusal } from "./refused.ts";
import { Run, RunContext } from "./context.ts";
import {
  finishAs,
  finishFailed,
  finishRun,
  retryFor,
  retryRequest,
  scheduleSuccessor,
  successorFor,
} from "./outcome.ts";

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
  const { message } = delivery;
  let startedAt = Date.now();

  const refused = refusal(delivery);
  if (refused) {
    env.logger.error({ key: message.key, task: message.task, err: refused }, refused.message);
    await finishFailed(env, delivery, refused);
    return;
  }

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
    await finishFailed(env, delivery, failure);
    return;
  }

  const log = new RunLog(env.logger, message, payload, definition);

  if (isDefaultFallback(definition)) {
    log.dropped(unknownTaskWarning(message.task));
    await finishAs(env, delivery, { state: "cancelled" });
    return;
  }

  if (env.isStruck(message.task, message.key, payload)) {
    log.struck();
    env.observer.runStruck(message.task);
    await finishAs(env, delivery, { state: "cancelled" });
    return;
  }

  if (admit) {
    let admitted: boolean;
    try {
      admitted = await admit(payload, log.logger);
    } catch (error) {
      log.notAdmitted(error);
      await finishFailed(env, delivery, error);
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

  log.started(startedAt);
  const observation = env.observer.runStarted({
    taskName: message.task,
    key: message.key,
    attempt: message.attempt,
    when: message.when,
    startedAt,
    messageId: delivery.id,
    redelivered: delivery.redelivered,
    traceContext: message.traceContext,
  });

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
    const call = hooks.length === 0 && !needsDependencies
      ? () => definition.run(payload, context)
      : composeBody(hooks, run, body);
    try {
      // The body runs within the observers' context: its own spans nest under the run's span.
      returned = observation ? observation.within(call) : call();
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

  // Cut off by the worker's shutdown deadline: nothing is recorded and the message stays
  // pending, so another worker runs the task again after redeliveryTimeout.
  if (outcome.kind === "failed" && outcome.error instanceof WorkerShutdown) {
    log.logger.warn({ duration }, outcome.error.message);
    observation?.ended({ outcome, duration, retried: false });
    return;
  }

  if (outcome.kind === "failed") {
    const failure = outcome.error;
    const retry = retryFor(hooks, run, failure);
    if (retry) {
      log.retrying(failure, duration);
      const retried = await env.docket.backend.reschedule(
        retryRequest(delivery, retry.when),
        Date.now(),
      );
      log.retried(retried, retry.when, duration);
      observation?.ended({ outcome, duration, retried });
      return;
    }
  }

  let successorWritten: "scheduled" | "superseded" | undefined;
  if (outcome.kind !== "cancelled") {
    const successor = successorFor(hooks, run, outcome);
    if (successor) {
      successorWritten = await scheduleSuccessor(
        env,
        { definition, message, successor, traceContext: observation?.traceContext },
        log.logger,
        formatDuration(duration),
      );
    }
  }

  observation?.ended({ outcome, duration, retried: false, successor: successorWritten });
  await finishRun(env, delivery, log, outcome, duration);
}
