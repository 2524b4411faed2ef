/**
 * docket: distributed background tasks on Redis streams, with future work as cheap to schedule
 * as immediate work.
 *
 * @example
 * ```ts ignore
 * import { Docket, task, Worker } from "@docket/core";
 *
 * const greet = task({
 *   name: "greet",
 *   run({ name }: { name: string }) {
 *     return `hello ${name}`;
 *   },
 * });
 *
 * await using docket = await Docket.connect({ url: "redis://localhost:6379/0" });
 * docket.register(greet);
 * const execution = await docket.add(greet)({ name: "world" });
 * await using worker = new Worker(docket);
 * await worker.runUntilFinished();
 * console.log(await execution.getResult()); // "hello world"
 * ```
 *
 * @module
 */

export { Docket } from "./src/docket.ts";
export type { AddOptions, DocketOptions, DocketSnapshot, WorkerInfo } from "./src/docket.ts";
export { Execution } from "./src/execution.ts";
export type { GetResultOptions } from "./src/execution.ts";
export { Worker } from "./src/worker/worker.ts";
export type { WorkerOptions } from "./src/worker/worker.ts";
export { task } from "./src/task.ts";
export type { RunningWorker, Task, TaskContext, TaskOptions } from "./src/task.ts";
export type { LoggedSpec, TaskDefinition, TaskLike } from "./src/definition.ts";
export type { RetryDecision, RunHandle, RunOutcome, Successor, TaskHook } from "./src/hooks.ts";
export { depends, shared } from "./src/dependencies.ts";
export type { Dependency, DependencyFactory, DependencyScope } from "./src/dependencies.ts";
export { ExponentialRetry, ForcedRetry, Retry } from "./src/behaviours/retry.ts";
export type { RetryBehaviour, RetryControl } from "./src/behaviours/retry.ts";
export { Timeout } from "./src/behaviours/timeout.ts";
export type { TimeoutBehaviour, TimeoutControl } from "./src/behaviours/timeout.ts";
export { Perpetual } from "./src/behaviours/perpetual.ts";
export type { PerpetualBehaviour, PerpetualControl } from "./src/behaviours/perpetual.ts";
export type { Progress } from "./src/worker/progress.ts";
export { ExecutionState } from "./src/types.ts";
export type {
  Disposition,
  ExecutionEvent,
  Payload,
  ProgressEvent,
  ProgressInfo,
  StateEvent,
} from "./src/types.ts";
export { toEpochMillis, toMillis } from "./src/duration.ts";
export type { Duration, When } from "./src/duration.ts";
export {
  ConnectionError,
  ExecutionCancelledError,
  TimeoutError,
  UnknownTaskError,
} from "./src/errors.ts";
export { decodeValue, encodeValue, SerializationError } from "./src/codec.ts";
export { DocketKeys } from "./src/keys.ts";
export { uuid7 } from "./src/uuid7.ts";
export { createLogger } from "./src/logging/logger.ts";
export type { LogFormat, Logger, LoggerOptions } from "./src/logging/logger.ts";
export { STRIKE_OPERATORS } from "./src/strikes/strike_set.ts";
export type { StrikeInstruction, StrikeOperator } from "./src/strikes/strike_set.ts";
export { fail, sleep, trace } from "./src/builtin_tasks.ts";
