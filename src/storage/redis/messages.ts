/**
 * Reading node-redis replies into docket's records.
 *
 * @module
 */

import type { RunRecord, TaskMessage } from "../backend.ts";
import type { ExecutionState } from "../../types.ts";

/** A stream entry as a binary reply gives it: id and flat field/value list. */
export type RawEntry = [Uint8Array, Uint8Array[]];

const textDecoder = new TextDecoder();

/** Bytes or string to string. */
export function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  return String(value);
}

/** A flat [field, value, …] reply as a map of field name to bytes. */
export function fieldMap(flat: unknown[]): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    map.set(text(flat[i]), flat[i + 1] as Uint8Array);
  }
  return map;
}

/** Parses a task message, or explains why it is malformed. */
export function parseMessage(flat: unknown[]): TaskMessage | string {
  if (!Array.isArray(flat)) return "entry has no fields";
  const fields = fieldMap(flat);
  const missing = ["k", "t", "d", "w", "a", "g"].filter((name) => !fields.has(name));
  if (missing.length) return `missing field(s) ${missing.join(", ")}`;
  const when = Number(text(fields.get("w")));
  const attempt = Number(text(fields.get("a")));
  const generation = Number(text(fields.get("g")));
  if (![when, attempt, generation].every(Number.isFinite)) {
    return "non-numeric when, attempt or generation";
  }
  return {
    key: text(fields.get("k")),
    task: text(fields.get("t")),
    data: fields.get("d")!,
    when,
    attempt,
    generation,
  };
}

function optionalNumber(value: Uint8Array | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(text(value));
  return Number.isFinite(number) ? number : undefined;
}

function optionalText(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : text(value);
}

/** Parses a runs hash (HGETALL, binary) into a record. */
export function parseRun(key: string, flat: unknown[]): RunRecord | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const fields = fieldMap(flat);
  const state = optionalText(fields.get("state"));
  if (!state) return undefined;
  return {
    key,
    state: state as ExecutionState,
    task: optionalText(fields.get("task")),
    data: fields.get("data"),
    when: optionalNumber(fields.get("when")),
    attempt: optionalNumber(fields.get("attempt")),
    generation: optionalNumber(fields.get("gen")),
    worker: optionalText(fields.get("worker")),
    startedAt: optionalNumber(fields.get("started")),
    completedAt: optionalNumber(fields.get("completed")),
    error: optionalText(fields.get("error")),
    failure: fields.get("failure"),
    result: fields.get("result"),
  };
}
