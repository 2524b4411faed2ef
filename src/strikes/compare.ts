/**
 * Comparing strike values with payload values, type-aware: values compare only with values of
 * the same kind (numbers with numbers and bigints, strings with strings, Dates by time), and a
 * comparison across kinds answers "does not apply" rather than true or false.
 *
 * @module
 */

/**
 * A comparison a parameter strike applies to a task argument.
 *
 * @example
 * ```ts
 * import type { StrikeOperator } from "./compare.ts";
 * const op: StrikeOperator = "between";
 * ```
 */
export type StrikeOperator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "between";

/**
 * Every operator a strike accepts; anything else is refused.
 *
 * @example
 * ```ts
 * import { STRIKE_OPERATORS } from "./compare.ts";
 * STRIKE_OPERATORS.includes(">="); // true
 * ```
 */
export const STRIKE_OPERATORS: readonly StrikeOperator[] = Object.freeze(
  [
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
  ] as const,
);

/** `true` / `false`, or `undefined` when the types do not compare. */
export function evaluate(
  op: StrikeOperator,
  expected: unknown,
  actual: unknown,
): boolean | undefined {
  switch (op) {
    case "==":
    case "!=": {
      const equal = sameValue(actual, expected);
      if (equal === undefined) return undefined;
      return op === "==" ? equal : !equal;
    }
    case "between": {
      const [lo, hi] = expected as [unknown, unknown];
      const low = compareOrdered(actual, lo);
      const high = compareOrdered(actual, hi);
      if (low === undefined || high === undefined) return undefined;
      return low >= 0 && high <= 0;
    }
    default: {
      const order = compareOrdered(actual, expected);
      if (order === undefined) return undefined;
      switch (op) {
        case "<":
          return order < 0;
        case "<=":
          return order <= 0;
        case ">":
          return order > 0;
        default:
          return order >= 0;
      }
    }
  }
}

export type Kind =
  | "null"
  | "number"
  | "bigint"
  | "string"
  | "boolean"
  | "Date"
  | "array"
  | "bytes"
  | "object"
  | "undefined"
  | "function"
  | "symbol"
  | "unknown";

export const ORDERED_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  "number",
  "bigint",
  "string",
  "boolean",
  "Date",
]);

export function kindOf(value: unknown): Kind {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
    case "bigint":
    case "string":
    case "boolean":
    case "undefined":
    case "function":
    case "symbol":
      return typeof value as Kind;
  }
  if (value instanceof Date) return "Date";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return "object";
  return "unknown";
}

export function isNumeric(kind: Kind): boolean {
  return kind === "number" || kind === "bigint";
}

/** Whether two kinds compare with each other at all. */
export function compatible(a: Kind, b: Kind): boolean {
  return a === b || (isNumeric(a) && isNumeric(b));
}

/**
 * Orders `a` against `b`: negative, zero or positive; `NaN` when they are of a
 * comparable type but have no order (NaN, an invalid Date); `undefined` when
 * their types do not compare, or have no order at all.
 */
export function compareOrdered(a: unknown, b: unknown): number | undefined {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (!compatible(ka, kb) || !ORDERED_KINDS.has(ka)) return undefined;
  switch (ka) {
    case "string":
      return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
    case "boolean":
      return Number(a) - Number(b);
    case "Date":
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
    default:
      return compareNumbers(a as number | bigint, b as number | bigint);
  }
}

export function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === "number" && Number.isNaN(a)) return NaN;
  if (typeof b === "number" && Number.isNaN(b)) return NaN;
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/** Type-aware equality: `undefined` when the types do not compare. */
export function sameValue(a: unknown, b: unknown): boolean | undefined {
  // null is "no value": it equals only null, whatever the other side is.
  if (a === null || b === null) return a === b;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (!compatible(ka, kb)) return undefined;
  return deepEqual(a, b);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (!compatible(ka, kb)) return false;
  switch (ka) {
    case "number":
    case "bigint":
    case "Date":
      return compareOrdered(a, b) === 0;
    case "array": {
      const x = a as unknown[];
      const y = b as unknown[];
      return x.length === y.length && x.every((item, i) => deepEqual(item, y[i]));
    }
    case "bytes": {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      return x.length === y.length && x.every((byte, i) => byte === y[i]);
    }
    case "object": {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const keys = Object.keys(x);
      if (keys.length !== Object.keys(y).length) return false;
      return keys.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]));
    }
    default:
      return a === b;
  }
}

// ---------------------------------------------------------------------------
// Identity, validation, rendering

export function canonical(value: unknown): string {
  switch (kindOf(value)) {
    case "null":
      return "null";
    case "boolean":
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `i${value}`;
    case "number": {
      const n = value as number;
      return Number.isInteger(n) ? `i${BigInt(n)}` : `n${n}`;
    }
    case "Date":
      return `d${(value as Date).getTime()}`;
    case "bytes":
      return `b${Array.from(value as Uint8Array, (byte) => byte.toString(16)).join(",")}`;
    case "array":
      return `[${(value as unknown[]).map(canonical).join(",")}]`;
    case "object": {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(",")}}`;
    }
    default:
      return `?${String(value)}`;
  }
}
