/**
 * `workers ls` and `workers for-task <name>`: the live workers, and the tasks each serves.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import type { WorkerInfo } from "../docket_snapshot.ts";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatRelative,
  formatTable,
  openDocket,
  resolveTarget,
  stdoutIsTerminal,
  style,
} from "./common.ts";
import { UsageError } from "./parsing.ts";

/**
 * The help text of `workers`.
 *
 * @example
 * ```ts
 * import { WORKERS_HELP } from "./workers_command.ts";
 * console.log(WORKERS_HELP);
 * ```
 */
export const WORKERS_HELP = `Usage: workers ls [options]
       workers for-task <TASK> [options]

ls        lists the live workers: name, last heartbeat and the tasks each serves
for-task  lists the live workers that serve TASK

Options:
${COMMON_HELP}`;

/**
 * Renders workers as a table (Name, Last seen, Tasks); `highlight` marks one task name.
 *
 * @example
 * ```ts
 * import { formatWorkers } from "./workers_command.ts";
 * formatWorkers([{ name: "w1", lastSeen: new Date(0), tasks: ["trace"] }], { now: 1_000 });
 * // "Name  Last seen  Tasks\nw1    1.0s ago   trace"
 * ```
 */
export function formatWorkers(
  workers: WorkerInfo[],
  options: { now?: number; highlight?: string; colour?: boolean } = {},
): string {
  const now = options.now ?? Date.now();
  const rows = [...workers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((worker) => [
      printable(worker.name),
      formatRelative(worker.lastSeen, now),
      worker.tasks.map((task) =>
        task === options.highlight
          ? style(printable(task), "1;32", options.colour ?? false)
          : printable(task)
      ).join(", "),
    ]);
  return formatTable(["Name", "Last seen", "Tasks"], rows);
}

/**
 * Runs `workers ls` or `workers for-task <name>`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runWorkersCommand } from "./workers_command.ts";
 * await runWorkersCommand(["for-task", "trace", "--docket", "orders"]);
 * ```
 */
export async function runWorkersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON_OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(WORKERS_HELP);
    return 0;
  }
  const [action, taskName, ...extra] = positionals;
  if (action !== "ls" && action !== "for-task") {
    throw new UsageError(
      action === undefined
        ? "workers needs a subcommand: ls or for-task <TASK>"
        : `unknown workers subcommand "${action}" (use ls or for-task <TASK>)`,
    );
  }
  if (action === "ls" && taskName !== undefined) {
    throw new UsageError(`workers ls takes no arguments, got "${taskName}"`);
  }
  if (action === "for-task" && (taskName === undefined || taskName === "")) {
    throw new UsageError("workers for-task needs a TASK name");
  }
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  await using docket = await openDocket(resolveTarget(`workers ${action}`, values));
  const workers = action === "ls" ? await docket.workers() : await docket.taskWorkers(taskName);
  const where = action === "ls" ? "" : ` serving '${printable(taskName ?? "")}'`;
  if (workers.length === 0) {
    console.log(`No live workers${where} on docket '${printable(docket.name)}'`);
    return 0;
  }
  const count = `${workers.length} live ${workers.length === 1 ? "worker" : "workers"}`;
  console.log(`${count}${where} on docket '${printable(docket.name)}'\n`);
  console.log(formatWorkers(workers, { highlight: taskName, colour: stdoutIsTerminal() }));
  return 0;
}
