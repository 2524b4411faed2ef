/**
 * `cancel KEY` and `retry KEY`: act on one task by its key.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { COMMON_HELP, COMMON_OPTIONS, openDocket, resolveTarget } from "./common.ts";
import { UsageError } from "./parsing.ts";

/**
 * The help text of `cancel`.
 *
 * @example
 * ```ts
 * import { CANCEL_HELP } from "./task_commands.ts";
 * console.log(CANCEL_HELP);
 * ```
 */
export const CANCEL_HELP = `Usage: cancel <KEY> [options]

Cancels the task KEY in any state: a scheduled or queued task is removed, a running one is
aborted (its worker ends it cancelled).

Options:
${COMMON_HELP}`;

/**
 * The help text of `retry`.
 *
 * @example
 * ```ts
 * import { RETRY_HELP } from "./task_commands.ts";
 * console.log(RETRY_HELP);
 * ```
 */
export const RETRY_HELP = `Usage: retry <KEY> [options]

Reruns the failed task KEY (one in the failed set, see "failed ls") with its payload, as a
fresh task due now, and removes it from the set. The same as "failed retry KEY".

Options:
${COMMON_HELP}`;

function oneKey(command: string, positionals: string[]): string {
  const [key, ...extra] = positionals;
  if (key === undefined || key === "") throw new UsageError(`${command} needs a KEY`);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return key;
}

/**
 * Runs `cancel KEY`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runCancelCommand } from "./task_commands.ts";
 * await runCancelCommand(["order-1002", "--docket", "orders"]);
 * ```
 */
export async function runCancelCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON_OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(CANCEL_HELP);
    return 0;
  }
  const key = oneKey("cancel", positionals);
  await using docket = await openDocket(resolveTarget("cancel", values));
  await docket.cancel(key);
  console.log(`Cancelled ${key} on docket '${docket.name}'`);
  return 0;
}

/**
 * Runs `retry KEY`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runRetryCommand } from "./task_commands.ts";
 * await runRetryCommand(["order-1002", "--docket", "orders"]);
 * ```
 */
export async function runRetryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON_OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(RETRY_HELP);
    return 0;
  }
  const key = oneKey("retry", positionals);
  await using docket = await openDocket(resolveTarget("retry", values));
  const execution = await docket.retry(key);
  console.log(`Retried ${execution.key} (${execution.taskName}): ${execution.state}`);
  return 0;
}
