/**
 * `snapshot`: what is scheduled, queued and running, and by which worker; `--stats` adds a
 * summary per task and the count of failed tasks kept.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import type { DocketSnapshot } from "../docket_snapshot.ts";
import type { Execution } from "../execution.ts";
import { countFailedTasks } from "../dead_letter/failed.ts";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatRelative,
  formatTable,
  openDocket,
  resolveTarget,
} from "./common.ts";

/**
 * The help text of `snapshot`.
 *
 * @example
 * ```ts
 * import { SNAPSHOT_HELP } from "./snapshot_command.ts";
 * console.log(SNAPSHOT_HELP);
 * ```
 */
export const SNAPSHOT_HELP = `Usage: snapshot [--stats] [options]

Shows what is running (and on which worker), queued and scheduled, soonest first, with
times relative to now.

Options:
  --stats          add a summary per task (total, running, waiting, next and last due)
                   and how many failed tasks are kept (see "failed ls")
${COMMON_HELP}`;

/**
 * Renders a snapshot as text: a header, then a table of running and waiting tasks, and with
 * `stats` a table per task.
 *
 * @example
 * ```ts ignore
 * import { formatSnapshot } from "./snapshot_command.ts";
 * console.log(formatSnapshot("orders", await docket.snapshot(), { stats: true }));
 * ```
 */
export function formatSnapshot(
  name: string,
  snapshot: DocketSnapshot,
  options: { stats?: boolean; now?: number; failed?: number } = {},
): string {
  const now = options.now ?? snapshot.taken.getTime();
  const workers = snapshot.workers.length;
  const lines = [
    `Docket '${printable(name)}' as of ${snapshot.taken.toISOString()}`,
    `${workers} ${workers === 1 ? "worker" : "workers"}, ${snapshot.running.length}/` +
    `${snapshot.totalTasks} running`,
    "",
  ];
  const all = [...snapshot.running, ...snapshot.future];
  if (all.length === 0) {
    lines.push("Nothing is scheduled, queued or running.");
  } else {
    lines.push(formatTable(
      ["State", "When", "Task", "Key", "Worker", "Started"],
      all.map((execution) => [
        execution.state,
        formatRelative(execution.when, now),
        printable(execution.taskName),
        printable(execution.key),
        printable(execution.worker ?? "-"),
        formatRelative(execution.startedAt, now),
      ]),
    ));
    const listed = all.length;
    if (listed < snapshot.totalTasks) {
      lines.push(`(showing ${listed} of ${snapshot.totalTasks} tasks)`);
    }
  }
  if (options.stats) {
    if (options.failed !== undefined) {
      const kept = options.failed;
      lines.push("", `${kept} failed ${kept === 1 ? "task" : "tasks"} kept (see "failed ls")`);
    }
    lines.push("", formatStats(all, now));
  }
  return lines.join("\n");
}

/** One row per task name, the busiest first. */
function formatStats(executions: Execution[], now: number): string {
  const byTask = new Map<string, { total: number; running: number; waiting: Execution[] }>();
  for (const execution of executions) {
    const entry = byTask.get(execution.taskName) ?? { total: 0, running: 0, waiting: [] };
    entry.total++;
    if (execution.state === "running") entry.running++;
    else entry.waiting.push(execution);
    byTask.set(execution.taskName, entry);
  }
  if (byTask.size === 0) return "No tasks to summarise.";
  const rows = [...byTask.entries()]
    .sort(([a, x], [b, y]) => y.total - x.total || a.localeCompare(b))
    .map(([task, { total, running, waiting }]) => {
      const due = waiting.map((e) => e.when.getTime());
      const next = due.length ? new Date(Math.min(...due)) : undefined;
      const last = due.length ? new Date(Math.max(...due)) : undefined;
      return [
        printable(task),
        String(total),
        String(running),
        String(waiting.length),
        formatRelative(next, now),
        formatRelative(last, now),
      ];
    });
  return formatTable(["Task", "Total", "Running", "Waiting", "Next due", "Last due"], rows);
}

/**
 * Runs `snapshot`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runSnapshotCommand } from "./snapshot_command.ts";
 * await runSnapshotCommand(["--stats", "--docket", "orders"]);
 * ```
 */
export async function runSnapshotCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, stats: { type: "boolean" } },
  });
  if (values.help) {
    console.log(SNAPSHOT_HELP);
    return 0;
  }
  await using docket = await openDocket(resolveTarget("snapshot", values));
  const [snapshot, failed] = await Promise.all([
    docket.snapshot(),
    values.stats ? countFailedTasks(docket) : undefined,
  ]);
  console.log(formatSnapshot(docket.name, snapshot, { stats: values.stats, failed }));
  return 0;
}
