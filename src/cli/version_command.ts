/**
 * `version`: print the package version.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { VERSION } from "../version.ts";

/**
 * The help text of `version`.
 *
 * @example
 * ```ts
 * import { VERSION_HELP } from "./version_command.ts";
 * console.log(VERSION_HELP);
 * ```
 */
export const VERSION_HELP = `Usage: version

Prints the version of @docket/core.`;

/**
 * Runs `version`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runVersionCommand } from "./version_command.ts";
 * await runVersionCommand([]); // prints "0.1.0"
 * ```
 */
export function runVersionCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: "boolean", short: "h" } } });
  console.log(values.help ? VERSION_HELP : VERSION);
  return Promise.resolve(0);
}
