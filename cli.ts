/**
 * The docket command line: `deno run -A cli.ts <command> [options]`, or the same with
 * `bun run cli.ts`; from the npm package, `npx docket <command> [options]` on Node. `--help`
 * lists the commands; `<command> --help` describes one.
 *
 * Exit status: 0 success, 1 an error (one line on stderr), 2 a command-line mistake;
 * `watch` also exits 1 when the task failed and 3 when it was cancelled.
 *
 * @module
 */

import { runMain } from "./src/cli/worker_command.ts";
import { UsageError } from "./src/cli/parsing.ts";
import { commandLineArgs } from "./src/runtime.ts";

const HELP = `Usage: cli.ts <command> [options]

Commands:
  worker                   run a worker (memory:// allowed)
  strike [TASK] [PARAM] [OP] [VALUE]
                           stop a task, or tasks whose parameter matches, from running
  restore [TASK] [PARAM] [OP] [VALUE]
                           undo a strike
  clear                    drop every scheduled and queued task
  snapshot [--stats]       what is scheduled, queued and running, and by which worker
  watch <KEY>              follow a task live: state, timing, progress bar
  cancel <KEY>             cancel a task in any state
  retry <KEY>              rerun a task that failed for good
  failed ls|show|retry|purge
                           the tasks that failed for good: list, show, rerun, purge
  workers ls               live workers and the tasks each serves
  workers for-task <TASK>  live workers serving TASK
  tasks trace|fail|sleep   add a built-in task
  dashboard                serve the web dashboard (127.0.0.1:8765 unless told)
  version                  print the version

Common options: --url <url> [DOCKET_URL] (redis://localhost:6379/0),
                --docket <name> [DOCKET_NAME] (docket), -h/--help.
Every command but worker refuses memory:// (that store lives inside one process).

Exit status: 0 success, 1 error, 2 command-line mistake; watch: 0 completed,
1 failed, 3 cancelled. Run "<command> --help" for a command's options.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  worker: async () => (await import("./src/cli/worker_command.ts")).runWorkerCommand,
  strike: async () => {
    const { runStrikeCommand } = await import("./src/cli/strike_command.ts");
    return (args) => runStrikeCommand("strike", args);
  },
  restore: async () => {
    const { runStrikeCommand } = await import("./src/cli/strike_command.ts");
    return (args) => runStrikeCommand("restore", args);
  },
  clear: async () => (await import("./src/cli/clear_command.ts")).runClearCommand,
  snapshot: async () => (await import("./src/cli/snapshot_command.ts")).runSnapshotCommand,
  watch: async () => (await import("./src/cli/watch_command.ts")).runWatchCommand,
  cancel: async () => (await import("./src/cli/task_commands.ts")).runCancelCommand,
  retry: async () => (await import("./src/cli/task_commands.ts")).runRetryCommand,
  failed: async () => (await import("./src/cli/failed_command.ts")).runFailedCommand,
  workers: async () => (await import("./src/cli/workers_command.ts")).runWorkersCommand,
  tasks: async () => (await import("./src/cli/tasks_command.ts")).runTasksCommand,
  dashboard: async () => (await import("./src/cli/dashboard_command.ts")).runDashboardCommand,
  version: async () => (await import("./src/cli/version_command.ts")).runVersionCommand,
};

async function main(args: string[]): Promise<number> {
  let [name, ...rest] = args;
  if (name === "help" && rest.length > 0) [name, rest] = [rest[0], ["--help"]];
  if (name === undefined) {
    console.error(HELP);
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    console.log(HELP);
    return 0;
  }
  if (name === "--version" || name === "-V") name = "version";
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    throw new UsageError(
      `unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(", ")})`,
    );
  }
  return await (await load())(rest);
}

await runMain(() => main(commandLineArgs()));
