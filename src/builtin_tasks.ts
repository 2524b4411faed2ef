/**
 * Tasks registered on every docket: `trace`, `fail` and `sleep`, for checking a deployment,
 * alerting and load from the outside.
 *
 * @module
 */

import { defineTask, type TaskDefinition } from "./definition.ts";
import { Retry } from "./behaviours/retry.ts";

interface BuiltinContext {
  key: string;
  attempt: number;
  signal: AbortSignal;
  logger: { info(message: string): void };
  docket: { name: string };
  worker: { name: string };
  execution: { when: Date };
}

function since(when: Date): string {
  return `${((Date.now() - when.getTime()) / 1000).toFixed(3)}s`;
}

/** Logs a message, with where and when the task ran. */
export const trace: TaskDefinition = defineTask({
  name: "trace",
  hooks: [],
  logged: { message: true },
  run({ message = "" }: { message?: string }, ctx: BuiltinContext) {
    ctx.logger.info(
      `${message}: ${ctx.key} added to docket ${ctx.docket.name} ${
        since(ctx.execution.when)
      } ago, now running on worker ${ctx.worker.name}`,
    );
  },
});

/** Fails on purpose (retried once), to test error handling and alerting. */
export const fail: TaskDefinition = defineTask({
  name: "fail",
  hooks: [Retry({ attempts: 2 })],
  logged: { message: true },
  run({ message = "" }: { message?: string }, ctx: BuiltinContext) {
    throw new Error(
      `${message}: ${ctx.key} added to docket ${ctx.docket.name} ${
        since(ctx.execution.when)
      } ago, now running on worker ${ctx.worker.name}`,
    );
  },
});

/** Sleeps for `seconds` (aborted early when the task is cancelled). */
export const sleep: TaskDefinition = defineTask({
  name: "sleep",
  hooks: [],
  logged: { seconds: true },
  async run({ seconds = 1 }: { seconds?: number }, ctx: BuiltinContext) {
    ctx.logger.info(`Sleeping for ${seconds} seconds`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  },
});

/** The tasks every docket registers. */
export const builtinTasks: readonly TaskDefinition[] = [trace, fail, sleep];
