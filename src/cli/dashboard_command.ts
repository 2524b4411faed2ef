/**
 * `dashboard`: serve the web dashboard of a docket (on 127.0.0.1 unless told otherwise).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { COMMON_HELP, COMMON_OPTIONS, openDocket, resolveTarget } from "./common.ts";
import { env, parseCount, UsageError } from "./parsing.ts";
import { loadTasks } from "./task_modules.ts";
import { createDashboard } from "../dashboard/app.ts";
import { serveFetch } from "../dashboard/serve.ts";

/**
 * The help text of `dashboard`.
 *
 * @example
 * ```ts
 * import { DASHBOARD_HELP } from "./dashboard_command.ts";
 * console.log(DASHBOARD_HELP);
 * ```
 */
export const DASHBOARD_HELP = `Usage: dashboard [options]

Serves a web dashboard of the docket: overview, executions, failed, scheduled, strikes,
workers and flow control, live over Server-Sent Events. SIGINT or SIGTERM stops it.

Options:
  --port <n>       port to listen on [DOCKET_DASHBOARD_PORT] (8765; 0 picks a free one)
  --host <addr>    address to bind [DOCKET_DASHBOARD_HOST] (127.0.0.1)
  --read-only      hide every action and refuse every POST [DOCKET_DASHBOARD_READ_ONLY=1]
  --token <t>      require this token (Bearer header or login form) [DOCKET_DASHBOARD_TOKEN]
  --tasks <mod>    task module(s) to know: argument logging and flow controls (repeatable)
${COMMON_HELP}`;

/** True for "1", "true", "yes" and "on". */
function isOn(text: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test(text ?? "");
}

/**
 * Runs `dashboard` until SIGINT or SIGTERM; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runDashboardCommand } from "./dashboard_command.ts";
 * await runDashboardCommand(["--docket", "orders", "--read-only"]);
 * ```
 */
export async function runDashboardCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      port: { type: "string" },
      host: { type: "string" },
      "read-only": { type: "boolean" },
      token: { type: "string" },
      tasks: { type: "string", multiple: true },
    },
  });
  if (values.help) {
    console.log(DASHBOARD_HELP);
    return 0;
  }
  const target = resolveTarget("dashboard", values);
  const port = parseCount(values.port ?? env("DOCKET_DASHBOARD_PORT") ?? "8765", "--port", 0);
  if (port > 65535) throw new UsageError(`--port: "${port}" is above 65535`);
  const host = values.host ?? env("DOCKET_DASHBOARD_HOST") ?? "127.0.0.1";
  const readOnly = values["read-only"] ?? isOn(env("DOCKET_DASHBOARD_READ_ONLY"));
  const token = values.token ?? env("DOCKET_DASHBOARD_TOKEN");
  const tasks = await loadTasks(values.tasks ?? []);
  await using docket = await openDocket(target);
  for (const task of tasks) docket.register(task);
  const server = await serveFetch(createDashboard(docket, { readOnly, token }), { host, port });
  console.log(
    `Dashboard of docket '${docket.name}' on ${server.url}` +
      (readOnly ? " (read-only)" : "") + (token ? " (token required)" : ""),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  // Live event streams never end on their own: give the server a moment, then go.
  await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  return 0;
}
