/**
 * `strike` and `restore`: stop tasks from running (everywhere at once) and let them run again.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import { STRIKE_OPERATORS } from "../strikes/strike_set.ts";
import { describeStrike, makeStrikeInstruction } from "../strikes/strike_set.ts";
import { COMMON_HELP, COMMON_OPTIONS, openDocket, resolveTarget } from "./common.ts";
import { parseValue, UsageError } from "./parsing.ts";

/**
 * The help text of `strike` or `restore`.
 *
 * @example
 * ```ts
 * import { strikeHelp } from "./strike_command.ts";
 * console.log(strikeHelp("restore"));
 * ```
 */
export function strikeHelp(direction: "strike" | "restore"): string {
  const verb = direction === "strike" ? "Strikes" : "Restores";
  return `Usage: ${direction} [TASK] [PARAMETER] [OPERATOR] [VALUE] [options]

${verb} a whole task, or the tasks whose parameter matches a condition, on every worker
at once${direction === "strike" ? ": a struck task is not scheduled and does not run" : ""}.

Arguments:
  TASK       task name; "*" or "" for any task (default "*")
  PARAMETER  payload key to compare; "*" or "" for the whole task (default "*")
  OPERATOR   ${STRIKE_OPERATORS.join(" ")} (default ==)
  VALUE      JSON where the text parses as JSON (42, true, null, [1000, 5000]), else the
             text itself; needed with a PARAMETER. Digits are a number: quote them as
             JSON ('"1001"') to compare with a string
A TASK, a PARAMETER or both must be given. Put -- before a VALUE that starts with "-".

Options:
${COMMON_HELP}

Examples:
  ${direction} process_order
  ${direction} process_order customerId == '"1001"'
  ${direction} "*" amount between "[1000, 5000]"
  ${direction} process_order priority '<=' low`;
}

/** `*` and the empty string stand for "any". */
function wildcard(text: string | undefined): string | null {
  return text === undefined || text === "" || text === "*" ? null : text;
}

/**
 * Runs `strike` or `restore`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runStrikeCommand } from "./strike_command.ts";
 * await runStrikeCommand("strike", ["process_order", "customerId", "==", "1001"]);
 * ```
 */
export async function runStrikeCommand(
  direction: "strike" | "restore",
  args: string[],
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON_OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(strikeHelp(direction));
    return 0;
  }
  if (positionals.length > 4) {
    throw new UsageError(
      `${direction} takes at most TASK PARAMETER OPERATOR VALUE, got ${positionals.length} ` +
        `arguments (quote a VALUE that has spaces)`,
    );
  }
  const [taskText, paramText, opText, valueText] = positionals;
  const task = wildcard(taskText);
  const param = wildcard(paramText);
  if (task === null && param === null) {
    throw new UsageError(`${direction} needs a TASK, a PARAMETER or both`);
  }
  const op = opText === undefined || opText === "" ? "==" : opText;
  const value = valueText === undefined ? undefined : parseValue(valueText);
  let instruction;
  try {
    instruction = makeStrikeInstruction(direction, task, param, op, value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const target = resolveTarget(direction, values);
  await using docket = await openDocket(target);
  if (direction === "strike") {
    await docket.strike(task, param, instruction.op, instruction.value);
  } else {
    await docket.restore(task, param, instruction.op, instruction.value);
  }
  const done = direction === "strike" ? "Struck" : "Restored";
  console.log(
    `${done} ${printable(describeStrike(instruction))} on docket '${printable(docket.name)}'`,
  );
  return 0;
}
