/**
 * Logging for docket: a thin layer over pino that picks the level from `DOCKET_LOG_LEVEL`,
 * writes JSON lines or a compact human-readable format, and works the same on Deno, Bun and Node.
 *
 * All output is written synchronously, in-process (no worker-thread transports).
 *
 * Note: on Deno, importing pino needs `--allow-env` and `--allow-sys` (pino reads the hostname
 * and a few environment variables when it loads).
 *
 * @module
 */

import { printable } from "./printable.ts";
import pino from "pino";
import { readEnv, stdoutIsTerminal, stdoutSyncWriter } from "../runtime.ts";

/**
 * The logger type used throughout docket (pino's `Logger`).
 *
 * @example
 * ```ts
 * const logger: Logger = createLogger();
 * logger.child({ worker: "w1" }).info({ key: "order-1" }, "task started");
 * ```
 */
export type Logger = import("pino").Logger;

/**
 * Output format: `"json"` (one pino JSON object per line), `"pretty"` (one readable line per
 * record) or `"auto"` (pretty when writing to a terminal, JSON otherwise).
 *
 * @example
 * ```ts
 * const format: LogFormat = "pretty";
 * ```
 */
export type LogFormat = "json" | "pretty" | "auto";

/**
 * Options for {@link createLogger}.
 *
 * - `level`: a pino level name (`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent`);
 *   defaults to the `DOCKET_LOG_LEVEL` environment variable, else `"info"`.
 * - `format`: see {@link LogFormat}; defaults to `"auto"`.
 * - `destination`: receives each output line (newline-terminated) instead of stdout,
 *   synchronously. With a destination, `"auto"` means JSON.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const options: LoggerOptions = {
 *   level: "debug",
 *   format: "json",
 *   destination: { write: (line) => lines.push(line) },
 * };
 * ```
 */
export interface LoggerOptions {
  /** Minimum level to emit. Defaults to `DOCKET_LOG_LEVEL`, else `defaultLevel`. */
  level?: string;
  /** The level when neither `level` nor `DOCKET_LOG_LEVEL` is given. Defaults to `"info"`. */
  defaultLevel?: string;
  /** Output format. Defaults to `"auto"`. */
  format?: LogFormat;
  /** Where lines go instead of stdout; called synchronously once per record. */
  destination?: { write(line: string): void };
}

/** Environment variable consulted for the default level. */
const LEVEL_ENV = "DOCKET_LOG_LEVEL";
const FORMATS: readonly LogFormat[] = ["json", "pretty", "auto"];
/** Keys of pino records that the pretty format shows elsewhere or omits. */
const PRETTY_SKIPPED = new Set(["level", "time", "msg", "pid", "hostname", "name"]);
const FIELD_MAX_CHARS = 60;

type LineSink = { write(line: string): void };

/**
 * Create docket's logger: a pino logger named `"docket"`.
 *
 * The level comes from `options.level`, else `DOCKET_LOG_LEVEL`, else `"info"`; unknown level
 * names are rejected. Output goes to `options.destination` when given, else to stdout, as JSON
 * lines or as pretty single lines (see {@link LogFormat}).
 *
 * @param options Level, format and destination; all optional.
 * @returns A pino logger.
 * @throws {Error} If the level (from options or the environment) or the format is unknown.
 *
 * @example
 * ```ts
 * const logger = createLogger({ format: "pretty" });
 * logger.info({ key: "order-1", worker: "w1" }, "↪ process_order(customerId='1001')");
 * // 14:03:07.123 INFO  ↪ process_order(customerId='1001') {key=order-1, worker=w1}
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = resolveLevel(options.level, options.defaultLevel);
  const format = options.format ?? "auto";
  if (!FORMATS.includes(format)) {
    throw new Error(
      `Unknown log format ${JSON.stringify(format)}; expected one of: ${FORMATS.join(", ")}`,
    );
  }

  const custom = options.destination;
  const sink: LineSink = custom ? { write: (line) => custom.write(line) } : stdoutSink();
  const pretty = format === "pretty" || (format === "auto" && !custom && stdoutIsTerminal());
  const stream: LineSink = pretty ? { write: (line) => sink.write(formatPrettyLine(line)) } : sink;

  return pino({ name: "docket", level }, stream);
}

/**
 * Render a duration in a fixed width of 8 characters: milliseconds below 100 s
 * (6 digits right-aligned plus `"ms"`), whole seconds from 100 s on (6 digits plus `"s "`).
 *
 * @param ms Duration in milliseconds.
 * @returns The padded duration.
 *
 * @example
 * ```ts
 * formatDuration(1); // "     1ms"
 * formatDuration(1234); // "  1234ms"
 * formatDuration(100_000); // "   100s "
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 100_000) return `${String(Math.round(ms)).padStart(6)}ms`;
  return `${String(Math.round(ms / 1000)).padStart(6)}s `;
}

// ---------------------------------------------------------------------------------------------
// Level and environment

function allowedLevels(): string[] {
  return [...Object.keys(pino.levels.values), "silent"];
}

function resolveLevel(explicit: string | undefined, fallback = "info"): string {
  let source = "level option";
  let raw = explicit;
  if (raw === undefined) {
    const fromEnv = readEnv(LEVEL_ENV);
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      raw = fromEnv;
      source = LEVEL_ENV;
    }
  }
  if (raw === undefined) return fallback;
  const level = String(raw).trim().toLowerCase();
  const allowed = allowedLevels();
  if (!allowed.includes(level)) {
    throw new Error(
      `Unknown log level ${JSON.stringify(raw)} (from ${source}); ` +
        `expected one of: ${allowed.join(", ")}`,
    );
  }
  return level;
}

/** A synchronous line writer for stdout: the runtime's own where it has one, else pino's. */
function stdoutSink(): LineSink {
  const write = stdoutSyncWriter();
  return write ? { write } : pino.destination({ dest: 1, sync: true });
}

// ---------------------------------------------------------------------------------------------
// Pretty format

/** Turn one pino JSON line into `HH:MM:SS.mmm LEVEL message {field=value, ...}` (+ stack). */
function formatPrettyLine(line: string): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const rec = record as Record<string, unknown>;

  const label = typeof rec.level === "number"
    ? (pino.levels.labels[rec.level] ?? String(rec.level))
    : String(rec.level ?? "");
  // Keys and names in a message are whatever a producer wrote: escape what would act on a terminal.
  const message = rec.msg === undefined ? "" : printable(String(rec.msg));

  let stack: string | undefined;
  const fields: string[] = [];
  for (const [key, value] of Object.entries(rec)) {
    if (PRETTY_SKIPPED.has(key)) continue;
    if (key === "err" && isErrorRecord(value)) {
      stack = value.stack;
      continue;
    }
    fields.push(`${key}=${briefValue(value)}`);
  }

  let out = `${formatClock(rec.time)} ${label.toUpperCase().padEnd(5)} ${message}`;
  if (fields.length > 0) out += `${message === "" ? "" : " "}{${fields.join(", ")}}`;
  out += "\n";
  if (stack !== undefined) {
    for (const stackLine of stack.split("\n")) {
      if (stackLine.trim() !== "") out += `    ${printable(stackLine.trim())}\n`;
    }
  }
  return out;
}

function isErrorRecord(value: unknown): value is { stack: string } {
  return value !== null && typeof value === "object" &&
    typeof (value as { stack?: unknown }).stack === "string";
}

function formatClock(time: unknown): string {
  const date = typeof time === "number" ? new Date(time) : new Date();
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
    pad(date.getMilliseconds(), 3);
}

function briefValue(value: unknown): string {
  const text = typeof value === "string" && /^[\w.:/@+\-]*$/.test(value)
    ? value
    : JSON.stringify(value) ?? String(value);
  return text.length > FIELD_MAX_CHARS ? `${text.slice(0, FIELD_MAX_CHARS - 1)}…` : text;
}
