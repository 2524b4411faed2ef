/**
 * How payloads, results and errors travel: MessagePack, data only.
 *
 * Nothing in a message can execute code when it is decoded. Values MessagePack cannot carry
 * faithfully (functions, symbols, class instances, maps, sets) are refused when a task is added,
 * with an error that names the offending field, so nothing half-encoded is ever scheduled.
 *
 * @module
 */

import { Decoder, Encoder } from "@msgpack/msgpack";

const ENCODE_OPTIONS = { useBigInt64: true, ignoreUndefined: true } as const;
const DECODE_OPTIONS = { useBigInt64: true } as const;
// One encoder and one decoder for the process: making them per call allocates a 2 KB buffer each
// time. Both are safe to re-enter (they clone themselves when called while busy).
const ENCODER = new Encoder(ENCODE_OPTIONS);
const DECODER = new Decoder(DECODE_OPTIONS);
/** Deeper than this, the quick check hands over to the full one (which also detects cycles). */
const QUICK_CHECK_DEPTH = 32;

/**
 * Thrown when a value cannot travel as MessagePack; the message names the offending field.
 *
 * @example
 * ```ts
 * import { encodeValue, SerializationError } from "@docket/core";
 * try {
 *   encodeValue({ callback: () => {} }, "payload");
 * } catch (error) {
 *   error instanceof SerializationError; // true
 * }
 * ```
 */
export class SerializationError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SerializationError";
  }
}

/**
 * The deepest nesting MessagePack carries here: the top-level value is level 1, and nothing may sit
 * below level 100 (the encoder's own limit, checked first so the error names the field).
 */
export const MAX_NESTING = 100;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** How much of a field's path an error message shows. */
const PATH_SHOWN = 120;

/** Why a primitive or leaf cannot travel faithfully, if it cannot. */
function leafProblem(value: unknown, path: string): string | undefined {
  if (typeof value === "bigint" && (value < INT64_MIN || value > UINT64_MAX)) {
    return `${path} is a bigint outside the 64-bit range (${INT64_MIN}n to ${UINT64_MAX}n)`;
  }
  if (value instanceof Date && Number.isNaN(value.getTime())) return `${path} is an invalid Date`;
  return undefined;
}

function shortPath(path: string): string {
  return path.length <= PATH_SHOWN ? path : `${path.slice(0, PATH_SHOWN)}…`;
}

/** Finds the first value under `root` MessagePack cannot carry, as a path and a reason. */
function findUnencodable(
  value: unknown,
  path: string,
  seen: Set<object>,
  level = 1,
): string | undefined {
  if (level > MAX_NESTING) {
    return `${shortPath(path)} is nested deeper than ${MAX_NESTING} levels (the most it can carry)`;
  }
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return undefined;
    case "bigint":
      return leafProblem(value, path);
    case "function":
      return `${path} is a function`;
    case "symbol":
      return `${path} is a symbol`;
  }
  if (value === null || value instanceof Uint8Array) return undefined;
  if (value instanceof Date) return leafProblem(value, path);
  const object = value as object;
  if (seen.has(object)) return `${path} refers back to itself (a cycle)`;
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = findUnencodable(object[i], `${path}[${i}]`, seen, level + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const kind = proto?.constructor?.name ?? "object";
      return `${path} is a ${kind}, not plain data (use a plain object, array, string, number, ` +
        `boolean, bigint, Date or Uint8Array)`;
    }
    for (const [field, inner] of Object.entries(object)) {
      if (field === "__proto__") {
        return `${path} has an own "__proto__" key, which no worker could decode (rename it)`;
      }
      const problem = findUnencodable(inner, `${path}.${field}`, seen, level + 1);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    seen.delete(object);
  }
}

/**
 * The common case of {@linkcode findUnencodable}, without building paths: true when `value` is
 * certainly plain data. False means "look closer" (a problem, a possible cycle, or great depth).
 */
function isPlainData(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return true;
    case "bigint":
      return value >= INT64_MIN && value <= UINT64_MAX;
    case "function":
    case "symbol":
      return false;
  }
  if (value === null || value instanceof Uint8Array) return true;
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  if (depth >= QUICK_CHECK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const field in value as Record<string, unknown>) {
    if (!Object.hasOwn(value as object, field)) continue;
    if (field === "__proto__") return false;
    if (!isPlainData((value as Record<string, unknown>)[field], depth + 1)) return false;
  }
  return true;
}

/**
 * Why `value` cannot travel as MessagePack (naming the field under `what`), or `undefined` when
 * it can: what {@linkcode encodeValue} refuses, without encoding.
 *
 * @example
 * ```ts
 * import { unencodableReason } from "./codec.ts";
 * unencodableReason({ n: 2n ** 70n }, "payload"); // "payload.n is a bigint outside the 64-bit range (…)"
 * ```
 */
export function unencodableReason(value: unknown, what = "value"): string | undefined {
  if (isPlainData(value, 0)) return undefined;
  return findUnencodable(value, what, new Set());
}

/**
 * Encodes plain data as MessagePack, refusing what it cannot carry.
 *
 * @example
 * ```ts
 * import { decodeValue, encodeValue } from "@docket/core";
 * decodeValue(encodeValue({ customerId: "1001", amount: 500 })); // { customerId: "1001", amount: 500 }
 * ```
 */
export function encodeValue(value: unknown, what = "value"): Uint8Array {
  const problem = unencodableReason(value, what);
  if (problem) {
    throw new SerializationError(`cannot serialize ${problem}: MessagePack carries data only`);
  }
  return ENCODER.encode(value);
}

/**
 * Decodes MessagePack written by {@linkcode encodeValue}.
 *
 * @example
 * ```ts
 * import { decodeValue, encodeValue } from "@docket/core";
 * decodeValue(encodeValue([1, 2])); // [1, 2]
 * ```
 */
export function decodeValue(bytes: Uint8Array): unknown {
  return DECODER.decode(bytes);
}

/** An error reduced to data, so it can be stored and rebuilt elsewhere. */
export interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields that are plain data (e.g. `code`, `status`). */
  fields?: Record<string, unknown>;
}

const BUILT_IN_ERRORS: Readonly<Record<string, new (message?: string) => Error>> = Object.freeze(
  Object.assign(Object.create(null), {
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
  }),
);
/** An error record's fields sit at level 3 (record, `fields`, field), so this many levels remain. */
const FIELD_LEVELS = MAX_NESTING - 2;
/** What stands in for the part of a field nested deeper than an error record can carry. */
const TRUNCATED = `[truncated: nested deeper than ${MAX_NESTING} levels]`;

/**
 * Reduces any thrown value to an {@linkcode ErrorRecord}. A field nested too deep to store is kept
 * down to the deepest level that fits, its deeper parts replaced by a `[truncated: …]` string;
 * a field that is not plain data at all is left out.
 *
 * @example
 * ```ts
 * import { toErrorRecord } from "./codec.ts";
 * toErrorRecord(new RangeError("too big")).name; // "RangeError"
 * ```
 */
export function toErrorRecord(error: unknown): ErrorRecord {
  if (!(error instanceof Error)) {
    return { name: "Error", message: typeof error === "string" ? error : safeString(error) };
  }
  const record: ErrorRecord = {
    name: safeString(error.name),
    message: safeString(error.message),
  };
  if (error.stack !== undefined) record.stack = safeString(error.stack);
  const fields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(error)) {
    if (field === "name" || field === "message" || field === "stack" || field === "__proto__") {
      continue;
    }
    const kept = storableField(value, field);
    if (kept !== DROP) fields[field] = kept;
  }
  if (Object.keys(fields).length > 0) record.fields = fields;
  return record;
}

const DROP = Symbol("drop");

/** The value itself when it can be stored, a truncated copy when only its depth is too great. */
function storableField(value: unknown, field: string): unknown {
  const problem = findUnencodable(value, field, new Set(), MAX_NESTING - FIELD_LEVELS + 1);
  if (problem === undefined) return value;
  const truncated = truncateDeep(value, FIELD_LEVELS, new Set());
  return findUnencodable(truncated, field, new Set(), MAX_NESTING - FIELD_LEVELS + 1) === undefined
    ? truncated
    : DROP;
}

/** A copy of plain data down to `levels` levels, anything deeper replaced by a marker. */
function truncateDeep(value: unknown, levels: number, seen: Set<object>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (levels <= 1 || seen.has(value)) return TRUNCATED;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => truncateDeep(item, levels - 1, seen));
    const copy: Record<string, unknown> = {};
    for (const [field, inner] of Object.entries(value)) {
      if (field !== "__proto__") copy[field] = truncateDeep(inner, levels - 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

/**
 * Rebuilds an `Error` from its record: built-in classes come back as their class, others as an
 * `Error` with the original `name`; `message`, `stack` and data fields are kept. Only the record's
 * own data is read (a `name` such as `"constructor"` is a name, never a lookup).
 *
 * @example
 * ```ts
 * import { fromErrorRecord } from "./codec.ts";
 * fromErrorRecord({ name: "TypeError", message: "bad" }) instanceof TypeError; // true
 * ```
 */
export function fromErrorRecord(record: ErrorRecord): Error {
  const name = typeof record?.name === "string" ? record.name : "Error";
  const message = typeof record?.message === "string"
    ? record.message
    : safeString(record?.message);
  const ErrorClass = Object.hasOwn(BUILT_IN_ERRORS, name) ? BUILT_IN_ERRORS[name] : Error;
  const error = new ErrorClass(message);
  if (error.name !== name) {
    Object.defineProperty(error, "name", { value: name, configurable: true, writable: true });
  }
  if (typeof record?.stack === "string") {
    Object.defineProperty(error, "stack", {
      value: record.stack,
      configurable: true,
      writable: true,
    });
  }
  const fields = record?.fields;
  if (fields !== null && typeof fields === "object") {
    for (const [field, value] of Object.entries(fields)) {
      if (field === "name" || field === "message" || field === "stack") continue;
      Object.defineProperty(error, field, {
        value,
        configurable: true,
        writable: true,
        enumerable: true,
      });
    }
  }
  return error;
}

/** One line describing an error, as the execution's `error` field shows it; never throws. */
export function describeError(error: unknown): string {
  try {
    const record = toErrorRecord(error);
    return `${record.name}: ${record.message}`;
  } catch {
    return "Error: (an error that cannot be described)";
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "(unprintable value)";
  }
}
