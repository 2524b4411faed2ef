/**
 * Reading node-redis replies into docket's records.
 *
 * @module
 */

import type { RunRecord, TaskMessage } from "../backend.ts";
import type { ExecutionState } from "../../types.ts";
import { Buffer } from "node:buffer";

/** A stream entry as a binary reply gives it: id and flat field/value list. */
export type RawEntry = [Uint8Array, Uint8Array[]];

const textDecoder = new TextDecoder();

/**
 * The `data` of a parsed message that carries no payload field: a tracked task's payload is
 * stored once, in its runs record, and whoever reads the message fills it from there (the claim
 * scripts return it). Compared by identity (see {@linkcode lacksPayload}).
 */
export const NO_PAYLOAD: Uint8Array = new Uint8Array(0);

/** True when a parsed message had no payload field (its payload is in the runs record). */
export function lacksPayload(message: TaskMessage): boolean {
  return message.data === NO_PAYLOAD;
}

/** Bytes or string to string. */
export function text(value: unknown): string {
  if (typeof value === "string") return value;
  // Buffer's own UTF-8 decoding is about twice as fast as a TextDecoder on short values.
  if (Buffer.isBuffer(value)) return value.toString("utf8");
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

/** Digits only (a whole number that fits a double exactly), else NaN; no string is made. */
function wholeNumber(value: unknown): number {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > 15) return NaN;
  let number = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value[i] - 48;
    if (digit < 0 || digit > 9) return NaN;
    number = number * 10 + digit;
  }
  return number;
}

/**
 * The message as docket writes it: exactly the six one-letter fields (five for a tracked task,
 * whose payload is in its runs record), as bytes, with whole numbers. Anything else (undefined
 * here) goes through the general parser below.
 */
function parseUsualMessage(flat: unknown[]): TaskMessage | undefined {
  if (flat.length !== 12 && flat.length !== 10) return undefined;
  let key: string | undefined;
  let task: string | undefined;
  let data: Uint8Array | undefined;
  let when = NaN;
  let attempt = NaN;
  let generation = NaN;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    if (!(name instanceof Uint8Array) || name.length !== 1) return undefined;
    const value = flat[i + 1];
    switch (name[0]) {
      case 0x6b: // k
        key = text(value);
        break;
      case 0x74: // t
        task = text(value);
        break;
      case 0x64: // d
        if (!(value instanceof Uint8Array)) return undefined;
        data = value;
        break;
      case 0x77: // w
        when = wholeNumber(value);
        break;
      case 0x61: // a
        attempt = wholeNumber(value);
        break;
      case 0x67: // g
        generation = wholeNumber(value);
        break;
      default:
        return undefined;
    }
  }
  if (
    key === undefined || task === undefined || Number.isNaN(when) ||
    Number.isNaN(attempt) || Number.isNaN(generation) ||
    (data === undefined) !== (flat.length === 10)
  ) {
    return undefined;
  }
  if (data === undefined && generation === 0) return undefined;
  return { key, task, data: data ?? NO_PAYLOAD, when, attempt, generation };
}

/**
 * Parses a task message, or explains why it is malformed. A tracked message (generation above 0)
 * may lack its payload field `d`: its `data` is then {@linkcode NO_PAYLOAD}.
 */
export function parseMessage(flat: unknown[]): TaskMessage | string {
  if (!Array.isArray(flat)) return "entry has no fields";
  const usual = parseUsualMessage(flat);
  if (usual) return usual;
  const fields = fieldMap(flat);
  // A tracked message (a generation above 0) may lack its payload: it is in the runs record.
  const tracked = fields.has("g") && Number(text(fields.get("g"))) !== 0;
  const missing = ["k", "t", "d", "w", "a", "g"].filter((name) =>
    !fields.has(name) && !(name === "d" && tracked)
  );
  if (missing.length) return `missing field(s) ${missing.join(", ")}`;
  const when = Number(text(fields.get("w")));
  const attempt = Number(text(fields.get("a")));
  const generation = Number(text(fields.get("g")));
  if (![when, attempt, generation].every(Number.isFinite)) {
    return "non-numeric when, attempt or generation";
  }
  const message: TaskMessage = {
    key: text(fields.get("k")),
    task: text(fields.get("t")),
    data: fields.get("d") ?? NO_PAYLOAD,
    when,
    attempt,
    generation,
  };
  const traceContext = fields.get("p");
  if (traceContext !== undefined) message.traceContext = text(traceContext);
  return message;
}

/**
 * The attempt of a runs record without an `attempt` field: a first attempt's record leaves it out
 * (records written by earlier versions have it, always).
 */
const FIRST_ATTEMPT = 1;

/** The runs record's fields a future task's message is built from, in this order (HMGET). */
export const RUN_MESSAGE_FIELDS = ["state", "task", "data", "when", "attempt", "gen", "p"] as const;

/**
 * The message of a tracked future task, from its runs record (`RUN_MESSAGE_FIELDS`, binary
 * HMGET) and its `score` in the queue, as `move_due` writes it; or why there is none (not
 * scheduled, or a field missing). A missing attempt is the first, as in {@linkcode parseRun}; a
 * missing due time is the score (the schedule script leaves it to the queue).
 */
export function messageFromRun(
  key: string,
  values: unknown[],
  score: string,
): TaskMessage | string {
  if (!Array.isArray(values) || values.length !== RUN_MESSAGE_FIELDS.length) return "no record";
  const [state, task, data, when, attempt, generation, traceContext] = values;
  if (state == null || text(state) !== "scheduled") return "not scheduled";
  if (task == null || !(data instanceof Uint8Array) || generation == null) {
    return "record is missing fields";
  }
  const message: TaskMessage = {
    key,
    task: text(task),
    data,
    when: Number(when == null ? score : text(when)),
    attempt: attempt == null ? FIRST_ATTEMPT : Number(text(attempt)),
    generation: Number(text(generation)),
  };
  if (![message.when, message.attempt, message.generation].every(Number.isFinite)) {
    return "non-numeric when, attempt or generation";
  }
  if (traceContext != null) message.traceContext = text(traceContext);
  return message;
}

function optionalNumber(value: Uint8Array | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(text(value));
  return Number.isFinite(number) ? number : undefined;
}

function optionalText(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : text(value);
}

/**
 * Parses a runs hash (`read_run`: HGETALL, binary, with a future task's due time from the queue)
 * into a record. The key comes from the record's name (only records written by earlier versions
 * also hold it, as field `key`, which is not read). A record of a task (one with a generation)
 * without an attempt is its first; a cancelled key that never had a task has neither.
 */
export function parseRun(key: string, flat: unknown[]): RunRecord | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const fields = fieldMap(flat);
  const state = optionalText(fields.get("state"));
  if (!state) return undefined;
  const generation = optionalNumber(fields.get("gen"));
  const attempt = optionalNumber(fields.get("attempt"));
  return {
    key,
    state: state as ExecutionState,
    task: optionalText(fields.get("task")),
    data: fields.get("data"),
    when: optionalNumber(fields.get("when")),
    attempt: attempt ?? (generation === undefined ? undefined : FIRST_ATTEMPT),
    generation,
    worker: optionalText(fields.get("worker")),
    startedAt: optionalNumber(fields.get("started")),
    completedAt: optionalNumber(fields.get("completed")),
    error: optionalText(fields.get("error")),
    failure: fields.get("failure"),
    result: fields.get("result"),
  };
}
