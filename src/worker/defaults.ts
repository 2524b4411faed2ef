/**
 * The defaults of a worker's options that take more than a literal: its name and the task it
 * runs for names it does not know.
 *
 * @module
 */

import { defineTask, type TaskDefinition } from "../definition.ts";
import type { Logger } from "../logging/logger.ts";
import type { Payload } from "../types.ts";
import { hostName, processId } from "../runtime.ts";

/** `<hostname>#<pid>`: the name of a worker not given one. */
export function defaultWorkerName(): string {
  // Without a host name the pid still tells workers on one machine apart.
  return `${hostName() ?? "worker"}#${processId()}`;
}

/**
 * The task run for a name that is not registered: warns and drops it. The worker recognises it
 * ({@linkcode isDefaultFallback}) and records such a run as dropped (it ends `cancelled`), never
 * as completed.
 */
export const defaultFallback: TaskDefinition = defineTask({
  name: "__unknown__",
  hooks: [],
  run(_payload: Payload, ctx: { execution: { taskName: string }; logger: Logger }) {
    ctx.logger.warn(unknownTaskWarning(ctx.execution.taskName));
  },
});

/** Whether `definition` is the default fallback (so the run drops the task). */
export function isDefaultFallback(definition: TaskDefinition): boolean {
  return definition === defaultFallback;
}

/** The warning logged for a task whose name no registered task has. */
export function unknownTaskWarning(taskName: string): string {
  return `Unknown task "${taskName}" received - dropping. Register it with ` +
    `docket.register(task) or the worker's --tasks module.`;
}
