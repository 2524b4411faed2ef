/**
 * Short, log-safe renderings of task calls, e.g.
 * `process_payment(customerId='12345', creditCard=..., amount=150)`.
 *
 * Only payload keys explicitly allowed by a {@link LoggedSpec} have their value (or size) shown;
 * every other argument is rendered as `name=...`, so secrets never reach the logs.
 *
 * This module is pure: it has no dependencies and never throws.
 *
 * @module
 */

/**
 * Which payload keys may appear in logs. `true` shows the value, `"length"` shows only its size
 * (`[len N]` for strings, arrays and typed arrays; `{len N}` for objects, Maps and Sets).
 * Keys that are absent are rendered as `name=...`.
 *
 * @example
 * ```ts
 * const logged: LoggedSpec = { customerId: true, userIds: "length" };
 * ```
 */
export type LoggedSpec = Record<string, true | "length">;

/** Longest rendering of a single logged value before it is cut with an ellipsis. */
const MAX_VALUE_CHARS = 80;
/** How deep nested arrays/objects are rendered before being summarised. */
const MAX_DEPTH = 3;
const ELLIPSIS = "…";
const HIDDEN = "...";
const UNREPRESENTABLE = "<?>";

/**
 * Render a task invocation for logs.
 *
 * Arguments appear in the payload's key order as `name=value`. Values are shown only for keys
 * marked `true` in `logged`; keys marked `"length"` show their size; all other keys show `...`.
 * When `key` is given it is appended in braces. Never throws: values that cannot be rendered
 * (throwing getters, revoked proxies, ...) are replaced by a short placeholder.
 *
 * @param taskName Name of the task function.
 * @param payload The task's arguments, by name (undefined for none).
 * @param logged Which arguments may be shown; when omitted every argument is hidden.
 * @param key The task key, appended as `{key}` when given.
 * @returns A one-line representation such as `fn(a=1, b=...){key-1}`.
 *
 * @example
 * ```ts
 * formatCall(
 *   "process_payment",
 *   { customerId: "12345", creditCard: "4111111111111111", amount: 150 },
 *   { customerId: true, amount: true },
 * ); // "process_payment(customerId='12345', creditCard=..., amount=150)"
 * formatCall("fn", { a: 1 }, undefined, "order-1"); // "fn(a=...){order-1}"
 * ```
 */
export function formatCall(
  taskName: string,
  payload: Record<string, unknown> | undefined,
  logged?: LoggedSpec,
  key?: string,
): string {
  let args: string;
  try {
    args = formatArgs(payload, logged);
  } catch {
    args = UNREPRESENTABLE;
  }
  const suffix = key === undefined ? "" : `{${String(key)}}`;
  return `${String(taskName)}(${args})${suffix}`;
}

function formatArgs(
  payload: Record<string, unknown> | undefined,
  logged: LoggedSpec | undefined,
): string {
  if (payload === undefined || payload === null || typeof payload !== "object") return "";
  const parts: string[] = [];
  for (const name of Object.keys(payload)) {
    const mode = loggedMode(logged, name);
    if (mode === undefined) {
      parts.push(`${name}=${HIDDEN}`);
      continue;
    }
    let rendered: string;
    try {
      const value = payload[name];
      rendered = mode === "length" ? formatLength(value) : formatValue(value);
    } catch {
      rendered = UNREPRESENTABLE;
    }
    parts.push(`${name}=${rendered}`);
  }
  return parts.join(", ");
}

function loggedMode(
  logged: LoggedSpec | undefined,
  name: string,
): true | "length" | undefined {
  if (logged === undefined || logged === null) return undefined;
  try {
    // Own properties only: "toString" etc. on the prototype must not unlock a value.
    if (!Object.prototype.hasOwnProperty.call(logged, name)) return undefined;
    const mode = logged[name];
    return mode === true || mode === "length" ? mode : undefined;
  } catch {
    return undefined;
  }
}

/** Size-only rendering for arguments marked `"length"`. */
function formatLength(value: unknown): string {
  if (typeof value === "string" || Array.isArray(value)) return `[len ${value.length}]`;
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: unknown }).length;
    return `[len ${typeof length === "number" ? length : value.byteLength}]`;
  }
  if (value instanceof ArrayBuffer) return `[len ${value.byteLength}]`;
  if (value instanceof Map || value instanceof Set) return `{len ${value.size}}`;
  if (value !== null && typeof value === "object") return `{len ${Object.keys(value).length}}`;
  // Values without a size stay hidden: "length" never reveals the value itself.
  return HIDDEN;
}

/** Full (but bounded) rendering for arguments marked `true`. */
function formatValue(value: unknown): string {
  if (typeof value === "string") return quote(value, MAX_VALUE_CHARS);
  const out = new BoundedWriter(MAX_VALUE_CHARS);
  try {
    writeValue(out, value, 0, new Set());
  } catch (error) {
    if (!(error instanceof Truncated)) throw error;
  }
  return out.result();
}

/** Thrown internally to stop rendering once the character budget is exhausted. */
class Truncated extends Error {}

class BoundedWriter {
  #text = "";
  #truncated = false;
  constructor(readonly limit: number) {}

  write(piece: string): void {
    if (this.#text.length + piece.length > this.limit) {
      this.#text += piece.slice(0, Math.max(0, this.limit - 1 - this.#text.length));
      this.#truncated = true;
      throw new Truncated();
    }
    this.#text += piece;
  }

  result(): string {
    return this.#truncated ? this.#text + ELLIPSIS : this.#text;
  }
}

function writeValue(out: BoundedWriter, value: unknown, depth: number, seen: Set<object>): void {
  if (value === null || typeof value !== "object") {
    out.write(formatScalar(value));
    return;
  }
  if (value instanceof Date) {
    out.write(formatDate(value));
    return;
  }
  if (seen.has(value)) {
    out.write("[Circular]");
    return;
  }
  seen.add(value);
  try {
    writeContainer(out, value, depth, seen);
  } finally {
    seen.delete(value);
  }
}

function writeContainer(out: BoundedWriter, value: object, depth: number, seen: Set<object>) {
  const nested = (child: () => unknown) => {
    let item: unknown;
    try {
      item = child();
    } catch {
      out.write(UNREPRESENTABLE);
      return;
    }
    writeValue(out, item, depth + 1, seen);
  };

  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    const prefix = Array.isArray(value) ? "" : `${constructorName(value) ?? "TypedArray"}`;
    if (depth >= MAX_DEPTH) {
      out.write(`${prefix}[len ${list.length ?? 0}]`);
      return;
    }
    out.write(`${prefix}[`);
    const length = typeof list.length === "number" ? list.length : 0;
    for (let i = 0; i < length; i++) {
      if (i > 0) out.write(", ");
      nested(() => list[i]);
    }
    out.write("]");
    return;
  }

  if (value instanceof Map) {
    if (depth >= MAX_DEPTH) {
      out.write(`Map{len ${value.size}}`);
      return;
    }
    out.write("Map{");
    let first = true;
    for (const [k, v] of value) {
      if (!first) out.write(", ");
      first = false;
      writeValue(out, k, depth + 1, seen);
      out.write(": ");
      writeValue(out, v, depth + 1, seen);
    }
    out.write("}");
    return;
  }

  if (value instanceof Set) {
    if (depth >= MAX_DEPTH) {
      out.write(`Set{len ${value.size}}`);
      return;
    }
    out.write("Set{");
    let first = true;
    for (const item of value) {
      if (!first) out.write(", ");
      first = false;
      writeValue(out, item, depth + 1, seen);
    }
    out.write("}");
    return;
  }

  if (value instanceof Error) {
    out.write(`${safeString(value.name) || "Error"}(${quote(safeString(value.message), 60)})`);
    return;
  }

  const name = constructorName(value);
  const prefix = name === undefined || name === "Object" ? "" : name;
  const keys = Object.keys(value);
  if (depth >= MAX_DEPTH) {
    out.write(`${prefix}{len ${keys.length}}`);
    return;
  }
  out.write(`${prefix}{`);
  keys.forEach((k, i) => {
    if (i > 0) out.write(", ");
    out.write(`${formatKey(k)}: `);
    nested(() => (value as Record<string, unknown>)[k]);
  });
  out.write("}");
}

function formatScalar(value: unknown): string {
  switch (typeof value) {
    case "string":
      return quote(value, MAX_VALUE_CHARS);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "symbol":
      return `Symbol(${safeString(value.description)})`;
    case "function":
      return `<function ${safeString(value.name) || "anonymous"}>`;
    default:
      return value === null ? "null" : UNREPRESENTABLE;
  }
}

function formatDate(value: Date): string {
  const time = value.getTime();
  return Number.isNaN(time) ? "'Invalid Date'" : `'${new Date(time).toISOString()}'`;
}

/** Quote `text` in single quotes, escaping quotes, backslashes and control characters. */
function quote(text: string, maxChars: number): string {
  const cut = text.length > maxChars;
  const body = cut ? text.slice(0, maxChars - 1) : text;
  return `'${escapeString(body)}${cut ? ELLIPSIS : ""}'`;
}

function escapeString(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\\'\u0000-\u001f\u007f]/g, (ch) => {
    switch (ch) {
      case "\\":
        return "\\\\";
      case "'":
        return "\\'";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
    }
  });
}

function formatKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key, 40);
}

function constructorName(value: object): string | undefined {
  try {
    const proto = Object.getPrototypeOf(value);
    if (proto === null) return undefined;
    const name = proto.constructor?.name;
    return typeof name === "string" && name !== "" ? name : undefined;
  } catch {
    return undefined;
  }
}

function safeString(value: unknown): string {
  try {
    return value === undefined || value === null ? "" : String(value);
  } catch {
    return "";
  }
}
