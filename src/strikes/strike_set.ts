/**
 * The in-memory model of strikes: which tasks, or which task arguments, are
 * temporarily disabled. Every docket and worker keeps one, fed from the
 * docket's strike stream; this module itself does no I/O.
 *
 * @module
 */

import { canonical, evaluate, kindOf } from "./compare.ts";
export { STRIKE_OPERATORS, type StrikeOperator } from "./compare.ts";
import {
  describeCondition,
  describeStrike,
  makeStrikeInstruction,
  type StrikeInstruction,
  withArticle,
} from "./instruction.ts";
export { describeStrike, makeStrikeInstruction, type StrikeInstruction } from "./instruction.ts";

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
   * Whether this strike (as {@linkcode StrikeSet.apply} would identify it) is in effect.
   *
   * @example
   * ```ts
   * import { makeStrikeInstruction, StrikeSet } from "./strike_set.ts";
   * const strikes = new StrikeSet();
   * strikes.apply(makeStrikeInstruction("strike", "process_order"));
   * strikes.has(makeStrikeInstruction("strike", "process_order")); // true
   * ```
   */
  has(instruction: StrikeInstruction): boolean {
    return this.#all.has(strikeId(instruction));
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
