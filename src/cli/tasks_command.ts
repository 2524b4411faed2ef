/**
 * `tasks trace|fail|sleep`: add one of the built-in tasks, to check a deployment end to end.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import { COMMON_HELP, COMMON_OPTIONS, openDocket, resolveTarget } from "./common.ts";
import { parseDuration, UsageError } from "./parsing.ts";

/**
 * The help text of `tasks`.
 *
 * @example
 * ```ts
 * import { TASKS_HELP } from "./tasks_command.ts";
 * console.log(TASKS_HELP);
 * ```
 */
export const TASKS_HELP = `Usage: tasks trace [MESSAGE] [options]
       tasks fail [MESSAGE] [options]
       tasks sleep [SECONDS] [options]

Adds a built-in task (every worker serves them):
  trace  logs MESSAGE (default "Howdy!") with where and when it ran
  fail   fails with MESSAGE (default "Howdy!"); retried once
  sleep  sleeps SECONDS (default 1; may be fractional)

Options:
  --delay <d>      run it this much later (250ms, 30s, 5m, 2h, mm:ss, hh:mm:ss) (0)
  --key <key>      the task key (default: a new UUIDv7); an existing key is left alone
${COMMON_HELP}

Exit status: 0 added (or the key was already scheduled), 1 struck (nothing added).`;

const BUILTINS = ["trace", "fail", "sleep"] as const;

/**
 * Runs `tasks <name>`; resolves with the exit code: 0 added or already scheduled, 1 struck.
 *
 * @example
 * ```ts ignore
 * import { runTasksCommand } from "./tasks_command.ts";
 * await runTasksCommand(["sleep", "2", "--key", "nap-1"]);
 * ```
 */
export async function runTasksCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, delay: { type: "string" }, key: { type: "string" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(TASKS_HELP);
    return 0;
  }
  const [name, argument, ...extra] = positionals;
  if (!BUILTINS.includes(name as typeof BUILTINS[number])) {
    throw new UsageError(
      name === undefined
        ? "tasks needs a task: trace, fail or sleep"
        : `unknown built-in task "${name}" (use trace, fail or sleep)`,
    );
  }
  if (extra.length) {
    throw new UsageError(`tasks ${name} takes one argument, got also "${extra[0]}" (quote it)`);
  }
  let payload: Record<string, unknown>;
  if (name === "sleep") {
    const seconds = argument === undefined ? 1 : Number(argument);
    if (argument === "" || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(
        `tasks sleep: SECONDS must be a number of at least 0, got "${argument}"`,
      );
    }
    payload = { seconds };
  } else {
    payload = { message: argument ?? "Howdy!" };
  }
  const delay = values.delay === undefined ? 0 : parseDuration(values.delay, "--delay");
  if (values.key === "") throw new UsageError("--key must not be empty");
  await using docket = await openDocket(resolveTarget(`tasks ${name}`, values));
  const options = { key: values.key, when: delay > 0 ? Date.now() + delay : undefined };
  const execution = await docket.add(name, options)(payload);
  const where = `the docket '${printable(docket.name)}'`;
  if (execution.disposition === "struck") {
    console.error(
      `error: ${name} task '${printable(execution.key)}' is struck on ${where}; nothing was added`,
    );
    return 1;
  }
  if (execution.disposition === "already_scheduled") {
    console.log(
      `Task '${printable(execution.key)}' is already scheduled on ${where}; nothing was added`,
    );
    return 0;
  }
  const at = delay > 0 ? ` (due ${execution.when.toISOString()})` : "";
  console.log(`Added ${name} task '${printable(execution.key)}' to ${where}${at}`);
  return 0;
}
