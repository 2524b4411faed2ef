/**
 * Tasks registered on every docket: `trace`, `fail` and `sleep`, for checking a deployment,
 * alerting and load from the outside.
 *
 * @module
 */

import { defineTask, type TaskDefinition, type TaskDefinitionOf } from "./definition.ts";
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

/**
 * Logs `message` at info level, with the key, the docket, how long ago the task was added and the
 * worker running it: a milestone marker for workflows and a quick check of a deployment.
 *
 * @example
 * ```ts ignore
 * import { trace } from "@docket/core";
 * await docket.add(trace)({ message: "System startup completed" });
 * await docket.add("trace")({ message: "Processing batch 123" }); // by name works too
 * ```
 */
export const trace: TaskDefinitionOf<{ message?: string }, void> = defineTask({
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

/**
 * Fails on purpose with an error carrying `message`, the key, the docket and the worker; it has
 * its own `Retry({ attempts: 2 })`, so it fails twice and ends FAILED. For testing error
 * handling, alerting and retries end to end.
 *
 * @example
 * ```ts ignore
 * import { fail } from "@docket/core";
 * const execution = await docket.add(fail)({ message: "Testing error notification system" });
 * await execution.getResult().catch((error) => console.log(error.message));
 * ```
 */
export const fail: TaskDefinitionOf<{ message?: string }, never> = defineTask({
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

/**
 * Logs "Sleeping for N seconds" and sleeps that long (ending early when the task is cancelled or
 * its signal aborts): synthetic load, and a long-running task to try cancellation on.
 *
 * @example
 * ```ts ignore
 * import { sleep } from "@docket/core";
 * await docket.add(sleep, { key: "nap" })({ seconds: 30 });
 * await docket.cancel("nap");
 * ```
 */
export const sleep: TaskDefinitionOf<{ seconds?: number }, void> = defineTask({
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

/**
 * The tasks every docket registers: {@linkcode trace}, {@linkcode fail} and {@linkcode sleep}.
 *
 * @example
 * ```ts ignore
 * builtinTasks.map((task) => task.name); // ["trace", "fail", "sleep"]
 * ```
 */
export const builtinTasks: readonly TaskDefinition[] = [trace, fail, sleep];
