/**
 * Assertions for testing code that schedules tasks: look at what a docket has scheduled or
 * queued (not running) and fail with a message that lists what is there.
 *
 * @example
 * ```ts ignore
 * import { Docket } from "@docket/core";
 * import { assertTaskScheduled } from "@docket/core/testing";
 *
 * await using docket = await Docket.connect({ url: "memory://signup-test" });
 * docket.register(sendWelcome);
 * await signUp(docket, "u-1");
 * await assertTaskScheduled(docket, sendWelcome, { payload: { userId: "u-1" } });
 * ```
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type { Docket } from "./src/docket.ts";
import type { Execution } from "./src/execution.ts";
import { type TaskLike, toDefinition } from "./src/definition.ts";

/** What to match: `payload` as a subset (every given field equal), `key` exactly. */
export interface TaskMatch {
  /** Fields the task's payload must have, each deeply equal; other fields are not compared. */
  payload?: Record<string, unknown>;
  /** The task key, compared exactly. */
  key?: string;
}

function nameOf(task: TaskLike | string): string {
  return typeof task === "string" ? task : toDefinition(task).name;
}

function matches(execution: Execution, name: string, match: TaskMatch): boolean {
  if (execution.taskName !== name) return false;
  if (match.key !== undefined && execution.key !== match.key) return false;
  if (match.payload) {
    for (const [field, value] of Object.entries(match.payload)) {
      if (!isDeepStrictEqual(execution.payload[field], value)) return false;
    }
  }
  return true;
}

function listing(executions: Execution[]): string {
  return executions
    .map((e) =>
      `  ${e.taskName}(${JSON.stringify(e.payload)}) key=${e.key} when=${e.when.toISOString()}`
    )
    .join("\n");
}

function describeMatch(name: string, match: TaskMatch): string {
  const parts = [`task=${name}`];
  if (match.key !== undefined) parts.push(`key=${match.key}`);
  if (match.payload) parts.push(`payload ⊇ ${JSON.stringify(match.payload)}`);
  return parts.join(", ");
}

/**
 * Fails unless a scheduled or queued task matches.
 *
 * @example
 * ```ts ignore
 * await assertTaskScheduled(docket, "send_email", { key: "welcome-u1" });
 * ```
 */
export async function assertTaskScheduled(
  docket: Docket,
  task: TaskLike | string,
  match: TaskMatch = {},
): Promise<void> {
  const name = nameOf(task);
  const { future } = await docket.snapshot();
  if (future.some((execution) => matches(execution, name, match))) return;
  throw new Error(
    future.length === 0
      ? `Task ${name} not found: no tasks scheduled on docket ${docket.name}`
      : `Task ${name} not found with ${describeMatch(name, match)}; scheduled:\n${listing(future)}`,
  );
}

/**
 * Fails if a scheduled or queued task matches.
 *
 * @example
 * ```ts ignore
 * await assertTaskNotScheduled(docket, "send_email", { payload: { userId: "u1" } });
 * ```
 */
export async function assertTaskNotScheduled(
  docket: Docket,
  task: TaskLike | string,
  match: TaskMatch = {},
): Promise<void> {
  const name = nameOf(task);
  const { future } = await docket.snapshot();
  const found = future.filter((execution) => matches(execution, name, match));
  if (found.length === 0) return;
  throw new Error(
    `Task ${name} found but should not be scheduled (${describeMatch(name, match)}):\n${
      listing(found)
    }`,
  );
}

/**
 * Fails unless exactly `count` tasks (of one task, when given) are scheduled or queued.
 *
 * @example
 * ```ts ignore
 * await assertTaskCount(docket, "send_email", 3);
 * await assertTaskCount(docket, 5); // all tasks
 * ```
 */
export async function assertTaskCount(
  docket: Docket,
  taskOrCount: TaskLike | string | number,
  count?: number,
): Promise<void> {
  const all = typeof taskOrCount === "number";
  const expected = all ? taskOrCount : count;
  if (typeof expected !== "number") throw new TypeError("assertTaskCount needs a count");
  const { future } = await docket.snapshot();
  const name = all ? undefined : nameOf(taskOrCount as TaskLike | string);
  const found = name === undefined ? future : future.filter((e) => e.taskName === name);
  if (found.length === expected) return;
  throw new Error(
    `Expected ${expected} ${
      name === undefined ? "tasks" : `tasks for ${name}`
    }, found ${found.length}${found.length ? `:\n${listing(found)}` : ""}`,
  );
}

/**
 * Fails unless nothing is scheduled or queued.
 *
 * @example
 * ```ts ignore
 * await assertNoTasks(docket);
 * ```
 */
export async function assertNoTasks(docket: Docket): Promise<void> {
  const { future } = await docket.snapshot();
  if (future.length === 0) return;
  throw new Error(`Expected no tasks, found ${future.length} scheduled:\n${listing(future)}`);
}
