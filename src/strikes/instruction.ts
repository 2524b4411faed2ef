/**
 * Strike and restore instructions: building one from what a caller typed (checking the
 * operator, the value and the names), and describing one for logs and the CLI.
 *
 * @module
 */

import {
  compareOrdered,
  type Kind,
  kindOf,
  ORDERED_KINDS,
  STRIKE_OPERATORS,
  type StrikeOperator,
} from "./compare.ts";
import { encodeValue, unencodableReason } from "../codec.ts";

/** The most bytes a strike value may take encoded: strikes name ids and amounts, not documents. */
export const MAX_STRIKE_VALUE_BYTES = 16 * 1024;
/** How many characters of a strike value logs and messages show. */
const VALUE_SHOWN = 200;

/**
 * One strike or restore, as sent on the strike stream.
 *
 * - `task` only: the whole task (no `value`, `op` is `"=="`).
 * - `param` only (`task` is `null`): a condition on that argument of every task.
 * - both: a condition on that argument of that task.
 *
 * `value` is plain data (string, number, bigint, boolean, null, Date,
 * Uint8Array, arrays and plain objects of these); for `between` it is `[lo, hi]`.
 * Build one with {@linkcode makeStrikeInstruction}, which validates it.
 *
 * @example
 * ```ts
 * import type { StrikeInstruction } from "./strike_set.ts";
 * const strike: StrikeInstruction = {
 *   direction: "strike",
 *   task: "process_order",
 *   param: "amount",
 *   op: ">",
 *   value: 1000,
 * };
 * ```
 */
export interface StrikeInstruction {
  /** `"strike"` puts the condition in effect, `"restore"` lifts it. */
  direction: "strike" | "restore";
  /** The task name, or `null` for every task. */
  task: string | null;
  /** The payload key compared, or `null` for a whole-task strike. */
  param: string | null;
  /** The comparison; `"=="` for a whole-task strike. */
  op: StrikeOperator;
  /** What the argument is compared with; absent for a whole-task strike. */
  value?: unknown;
}

/**
 * Validates and normalises a strike or restore instruction.
 *
 * `op` defaults to `"=="`. Refused, with a `TypeError` (or a `RangeError` for
 * `between` bounds in the wrong order) that names the problem:
 * an unknown operator; neither a task nor a parameter; a parameter strike
 * without a value; a whole-task strike with an operator other than `"=="` or
 * with a value; an ordering operator with a value that has no order (null,
 * arrays, objects, bytes); `between` without a `[lo, hi]` pair of the same
 * orderable type with `lo <= hi`; a value that is not plain data; a value MessagePack
 * cannot carry faithfully (a bigint outside 64 bits, an invalid Date, an own `__proto__`
 * key, nesting deeper than 100 levels); NaN anywhere in the value; a value over
 * {@linkcode MAX_STRIKE_VALUE_BYTES} encoded (a `RangeError`).
 *
 * The value is copied (`structuredClone`), so later changes by the caller do not
 * leak into a strike in effect. For a whole-task strike a `null` value is
 * accepted and dropped (it is what an absent value becomes on the wire).
 *
 * @example
 * ```ts
 * import { makeStrikeInstruction } from "./strike_set.ts";
 * makeStrikeInstruction("strike", "process_payment", "amount", "between", [1000, 5000]);
 * makeStrikeInstruction("strike", null, "customerId", "==", "1001");
 * makeStrikeInstruction("restore", "process_order");
 * ```
 */
export function makeStrikeInstruction(
  direction: "strike" | "restore",
  task: string | null,
  param?: string | null,
  op?: string,
  value?: unknown,
): StrikeInstruction {
  if (direction !== "strike" && direction !== "restore") {
    throw new TypeError(
      `strike direction must be "strike" or "restore", got ${describeAny(direction)}`,
    );
  }
  const taskName = optionalName(task, "task name");
  const paramName = optionalName(param, "parameter name");
  const operator = op ?? "==";
  if (!isStrikeOperator(operator)) {
    throw new TypeError(
      `unknown strike operator ${describeAny(operator)}: use one of ${STRIKE_OPERATORS.join(", ")}`,
    );
  }
  if (taskName === null && paramName === null) {
    throw new TypeError("a strike needs a task name, a parameter name, or both");
  }

  if (paramName === null) {
    if (operator !== "==") {
      throw new TypeError(
        `a strike on the whole task ${taskName} takes no operator (got ${operator}); ` +
          "name a parameter to strike by value",
      );
    }
    if (value !== undefined && value !== null) {
      throw new TypeError(
        `a strike on the whole task ${taskName} takes no value (got ${
          renderValue(value)
        }); name a parameter to strike by value`,
      );
    }
    return { direction, task: taskName, param: null, op: "==" };
  }

  const where = `strike on ${paramName} ${operator}`;
  if (value === undefined) {
    throw new TypeError(`${where} needs a value to compare with`);
  }
  assertPlainData(value, where, "value");
  assertStorable(value, where);

  if (operator === "between") {
    if (!Array.isArray(value) || value.length !== 2) {
      throw new TypeError(`${where} needs a [lo, hi] pair, got ${renderValue(value)}`);
    }
    const [lo, hi] = value;
    for (const bound of [lo, hi]) {
      if (!ORDERED_KINDS.has(kindOf(bound))) {
        throw new TypeError(
          `${where} needs bounds with an order (number, bigint, string, boolean or Date), ` +
            `got ${kindOf(bound)} ${renderValue(bound)}`,
        );
      }
    }
    const order = compareOrdered(lo, hi);
    if (order === undefined) {
      throw new TypeError(
        `${where} needs two bounds of the same type, got ${kindOf(lo)} and ${kindOf(hi)}`,
      );
    }
    if (Number.isNaN(order)) {
      throw new RangeError(`${where} has a bound that compares with nothing (NaN)`);
    }
    if (order > 0) {
      throw new RangeError(
        `${where} needs lo <= hi, got [${renderValue(lo)}, ${renderValue(hi)}]`,
      );
    }
  } else if (operator !== "==" && operator !== "!=" && !ORDERED_KINDS.has(kindOf(value))) {
    throw new TypeError(
      `${where} needs a value with an order (number, bigint, string, boolean or Date), ` +
        `got ${kindOf(value)} ${renderValue(value)}`,
    );
  }

  return {
    direction,
    task: taskName,
    param: paramName,
    op: operator,
    value: structuredClone(value),
  };
}

/**
 * Renders a strike for people: `process_order(customerId == '1001')`,
 * `process_order` for a whole task, `*(amount > 1000)` for every task.
 *
 * @example
 * ```ts
 * import { describeStrike } from "./strike_set.ts";
 * describeStrike({ direction: "strike", task: null, param: "amount", op: ">", value: 1000 });
 * // "*(amount > 1000)"
 * ```
 */
export function describeStrike(instruction: StrikeInstruction): string {
  const task = instruction.task ?? "*";
  if (instruction.param === null) return task;
  return `${task}(${describeCondition(instruction)})`;
}

function isStrikeOperator(op: unknown): op is StrikeOperator {
  return (STRIKE_OPERATORS as readonly unknown[]).includes(op);
}

function optionalName(name: unknown, what: string): string | null {
  if (name === null || name === undefined) return null;
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`a strike's ${what} must be a non-empty string, got ${describeAny(name)}`);
  }
  return name;
}

/** Below this many levels the codec's own check (which bounds the depth) takes over. */
const CHECKED_LEVELS = 100;

function assertPlainData(value: unknown, where: string, path: string, level = 1): void {
  if (level > CHECKED_LEVELS) return;
  const kind = kindOf(value);
  switch (kind) {
    case "array":
      (value as unknown[]).forEach((item, i) =>
        assertPlainData(item, where, `${path}[${i}]`, level + 1)
      );
      return;
    case "object":
      for (const [k, item] of Object.entries(value as Record<string, unknown>)) {
        assertPlainData(item, where, `${path}.${k}`, level + 1);
      }
      return;
    case "number":
      if (Number.isNaN(value)) {
        throw new TypeError(`${where}: ${path} is NaN, which equals nothing and has no order`);
      }
      return;
    case "Date":
      if (Number.isNaN((value as Date).getTime())) {
        throw new TypeError(`${where}: ${path} is an invalid Date`);
      }
      return;
    case "undefined":
    case "function":
    case "symbol":
    case "unknown":
      throw new TypeError(
        `${where}: ${path} must be plain data (string, number, bigint, boolean, null, Date, ` +
          `Uint8Array, arrays and plain objects), got ${describeAny(value)}`,
      );
  }
}

/** Refuses what MessagePack cannot carry faithfully, and values over the size cap. */
function assertStorable(value: unknown, where: string): void {
  const problem = unencodableReason(value, "value");
  if (problem !== undefined) throw new TypeError(`${where}: ${problem}`);
  const size = encodeValue(value, "value").length;
  if (size > MAX_STRIKE_VALUE_BYTES) {
    throw new RangeError(
      `${where}: the value takes ${size} bytes encoded; a strike value may take at most ` +
        `${MAX_STRIKE_VALUE_BYTES}`,
    );
  }
}

export function describeCondition(instruction: StrikeInstruction): string {
  return `${instruction.param} ${instruction.op} ${renderValue(instruction.value)}`;
}

/** A value for people, cut to {@linkcode VALUE_SHOWN} characters. */
function renderValue(value: unknown): string {
  const text = renderFull(value);
  return text.length <= VALUE_SHOWN
    ? text
    : `${text.slice(0, VALUE_SHOWN)}… (${text.length} characters)`;
}

function renderFull(value: unknown): string {
  switch (kindOf(value)) {
    case "string":
      return `'${(value as string).replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
    case "bigint":
      return `${value}n`;
    case "Date": {
      const time = (value as Date).getTime();
      return Number.isNaN(time) ? "Date(invalid)" : `Date(${(value as Date).toISOString()})`;
    }
    case "bytes":
      return `Uint8Array(${(value as Uint8Array).length})`;
    case "array":
      return `[${(value as unknown[]).map(renderFull).join(", ")}]`;
    case "object": {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) return "{}";
      return `{ ${entries.map(([k, v]) => `${k}: ${renderFull(v)}`).join(", ")} }`;
    }
    case "function":
      return "a function";
    case "symbol":
      return (value as symbol).toString();
    case "unknown":
      return `a ${(value as object).constructor?.name ?? "object"}`;
    default:
      return String(value);
  }
}

function describeAny(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : renderValue(value);
}

export function withArticle(kind: Kind): string {
  if (kind === "null") return "null";
  return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`;
}
