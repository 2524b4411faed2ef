/**
 * `watch <key>`: follow one task live: its state, worker, timing and a progress bar with
 * percentage and message, driven by `execution.subscribe()` (pub/sub, no polling). On a terminal
 * the display is redrawn in place; otherwise one line is printed per change. Exits when the task
 * ends: 0 completed, 1 failed, 3 cancelled.
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Execution } from "../execution.ts";
import { type ExecutionEvent, ExecutionState, TERMINAL_STATES } from "../types.ts";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatRelative,
  formatSpan,
  openDocket,
  resolveTarget,
  stdoutIsTerminal,
  style,
} from "./common.ts";
import { UsageError } from "./parsing.ts";

/**
 * The exit code `watch` ends with, by how the task ended. A missing key or any other error
 * exits 1, a command-line mistake 2.
 *
 * @example
 * ```ts
 * import { WATCH_EXIT_CODES } from "./watch_command.ts";
 * WATCH_EXIT_CODES.cancelled; // 3
 * ```
 */
export const WATCH_EXIT_CODES = { completed: 0, failed: 1, cancelled: 3 } as const;

/**
 * The help text of `watch`.
 *
 * @example
 * ```ts
 * import { WATCH_HELP } from "./watch_command.ts";
 * console.log(WATCH_HELP);
 * ```
 */
export const WATCH_HELP = `Usage: watch <KEY> [options]

Follows one task live: state, worker, timing, and a progress bar with percentage and
message, as the task reports them (pub/sub: no polling). On a terminal the display is
redrawn in place; otherwise one line is printed per change.

Options:
${COMMON_HELP}

Exit status: 0 the task completed, 1 it failed (or no task has KEY, or another error),
2 a command-line mistake, 3 it was cancelled.`;

/**
 * Everything `watch` shows about a task.
 *
 * @example
 * ```ts
 * import type { WatchView } from "./watch_command.ts";
 * const view: WatchView = { key: "k1", taskName: "sleep", docket: "docket", state: "running" };
 * ```
 */
export interface WatchView {
  key: string;
  taskName: string;
  docket: string;
  state: ExecutionState;
  when?: Date;
  worker?: string;
  startedAt?: Date;
  completedAt?: Date;
  error?: string;
  current?: number;
  total?: number;
  message?: string;
  updatedAt?: Date;
}

/**
 * A progress bar `width` cells wide, filled in proportion to `current / total` (capped at full).
 *
 * @example
 * ```ts
 * import { progressBar } from "./watch_command.ts";
 * progressBar(1, 4, 8, "#", "."); // "##......"
 * ```
 */
export function progressBar(
  current: number,
  total: number,
  width: number,
  done = "█",
  todo = "░",
): string {
  const ratio = total > 0 ? Math.min(Math.max(current / total, 0), 1) : 0;
  const filled = Math.round(ratio * width);
  return done.repeat(filled) + todo.repeat(width - filled);
}

/**
 * The progress of a view as text: `[bar] current/total (percent%)`, `3 done` without a total,
 * `undefined` when the task has reported nothing.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./watch_command.ts";
 * formatProgress({ current: 1, total: 4 }, { width: 8, done: "#", todo: "." });
 * // "[##......] 1/4 (25.0%)"
 * ```
 */
export function formatProgress(
  view: { current?: number; total?: number },
  bar: { width: number; done?: string; todo?: string },
): string | undefined {
  const { current, total } = view;
  if (current === undefined && total === undefined) return undefined;
  const count = current ?? 0;
  if (total === undefined || total <= 0) return `${count} done`;
  const percent = (Math.min(count / total, 1) * 100).toFixed(1);
  return `[${progressBar(count, total, bar.width, bar.done, bar.todo)}] ${count}/${total} ` +
    `(${percent}%)`;
}

/** How long the task has been running (or ran), when it is known. */
function elapsed(view: WatchView, now: number): number | undefined {
  if (!view.startedAt) return undefined;
  const end = view.completedAt?.getTime() ?? (TERMINAL_STATES.has(view.state) ? undefined : now);
  return end === undefined ? undefined : end - view.startedAt.getTime();
}

/** An instant in UTC: the time of day when it is today, else the full date and time. */
function formatTime(when: Date, now: number): string {
  const iso = when.toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11) : iso;
}

const STATE_COLOURS: Record<ExecutionState, string> = {
  scheduled: "2",
  queued: "2",
  running: "36",
  completed: "32",
  failed: "31",
  cancelled: "33",
};

/**
 * The lines of the in-place display (no trailing newline on any line).
 *
 * @example
 * ```ts
 * import { renderPanel } from "./watch_command.ts";
 * renderPanel({ key: "k1", taskName: "sleep", docket: "docket", state: "queued" });
 * // ["Task      sleep 'k1' on docket 'docket'", "State     QUEUED", "Timing    -",
 * //  "Progress  none reported", "Message   -"]
 * ```
 */
export function renderPanel(
  view: WatchView,
  options: { now?: number; colour?: boolean } = {},
): string[] {
  const now = options.now ?? Date.now();
  const colour = options.colour ?? false;
  let state = style(view.state.toUpperCase(), STATE_COLOURS[view.state], colour);
  if (view.worker) state += ` on worker ${printable(view.worker)}`;
  // Most telling first, so a narrow terminal cuts the least useful part.
  const timing: string[] = [];
  const took = elapsed(view, now);
  if (took !== undefined) {
    timing.push(`${TERMINAL_STATES.has(view.state) ? "took" : "running for"} ${formatSpan(took)}`);
  }
  if (view.startedAt) timing.push(`started ${formatTime(view.startedAt, now)}`);
  if (view.completedAt) timing.push(`ended ${formatTime(view.completedAt, now)}`);
  if (view.when) {
    timing.push(`due ${formatTime(view.when, now)} (${formatRelative(view.when, now)})`);
  }
  const lines = [
    `Task      ${printable(view.taskName)} '${printable(view.key)}' on docket '${
      printable(view.docket)
    }'`,
    `State     ${state}`,
    `Timing    ${timing.join(", ") || "-"}`,
    `Progress  ${formatProgress(view, { width: 30 }) ?? "none reported"}`,
    `Message   ${printable(view.message ?? "-")}`,
  ];
  if (view.error) lines.push(`Error     ${style(printable(view.error), "31", colour)}`);
  return lines;
}

/**
 * The line printed for a change when stdout is not a terminal; `undefined` when there is
 * nothing to say (no progress reported yet).
 *
 * @example
 * ```ts
 * import { renderLine } from "./watch_command.ts";
 * renderLine("progress", {
 *   key: "k1", taskName: "sleep", docket: "docket", state: "running", current: 1, total: 4,
 * });
 * // "progress: [#####...............] 1/4 (25.0%)"
 * ```
 */
export function renderLine(kind: "state" | "progress", view: WatchView): string | undefined {
  if (kind === "progress") {
    const progress = formatProgress(view, { width: 20, done: "#", todo: "." });
    if (progress === undefined) return undefined;
    return `progress: ${progress}${view.message ? ` ${printable(view.message)}` : ""}`;
  }
  let line = `state: ${view.state.toUpperCase()}`;
  switch (view.state) {
    case ExecutionState.SCHEDULED:
    case ExecutionState.QUEUED:
      if (view.when) line += ` (due ${view.when.toISOString()})`;
      break;
    case ExecutionState.RUNNING:
      if (view.worker) line += ` on worker ${printable(view.worker)}`;
      if (view.startedAt) line += ` (started ${view.startedAt.toISOString()})`;
      break;
    default: {
      const took = elapsed(view, Date.now());
      if (took !== undefined) line += ` after ${formatSpan(took)}`;
      if (view.error) line += `: ${printable(view.error)}`;
    }
  }
  return line;
}

/** What belongs to one attempt, dropped when the task is written again. */
const RUN_FIELDS = [
  "worker",
  "startedAt",
  "completedAt",
  "error",
  "current",
  "total",
  "message",
  "updatedAt",
] as const;

/** Folds an event into the view. */
function apply(view: WatchView, event: ExecutionEvent): void {
  if (event.type === "progress") {
    // A late delivery must not move the display back.
    if (view.updatedAt && event.updatedAt && event.updatedAt < view.updatedAt) return;
    view.current = event.current;
    view.total = event.total;
    view.message = event.message;
    view.updatedAt = event.updatedAt;
    return;
  }
  view.state = event.state;
  if (event.when) view.when = event.when;
  if (event.state === ExecutionState.SCHEDULED || event.state === ExecutionState.QUEUED) {
    // Written again (a retry): the next attempt starts afresh.
    for (const field of RUN_FIELDS) delete view[field];
  }
  if (event.worker !== undefined) view.worker = event.worker;
  if (event.startedAt !== undefined) view.startedAt = event.startedAt;
  if (event.completedAt !== undefined) view.completedAt = event.completedAt;
  if (event.error !== undefined) view.error = event.error;
  // At the end the store drops the progress record; the view keeps the last progress seen.
}

/** Redraws the panel in place with ANSI (cursor up, clear below). */
class PanelDisplay {
  #drawn = 0;
  #view: WatchView;
  constructor(view: WatchView) {
    this.#view = view;
  }
  update(_kind?: "state" | "progress"): void {
    const columns = process.stdout.columns || 120;
    const lines = renderPanel(this.#view, { colour: true })
      .map((line) => truncate(line, columns - 1));
    const back = this.#drawn > 0 ? `\r\x1b[${this.#drawn}A\x1b[J` : "";
    process.stdout.write(`${back}${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }
}

/** Cuts a line to `width` visible characters (ANSI styles do not count). */
function truncate(line: string, width: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\x1b") {
      const end = line.indexOf("m", i);
      if (end !== -1) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) break;
    out += line[i];
    visible++;
  }
  return out;
}

/** Prints one line per change, skipping lines identical to the last of their kind. */
class LineDisplay {
  #last = new Map<string, string>();
  #view: WatchView;
  constructor(view: WatchView) {
    this.#view = view;
    console.log(
      `watching ${printable(view.taskName)} task '${printable(view.key)}' on docket '${
        printable(view.docket)
      }'`,
    );
  }
  update(kind: "state" | "progress"): void {
    const line = renderLine(kind, this.#view);
    if (line === undefined || this.#last.get(kind) === line) return;
    this.#last.set(kind, line);
    console.log(line);
  }
}

/** How often the fallback check reads the task, in case a pub/sub message was lost. */
const FALLBACK_CHECK_MS = 2_000;

/**
 * Watches the execution until it ends; resolves with its terminal state.
 *
 * @example
 * ```ts ignore
 * import { watchExecution } from "./watch_command.ts";
 * const state = await watchExecution(docket, execution, { terminal: false });
 * ```
 */
export async function watchExecution(
  docket: { name: string; getExecution(key: string): Promise<Execution | null> },
  execution: Execution,
  options: { terminal: boolean; fallbackCheckMs?: number },
): Promise<ExecutionState> {
  const view: WatchView = {
    key: execution.key,
    taskName: execution.taskName,
    docket: docket.name,
    state: execution.state,
    when: execution.when,
  };
  const display = options.terminal ? new PanelDisplay(view) : new LineDisplay(view);
  const timers: ReturnType<typeof setInterval>[] = [];
  let settle!: (state: ExecutionState) => void;
  const ended = new Promise<ExecutionState>((resolve) => (settle = resolve));
  let done = false;
  const observe = (event: ExecutionEvent) => {
    if (done) return;
    apply(view, event);
    display.update(event.type);
    if (TERMINAL_STATES.has(view.state)) {
      done = true;
      settle(view.state);
    }
  };

  // Ends at the terminal event; a failing subscription rejects, and so does the watch.
  const following = (async () => {
    for await (const event of execution.subscribe()) {
      observe(event);
      if (done) break;
    }
  })();
  if (options.terminal) {
    // Keeps "running for …" current between events.
    timers.push(setInterval(() => {
      if (!done && view.state === ExecutionState.RUNNING) display.update("state");
    }, 1_000));
  }
  // A safety net, not the driver: if a pub/sub message is lost (a reconnect), the end of the
  // task is still noticed.
  timers.push(setInterval(async () => {
    if (done) return;
    try {
      const latest = await docket.getExecution(execution.key);
      if (!latest || done || !TERMINAL_STATES.has(latest.state)) return;
      observe({
        type: "state",
        key: latest.key,
        state: latest.state,
        when: latest.when,
        worker: latest.worker,
        startedAt: latest.startedAt,
        completedAt: latest.completedAt,
        error: latest.error,
      });
    } catch {
      // The next check, or pub/sub, will tell.
    }
  }, options.fallbackCheckMs ?? FALLBACK_CHECK_MS));

  try {
    return await Promise.race([ended, following.then(() => ended)]);
  } finally {
    for (const timer of timers) clearInterval(timer);
  }
}

/**
 * Runs `watch <key>`; resolves with the exit code: 0 completed, 1 failed, 3 cancelled.
 *
 * @example
 * ```ts ignore
 * import { runWatchCommand } from "./watch_command.ts";
 * const code = await runWatchCommand(["order-1002", "--docket", "orders"]);
 * ```
 */
export async function runWatchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: COMMON_OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(WATCH_HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] === "") {
    throw new UsageError(
      positionals.length === 0
        ? "watch needs the KEY of a task"
        : `watch takes one KEY, got ${positionals.length} arguments`,
    );
  }
  const [key] = positionals;
  const target = resolveTarget("watch", values);
  await using docket = await openDocket(target);
  const execution = await docket.getExecution(key);
  if (!execution) {
    throw new Error(
      `no task with key '${key}' on docket '${docket.name}': it never existed, or it ended ` +
        `longer ago than the docket keeps records (executionTtl)`,
    );
  }
  const state = await watchExecution(docket, execution, { terminal: stdoutIsTerminal() });
  return WATCH_EXIT_CODES[state as keyof typeof WATCH_EXIT_CODES] ?? 1;
}
