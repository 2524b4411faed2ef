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
export type { DocketOptions } from "./src/docket_options.ts";
export type { TlsOptions } from "./src/storage/redis/tls.ts";
export { ScheduleError } from "./src/docket_schedule.ts";
export type { AddOptions, ScheduleEntry } from "./src/docket_schedule.ts";
export type { DocketSnapshot, WorkerInfo } from "./src/docket_snapshot.ts";
export { Agenda } from "./src/agenda.ts";
export type { AgendaEntry, ScatterOptions } from "./src/agenda.ts";
export { Execution } from "./src/execution.ts";
export type { ExecutionHost, ExecutionInit, GetResultOptions } from "./src/execution.ts";
export { Worker } from "./src/worker/worker.ts";
export type { WorkerOptions } from "./src/worker/worker.ts";
export { task } from "./src/task.ts";
export type { RunningWorker, Task, TaskContext, TaskDeps, TaskOptions } from "./src/task.ts";
export type {
  LoggedSpec,
  TaskDefinition,
  TaskDefinitionOf,
  TaskLike,
  TaskList,
} from "./src/definition.ts";
export type {
  AddCall,
  AddManyCall,
  ExecutionsFor,
  PayloadArgs,
  PayloadOf,
  ResultOf,
  RunOf,
  ScheduleEntries,
  ScheduleEntryFor,
} from "./src/task_types.ts";
export type {
  AdmissionControl,
  ObservedRun,
  RetryDecision,
  RunEnd,
  RunHandle,
  RunObservation,
  RunOutcome,
  Successor,
  TaskHook,
  WorkerObserver,
} from "./src/hooks.ts";
export { depends, shared } from "./src/dependencies.ts";
export type {
  Dependency,
  DependencyFactory,
  DependencyScope,
  ResolvedDependencies,
} from "./src/dependencies.ts";
export { DependencyError } from "./src/worker/dependencies.ts";
export { ExponentialRetry, ForcedRetry, Retry } from "./src/behaviours/retry.ts";
export type {
  ExponentialRetryOptions,
  RetryBehaviour,
  RetryControl,
  RetryOptions,
} from "./src/behaviours/retry.ts";
export { Timeout } from "./src/behaviours/timeout.ts";
export type { TimeoutBehaviour, TimeoutControl } from "./src/behaviours/timeout.ts";
export { Perpetual } from "./src/behaviours/perpetual.ts";
export type {
  PerpetualBehaviour,
  PerpetualControl,
  PerpetualOptions,
} from "./src/behaviours/perpetual.ts";
export { Cron } from "./src/behaviours/cron.ts";
export type { CronBehaviour, CronOptions } from "./src/behaviours/cron.ts";
export { ConcurrencyLimit } from "./src/behaviours/concurrency.ts";
export type {
  ConcurrencyLimitBehaviour,
  ConcurrencyLimitOptions,
} from "./src/behaviours/concurrency.ts";
export { Debounce } from "./src/behaviours/debounce.ts";
export type { DebounceBehaviour, DebounceOptions } from "./src/behaviours/debounce.ts";
export { Cooldown } from "./src/behaviours/cooldown.ts";
export type { CooldownBehaviour, CooldownOptions } from "./src/behaviours/cooldown.ts";
export { RateLimit } from "./src/behaviours/rate_limit.ts";
export type { RateLimitBehaviour, RateLimitOptions } from "./src/behaviours/rate_limit.ts";
export { VERSION } from "./src/version.ts";
export { ExecutionState } from "./src/types.ts";
export type {
  Disposition,
  ExecutionEvent,
  Payload,
  Progress,
  ProgressEvent,
  ProgressInfo,
  StateEvent,
} from "./src/types.ts";
export { toEpochMillis, toMillis } from "./src/duration.ts";
export type { Duration, When } from "./src/duration.ts";
export {
  AbandonedTaskError,
  ConnectionError,
  ExecutionCancelledError,
  FailedTaskNotFoundError,
  PermissionError,
  TimeoutError,
  UnknownTaskError,
  WrongTypeKeyError,
} from "./src/errors.ts";
export { decodeValue, encodeValue, SerializationError } from "./src/codec.ts";
export { DocketKeys } from "./src/keys.ts";
export type {
  FailedPage,
  FailedQuery,
  FailedTask,
  PurgeFailedOptions,
} from "./src/dead_letter/failed.ts";
export type {
  AdmissionCheck,
  AdmitOutcome,
  AdmitRequest,
  Backend,
  BackendWarn,
  Consumer,
  DeadLetterWrite,
  Delivery,
  FailedPageRequest,
  FailedPosition,
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
  TaskMessage,
  Unsubscribe,
  WorkerRecord,
} from "./src/storage/backend.ts";
export type { RedisClient } from "./src/storage/redis/connection.ts";
export { uuid7 } from "./src/uuid7.ts";
export { createLogger } from "./src/logging/logger.ts";
export type { LogFormat, Logger, LoggerOptions } from "./src/logging/logger.ts";
export { STRIKE_OPERATORS } from "./src/strikes/strike_set.ts";
export type {
  StrikeCondition,
  StrikeInstruction,
  StrikeOperator,
  StrikeSet,
} from "./src/strikes/strike_set.ts";
export type { StrikeList, StrikeListener } from "./src/strikes/strike_list.ts";
export { fail, sleep, trace } from "./src/builtin_tasks.ts";
