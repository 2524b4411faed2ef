/**
 * `failed ls|show|retry|purge`: the tasks that ended failed for good (the dead-letter set),
 * listed, shown one by one, rerun and purged.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type FailedTask, readFailedTask } from "../dead_letter/failed.ts";
import type { Docket } from "../docket.ts";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatRelative,
  formatTable,
  openDocket,
  resolveTarget,
} from "./common.ts";
import { parseCount, parseDuration, UsageError } from "./parsing.ts";

/**
 * The help text of `failed`.
 *
 * @example
 * ```ts
 * import { FAILED_HELP } from "./failed_command.ts";
 * console.log(FAILED_HELP);
 * ```
 */
export const FAILED_HELP = `Usage: failed ls [--task <TASK>] [--limit <N>] [options]
       failed show <KEY> [options]
       failed retry <KEY> | --all [--task <TASK>] [options]
       failed purge [--task <TASK>] [--older-than <DURATION>] [options]

Tasks that ended failed for good (retries exhausted, no retry, abandoned, undecodable
payload, refused admission) are kept for the docket's failedTtl (default 7 days).

ls     lists them, newest first: when each failed, task, key, attempts, worker, error
show   prints one in full: payload, error and stack
retry  reruns one (or --all of them, or all of one --task) with its payload, as a fresh
       task due now, and removes it from the set
purge  removes them (only one --task's, only those failed --older-than ago)

Options:
  --task <TASK>            only failures of this task name
  --limit <N>              ls: how many to list, 1 to 1000 (50)
  --all                    retry: every failure (of --task, when given)
  --older-than <DURATION>  purge: only failures at least this old (30s, 5m, 2h, 7d)
${COMMON_HELP}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  task: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  "older-than": { type: "string" },
} as const;

type Values = {
  url?: string;
  docket?: string;
  task?: string;
  limit?: string;
  all?: boolean;
  "older-than"?: string;
};

/**
 * Renders failed tasks as a table (Failed, Task, Key, Attempts, Worker, Error).
 *
 * @example
 * ```ts ignore
 * import { formatFailed } from "./failed_command.ts";
 * console.log(formatFailed((await docket.failed()).items));
 * ```
 */
export function formatFailed(items: FailedTask[], now: number = Date.now()): string {
  return formatTable(
    ["Failed", "Task", "Key", "Attempts", "Worker", "Error"],
    items.map((item) => [
      formatRelative(item.failedAt, now),
      item.task,
      item.key,
      String(item.attempts),
      item.worker ?? "-",
      oneLine(`${item.error.name}: ${item.error.message}`, 80),
    ]),
  );
}

/**
 * Renders one failed task in full.
 *
 * @example
 * ```ts ignore
 * import { formatFailedTask } from "./failed_command.ts";
 * console.log(formatFailedTask((await docket.failed()).items[0]));
 * ```
 */
export function formatFailedTask(item: FailedTask, now: number = Date.now()): string {
  const lines = [
    `Key:       ${item.key}`,
    `Task:      ${item.task}`,
    `Payload:   ${item.payload === undefined ? "(cannot be decoded)" : safeJson(item.payload)}`,
    `Attempts:  ${item.attempts}`,
    `Worker:    ${item.worker ?? "-"}`,
    `Due:       ${item.when.toISOString()} (${formatRelative(item.when, now)})`,
    `Failed:    ${item.failedAt.toISOString()} (${formatRelative(item.failedAt, now)})`,
    `Error:     ${item.error.name}: ${item.error.message}`,
  ];
  if (item.error.stack) lines.push("", item.error.stack);
  return lines.join("\n");
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function safeJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner) => typeof inner === "bigint" ? `${inner}n` : inner);
}

/** `7d` and the forms of `parseDuration`. */
function parseAge(text: string): number {
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text.trim());
  return days ? Number(days[1]) * 86_400_000 : parseDuration(text, "--older-than");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * Runs `failed ls|show|retry|purge`; resolves with the exit code (0).
 *
 * @example
 * ```ts ignore
 * import { runFailedCommand } from "./failed_command.ts";
 * await runFailedCommand(["ls", "--task", "send_email", "--docket", "orders"]);
 * ```
 */
export async function runFailedCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  if (values.help) {
    console.log(FAILED_HELP);
    return 0;
  }
  const [action, key, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (action === undefined || !Object.hasOwn(ACTIONS, action)) {
    throw new UsageError(
      action === undefined
        ? "failed needs a subcommand: ls, show, retry or purge"
        : `unknown failed subcommand "${action}" (use ls, show, retry or purge)`,
    );
  }
  const run = ACTIONS[action];
  const check = run.check(values, key);
  await using docket = await openDocket(resolveTarget(`failed ${action}`, values));
  return await run.act(docket, values, check);
}

interface Action<C> {
  /** Checks the arguments before connecting; what it returns is handed to `act`. */
  check(values: Values, key: string | undefined): C;
  act(docket: Docket, values: Values, checked: C): Promise<number>;
}

function noKey(action: string, key: string | undefined): void {
  if (key !== undefined) throw new UsageError(`failed ${action} takes no KEY, got "${key}"`);
}

const ls: Action<number> = {
  check(values, key) {
    noKey("ls", key);
    if (values.all || values["older-than"] !== undefined) {
      throw new UsageError("failed ls takes --task and --limit only");
    }
    return values.limit === undefined ? 50 : parseCount(values.limit, "--limit");
  },
  async act(docket, values, limit) {
    if (limit > 1000) throw new UsageError(`--limit: "${limit}" must be at most 1000`);
    const page = await docket.failed({ task: values.task, limit });
    const of = values.task === undefined ? "" : ` of '${values.task}'`;
    if (page.items.length === 0) {
      console.log(`No failed tasks${of} on docket '${docket.name}'`);
      return 0;
    }
    const more = page.cursor ? ` (the newest ${page.items.length}; raise --limit for more)` : "";
    console.log(`${plural(page.items.length, "failed task")}${of}${more}\n`);
    console.log(formatFailed(page.items));
    return 0;
  },
};

const show: Action<string> = {
  check(values, key) {
    if (key === undefined || key === "") throw new UsageError("failed show needs a KEY");
    if (values.task !== undefined || values.limit !== undefined || values.all) {
      throw new UsageError("failed show takes a KEY only");
    }
    return key;
  },
  async act(docket, _values, key) {
    const found = await readFailedTask(docket, key);
    if (!found) {
      throw new Error(`task "${key}" is not in the failed set of docket '${docket.name}'`);
    }
    console.log(formatFailedTask(found));
    return 0;
  },
};

const retry: Action<string | undefined> = {
  check(values, key) {
    if (values.limit !== undefined || values["older-than"] !== undefined) {
      throw new UsageError("failed retry takes KEY, or --all [--task]");
    }
    if ((key === undefined) === !values.all || (key !== undefined && values.task !== undefined)) {
      throw new UsageError("failed retry needs a KEY or --all (with --task to pick a task)");
    }
    return key;
  },
  async act(docket, values, key) {
    if (key !== undefined) {
      const execution = await docket.retry(key);
      console.log(`Retried ${execution.key} (${execution.taskName}): ${execution.state}`);
      return 0;
    }
    const retried = await docket.retryFailed({ task: values.task });
    const of = values.task === undefined ? "" : ` of '${values.task}'`;
    console.log(`Retried ${plural(retried, "failed task")}${of} on docket '${docket.name}'`);
    return 0;
  },
};

const purge: Action<number | undefined> = {
  check(values, key) {
    noKey("purge", key);
    if (values.limit !== undefined || values.all) {
      throw new UsageError("failed purge takes --task and --older-than only");
    }
    const age = values["older-than"];
    return age === undefined ? undefined : parseAge(age);
  },
  async act(docket, values, olderThan) {
    const purged = await docket.purgeFailed({ task: values.task, olderThan });
    const of = values.task === undefined ? "" : ` of '${values.task}'`;
    console.log(`Purged ${plural(purged, "failed task")}${of} from docket '${docket.name}'`);
    return 0;
  },
};

const ACTIONS = { ls, show, retry, purge } as Record<string, Action<unknown>>;
