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

/** Finds the first value under `root` MessagePack cannot carry, as a path and a reason. */
function findUnencodable(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return undefined;
    case "function":
      return `${path} is a function`;
    case "symbol":
      return `${path} is a symbol`;
  }
  if (value === null || value instanceof Date || value instanceof Uint8Array) return undefined;
  const object = value as object;
  if (seen.has(object)) return `${path} refers back to itself (a cycle)`;
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = findUnencodable(object[i], `${path}[${i}]`, seen);
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
      const problem = findUnencodable(inner, `${path}.${field}`, seen);
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
    case "bigint":
    case "undefined":
      return true;
    case "function":
    case "symbol":
      return false;
  }
  if (value === null || value instanceof Date || value instanceof Uint8Array) return true;
  if (depth >= QUICK_CHECK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const field in value as Record<string, unknown>) {
    if (!Object.hasOwn(value as object, field)) continue;
    if (!isPlainData((value as Record<string, unknown>)[field], depth + 1)) return false;
  }
  return true;
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
  if (!isPlainData(value, 0)) {
    const problem = findUnencodable(value, what, new Set());
    if (problem) {
      throw new SerializationError(`cannot serialize ${problem}: MessagePack carries data only`);
    }
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

const BUILT_IN_ERRORS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Reduces any thrown value to an {@linkcode ErrorRecord}.
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
  const record: ErrorRecord = { name: error.name, message: error.message, stack: error.stack };
  const fields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(error)) {
    if (field === "name" || field === "message" || field === "stack") continue;
    if (findUnencodable(value, field, new Set()) === undefined) fields[field] = value;
  }
  if (Object.keys(fields).length > 0) record.fields = fields;
  return record;
}

/**
 * Rebuilds an `Error` from its record: built-in classes come back as their class, others as an
 * `Error` with the original `name`; `message`, `stack` and data fields are kept.
 *
 * @example
 * ```ts
 * import { fromErrorRecord } from "./codec.ts";
 * fromErrorRecord({ name: "TypeError", message: "bad" }) instanceof TypeError; // true
 * ```
 */
export function fromErrorRecord(record: ErrorRecord): Error {
  const ErrorClass = BUILT_IN_ERRORS[record.name] ?? Error;
  const error = new ErrorClass(record.message);
  if (error.name !== record.name) {
    Object.defineProperty(error, "name", {
      value: record.name,
      configurable: true,
      writable: true,
    });
  }
  if (record.stack !== undefined) {
    Object.defineProperty(error, "stack", {
      value: record.stack,
      configurable: true,
      writable: true,
    });
  }
  if (record.fields) Object.assign(error, record.fields);
  return error;
}

/** One line describing an error, as the execution's `error` field shows it. */
export function describeError(error: unknown): string {
  const record = toErrorRecord(error);
  return `${record.name}: ${record.message}`;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "(unprintable value)";
  }
}
