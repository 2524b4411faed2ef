/**
 * What the command-line commands share: the `--url` / `--docket` options with their environment
 * defaults, the refusal of `memory://` outside `worker`, connecting a docket whose logs stay off
 * stdout, and small text helpers (tables, relative times, terminal detection).
 *
 * @module
 */

import process from "node:process";
import { Docket } from "../docket.ts";
import { createLogger } from "../logging/logger.ts";
import { env, UsageError } from "./parsing.ts";
import type { TlsOptions } from "../storage/redis/tls.ts";
import { resolveTls, TLS_HELP, TLS_OPTIONS } from "./tls_options.ts";

/**
 * The default store URL when neither `--url` nor `DOCKET_URL` is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_URL } from "./common.ts";
 * DEFAULT_URL; // "redis://localhost:6379/0"
 * ```
 */
export const DEFAULT_URL = "redis://localhost:6379/0";

/**
 * The `parseArgs` options every connecting command takes.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { COMMON_OPTIONS } from "./common.ts";
 * const { values } = parseArgs({ args: ["--docket", "orders"], options: COMMON_OPTIONS });
 * values.docket; // "orders"
 * ```
 */
export const COMMON_OPTIONS = {
  url: { type: "string" },
  docket: { type: "string" },
  ...TLS_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Help lines for {@linkcode COMMON_OPTIONS}, to end each command's help text.
 *
 * @example
 * ```ts
 * import { COMMON_HELP } from "./common.ts";
 * console.log(`Options:\n${COMMON_HELP}`);
 * ```
 */
export const COMMON_HELP =
  `  --url <url>                    redis://, rediss://, redis+cluster:// or redis+sentinel:// URL
                                 [DOCKET_URL] (${DEFAULT_URL})
  --docket <name>                docket name [DOCKET_NAME] (docket)
${TLS_HELP}
  -h, --help                     show this help`;

/**
 * Where a command connects: the store URL and the docket name.
 *
 * @example
 * ```ts
 * import type { Target } from "./common.ts";
 * const target: Target = { url: "redis://localhost:6379/0", docket: "orders" };
 * ```
 */
export interface Target {
  url: string;
  docket: string;
  tls?: TlsOptions;
}

/**
 * Resolves `--url` / `--docket` with their environment defaults, refusing `memory://`: the
 * memory store lives inside one process, so a separate command-line process cannot see it.
 *
 * @example
 * ```ts
 * import { resolveTarget } from "./common.ts";
 * resolveTarget("snapshot", { url: "redis://localhost:6379/0", docket: "orders" });
 * // { url: "redis://localhost:6379/0", docket: "orders" }
 * ```
 */
export function resolveTarget(
  command: string,
  values: { url?: string; docket?: string } & Parameters<typeof resolveTls>[0],
): Target {
  const url = values.url ?? env("DOCKET_URL") ?? DEFAULT_URL;
  const docket = values.docket ?? env("DOCKET_NAME") ?? "docket";
  refuseMemory(command, url);
  const tls = resolveTls(values);
  return tls ? { url, docket, tls } : { url, docket };
}

/**
 * Throws a {@linkcode UsageError} for a `memory://` URL, saying why it cannot work here.
 *
 * @example
 * ```ts
 * import { refuseMemory } from "./common.ts";
 * refuseMemory("clear", "redis://localhost:6379/0"); // fine
 * // refuseMemory("clear", "memory://") throws
 * ```
 */
export function refuseMemory(command: string, url: string): void {
  if (!url.trim().toLowerCase().startsWith("memory:")) return;
  throw new UsageError(
    `${command} cannot use ${url}: a memory store lives inside one process, so this ` +
      `command's process cannot see it; use a redis:// or rediss:// URL (memory:// works ` +
      `only with worker)`,
  );
}

/**
 * Connects a docket for a command: its logs go to stderr (level `DOCKET_LOG_LEVEL`, else
 * `warn`), so stdout carries only the command's own output. A malformed URL is a usage error.
 *
 * @example
 * ```ts ignore
 * import { openDocket } from "./common.ts";
 * await using docket = await openDocket({ url: "redis://localhost:6379/0", docket: "orders" });
 * ```
 */
export async function openDocket(target: Target): Promise<Docket> {
  const logger = createLogger({
    level: env("DOCKET_LOG_LEVEL") ?? "warn",
    format: "pretty",
    destination: { write: (line: string) => void process.stderr.write(line) },
  });
  try {
    return await Docket.connect({ url: target.url, name: target.docket, tls: target.tls, logger });
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * True when stdout is a terminal (ANSI redraws and colours are welcome).
 *
 * @example
 * ```ts
 * import { stdoutIsTerminal } from "./common.ts";
 * const live = stdoutIsTerminal();
 * ```
 */
export function stdoutIsTerminal(): boolean {
  return process.stdout.isTTY === true;
}

/**
 * Wraps text in an ANSI style when `enabled` (and `NO_COLOR` is unset).
 *
 * @example
 * ```ts
 * import { style } from "./common.ts";
 * style("done", "32", false); // "done"
 * ```
 */
export function style(text: string, code: string, enabled: boolean): string {
  if (!enabled || env("NO_COLOR") !== undefined) return text;
  return `\x1b[${code}m${text}\x1b[0m`;
}

/**
 * A span of milliseconds for people: `850ms`, `4.2s`, `3m 5s`, `2h 0m`, `3d 4h`.
 *
 * @example
 * ```ts
 * import { formatSpan } from "./common.ts";
 * formatSpan(185_000); // "3m 5s"
 * ```
 */
export function formatSpan(ms: number): string {
  const value = Math.abs(ms);
  if (value < 1_000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1_000).toFixed(1)}s`;
  const seconds = Math.floor(value / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h ${Math.floor(seconds / 60) % 60}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor(seconds / 3_600) % 24}h`;
}

/**
 * An instant relative to `now`: `in 5.0s`, `3m 2s ago`, `now` (within 50 ms); `-` when absent.
 *
 * @example
 * ```ts
 * import { formatRelative } from "./common.ts";
 * formatRelative(new Date(10_000), 4_000); // "in 6.0s"
 * ```
 */
export function formatRelative(when: Date | undefined, now: number = Date.now()): string {
  if (when === undefined) return "-";
  const delta = when.getTime() - now;
  if (Math.abs(delta) < 50) return "now";
  return delta > 0 ? `in ${formatSpan(delta)}` : `${formatSpan(delta)} ago`;
}

/**
 * Lays rows out as a plain-text table: a header, then one line per row, columns padded to the
 * widest cell and separated by two spaces.
 *
 * @example
 * ```ts
 * import { formatTable } from "./common.ts";
 * formatTable(["Name", "Tasks"], [["w1", "trace"]]);
 * // "Name  Tasks\nw1    trace"
 * ```
 */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
