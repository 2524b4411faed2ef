/**
 * `clear`: drop every task that is waiting (scheduled or queued); running tasks finish.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import { COMMON_HELP, COMMON_OPTIONS, openDocket, resolveTarget } from "./common.ts";

/**
 * The help text of `clear`.
 *
 * @example
 * ```ts
 * import { CLEAR_HELP } from "./clear_command.ts";
 * console.log(CLEAR_HELP);
 * ```
 */
export const CLEAR_HELP = `Usage: clear [options]

Drops every scheduled and queued task of the docket. Running tasks finish; strikes stay.

Options:
${COMMON_HELP}`;

/**
 * Runs `clear`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runClearCommand } from "./clear_command.ts";
 * await runClearCommand(["--docket", "orders"]);
 * ```
 */
export async function runClearCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON_OPTIONS });
  if (values.help) {
    console.log(CLEAR_HELP);
    return 0;
  }
  await using docket = await openDocket(resolveTarget("clear", values));
  const cleared = await docket.clear();
  console.log(
    `Cleared ${cleared} ${cleared === 1 ? "task" : "tasks"} from docket '${
      printable(docket.name)
    }'`,
  );
  return 0;
}
