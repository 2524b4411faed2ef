/**
 * The in-memory model of strikes: which tasks, or which task arguments, are
 * temporarily disabled. Every docket and worker keeps one, fed from the
 * docket's strike stream; this module itself does no I/O.
 *
 * @module
 */

import {
  canonical,
  compareOrdered,
  evaluate,
  type Kind,
  kindOf,
  ORDERED_KINDS,
  STRIKE_OPERATORS,
  type StrikeOperator,
} from "./compare.ts";
export { STRIKE_OPERATORS, type StrikeOperator } from "./compare.ts";

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
 * orderable type with `lo <= hi`; a value that is not plain data.
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

/**
 * An extra, in-process strike condition (e.g. `runAtMost` counting runs):
 * returns `true` to strike the task.
 *
 * @example
 * ```ts
 * import type { StrikeCondition } from "./strike_set.ts";
 * const onlyOnce: StrikeCondition = (_task, key) => key === "done-already";
 * ```
 */
export type StrikeCondition = (
  taskName: string,
  key: string,
  payload: Record<string, unknown>,
) => boolean;

interface ParamStrike {
  readonly id: string;
  readonly instruction: StrikeInstruction;
}

/** param name → strike id → strike */
type ParamIndex = Map<string, Map<string, ParamStrike>>;

/**
 * The strikes in effect, and the test of whether a task is struck.
 *
 * A task is struck when ANY strike in effect matches it (the strikes combine
 * with OR): a whole-task strike on its name; a parameter strike on its name
 * whose condition holds for that payload key; a parameter strike on every task
 * (`task: null`) whose condition holds; or an extra condition added with
 * {@linkcode StrikeSet.addCondition}. So with both
 * `process_order(customerId == '12345')` and `process_order(amount > 1000)` in
 * effect, the order `{ customerId: "67890", amount: 2000 }` is struck too: the
 * amount condition alone matches. Strikes are not combined with AND.
 *
 * A whole-task strike and parameter strikes on the same task are separate
 * entries: each is restored on its own, and restoring one leaves the others in
 * force. Strike and restore are idempotent, and restoring what is not struck
 * changes nothing.
 *
 * Comparisons are type-aware: numbers compare with numbers (and bigints),
 * strings with strings, booleans with booleans (`false < true`), Dates by time;
 * `null` only with `==` / `!=` (it equals only `null`); arrays, objects and
 * bytes only with `==` / `!=`, deep-equal. A value of another type does not
 * match and is reported through `warn`; a payload without the key does not
 * match, silently. `between` includes both bounds.
 *
 * @example
 * ```ts
 * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
 * const strikes = new StrikeSet();
 * strikes.apply(makeStrikeInstruction("strike", "process_order", "amount", ">", 1000));
 * strikes.isStruck("process_order", "order-1", { customerId: "67890", amount: 2000 }); // true
 * strikes.isStruck("process_order", "order-2", { customerId: "67890", amount: 500 }); // false
 * ```
 */
export class StrikeSet {
  /** Whole-task strikes, by task name. */
  #wholeTasks = new Set<string>();
  /** Parameter strikes on one task, by task name. */
  #byTask = new Map<string, ParamIndex>();
  /** Parameter strikes on every task. */
  #anyTask: ParamIndex = new Map();
  /** Every strike in effect, by id, in the order they were struck. */
  #all = new Map<string, StrikeInstruction>();
  #conditions = new Set<StrikeCondition>();

  /**
   * Applies a strike or restore. Returns `true` if that changed what is in
   * effect. The instruction is validated as by {@linkcode makeStrikeInstruction}
   * (a `TypeError` or `RangeError` if it is not valid).
   *
   * @example
   * ```ts
   * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * strikes.apply(makeStrikeInstruction("strike", "process_order")); // true
   * strikes.apply(makeStrikeInstruction("strike", "process_order")); // false
   * ```
   */
  apply(instruction: StrikeInstruction): boolean {
    const normal = makeStrikeInstruction(
      instruction.direction,
      instruction.task,
      instruction.param,
      instruction.op,
      instruction.value,
    );
    const id = strikeId(normal);
    if (normal.direction === "strike") {
      if (this.#all.has(id)) return false;
      const entry: StrikeInstruction = { ...normal, direction: "strike" };
      this.#all.set(id, entry);
      if (entry.param === null) {
        this.#wholeTasks.add(entry.task!);
      } else {
        let index = entry.task === null ? this.#anyTask : this.#byTask.get(entry.task);
        if (index === undefined) {
          index = new Map();
          this.#byTask.set(entry.task!, index);
        }
        let strikes = index.get(entry.param);
        if (strikes === undefined) {
          strikes = new Map();
          index.set(entry.param, strikes);
        }
        strikes.set(id, { id, instruction: entry });
      }
      return true;
    }

    if (!this.#all.delete(id)) return false;
    if (normal.param === null) {
      this.#wholeTasks.delete(normal.task!);
    } else {
      const index = normal.task === null ? this.#anyTask : this.#byTask.get(normal.task)!;
      const strikes = index.get(normal.param)!;
      strikes.delete(id);
      if (strikes.size === 0) index.delete(normal.param);
      if (normal.task !== null && index.size === 0) this.#byTask.delete(normal.task);
    }
    return true;
  }

  /**
   * Whether a task with this name, key and payload is struck (see the class
   * notes for the rules). `warn` receives a message for each parameter strike
   * that could not be applied because the argument has another type.
   *
   * @example
   * ```ts
   * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * strikes.apply(makeStrikeInstruction("strike", null, "customerId", "==", "1001"));
   * strikes.isStruck("send_email", "k1", { customerId: "1001" }); // true
   * strikes.isStruck("send_email", "k2", { customerId: 1001 }, console.warn); // false, warns
   * ```
   */
  isStruck(
    taskName: string,
    key: string,
    payload: Record<string, unknown>,
    warn?: (message: string) => void,
  ): boolean {
    if (this.#wholeTasks.has(taskName)) return true;
    const args: Record<string, unknown> = payload ?? {};
    const own = this.#byTask.get(taskName);
    if (own !== undefined && matchesAny(own, taskName, args, warn)) return true;
    if (matchesAny(this.#anyTask, taskName, args, warn)) return true;
    for (const condition of this.#conditions) {
      if (condition(taskName, key, args)) return true;
    }
    return false;
  }

  /**
   * Adds an extra in-process condition; a task is struck when it returns `true`.
   * Adding the same function again changes nothing.
   *
   * @example
   * ```ts
   * import { StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * const blockKey = (_task: string, key: string) => key === "nightly";
   * strikes.addCondition(blockKey);
   * strikes.isStruck("cleanup", "nightly", {}); // true
   * ```
   */
  addCondition(fn: StrikeCondition): void {
    this.#conditions.add(fn);
  }

  /**
   * Removes a condition added with {@linkcode StrikeSet.addCondition}; returns
   * whether it was there.
   *
   * @example
   * ```ts
   * import { StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * const never = () => false;
   * strikes.addCondition(never);
   * strikes.removeCondition(never); // true
   * ```
   */
  removeCondition(fn: StrikeCondition): boolean {
    return this.#conditions.delete(fn);
  }

  /**
   * How many strikes are in effect (conditions are not counted).
   *
   * @example
   * ```ts
   * import { StrikeSet } from "./strike_set.ts";
   * new StrikeSet().size; // 0
   * ```
   */
  get size(): number {
    return this.#all.size;
  }

  /**
   * The strikes in effect, oldest first, each with `direction: "strike"`.
   *
   * @example
   * ```ts
   * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * strikes.apply(makeStrikeInstruction("strike", "process_order"));
   * strikes.entries().map((s) => strikes.describe(s)); // ["process_order"]
   * ```
   */
  entries(): StrikeInstruction[] {
    return [...this.#all.values()].map((entry) => structuredClone(entry));
  }

  /**
   * Renders a strike as {@linkcode describeStrike} does.
   *
   * @example
   * ```ts
   * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
   * new StrikeSet().describe(
   *   makeStrikeInstruction("strike", "process_order", "customerId", "==", "1001"),
   * ); // "process_order(customerId == '1001')"
   * ```
   */
  describe(instruction: StrikeInstruction): string {
    return describeStrike(instruction);
  }
}

// ---------------------------------------------------------------------------
// Matching

function matchesAny(
  index: ParamIndex,
  taskName: string,
  payload: Record<string, unknown>,
  warn: ((message: string) => void) | undefined,
): boolean {
  for (const [param, strikes] of index) {
    if (!Object.hasOwn(payload, param)) continue;
    const actual = payload[param];
    if (actual === undefined) continue;
    for (const { instruction } of strikes.values()) {
      const result = evaluate(instruction.op, instruction.value, actual);
      if (result === true) return true;
      if (result === undefined && warn !== undefined) {
        const expected = instruction.op === "between"
          ? kindOf((instruction.value as unknown[])[0])
          : kindOf(instruction.value);
        warn(
          `strike on ${describeCondition(instruction)} (${expected}) not applied to ` +
            `${taskName}: its ${param} is ${withArticle(kindOf(actual))}`,
        );
      }
    }
  }
  return false;
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

function assertPlainData(value: unknown, where: string, path: string): void {
  const kind = kindOf(value);
  switch (kind) {
    case "array":
      (value as unknown[]).forEach((item, i) => assertPlainData(item, where, `${path}[${i}]`));
      return;
    case "object":
      for (const [k, item] of Object.entries(value as Record<string, unknown>)) {
        assertPlainData(item, where, `${path}.${k}`);
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

function describeCondition(instruction: StrikeInstruction): string {
  return `${instruction.param} ${instruction.op} ${renderValue(instruction.value)}`;
}

function renderValue(value: unknown): string {
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
      return `[${(value as unknown[]).map(renderValue).join(", ")}]`;
    case "object": {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) return "{}";
      return `{ ${entries.map(([k, v]) => `${k}: ${renderValue(v)}`).join(", ")} }`;
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

function withArticle(kind: Kind): string {
  if (kind === "null") return "null";
  return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * A string that is the same for two strikes exactly when restoring one lifts
 * the other. Integral numbers and bigints of equal value share an identity, as
 * a bigint may come back from MessagePack as a number.
 */
function strikeId(instruction: StrikeInstruction): string {
  if (instruction.param === null) return JSON.stringify(["task", instruction.task]);
  return JSON.stringify([
    "param",
    instruction.task,
    instruction.param,
    instruction.op,
    canonical(instruction.value),
  ]);
}
