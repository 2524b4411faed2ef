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

/** The task run for a name that is not registered: warns and drops it. */
export const defaultFallback: TaskDefinition = defineTask({
  name: "__unknown__",
  hooks: [],
  run(_payload: Payload, ctx: { execution: { taskName: string }; logger: Logger }) {
    ctx.logger.warn(
      `Unknown task "${ctx.execution.taskName}" received - dropping. Register it with ` +
        `docket.register(task) or the worker's --tasks module.`,
    );
  },
});
