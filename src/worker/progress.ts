/**
 * `ctx.progress`: a running task's progress, written atomically and published as it changes.
 *
 * @module
 */

import type { Backend } from "../storage/backend.ts";

/** What `ctx.progress` offers a running task. */
export interface Progress {
  /** Units done so far. */
  readonly current: number | undefined;
  /** Units in all. */
  readonly total: number | undefined;
  /** The last message. */
  readonly message: string | undefined;
  /** Sets how many units there are in all (at least 1). */
  setTotal(total: number): Promise<void>;
  /** Adds `amount` (default 1, at least 1) units done; exact under concurrent calls. */
  increment(amount?: number): Promise<void>;
  /** Sets the message shown with the progress; `null` clears it. */
  setMessage(message: string | null): Promise<void>;
}

function checkCount(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a whole number of at least 1, got ${value}`);
  }
}

/**
 * Makes the progress handle of one run. With `enabled` false (a docket that keeps nothing) the
 * calls check their arguments and do nothing else.
 */
export function createProgress(
  backend: Backend,
  key: string,
  generation: number,
  enabled: boolean,
): Progress {
  let current: number | undefined;
  let total: number | undefined;
  let message: string | undefined;
  const write = async (change: { total?: number; message?: string | null; increment?: number }) => {
    if (!enabled) return;
    const record = await backend.writeProgress(key, generation, change, Date.now());
    current = record.current;
    total = record.total;
    message = record.message;
  };
  return {
    get current() {
      return current;
    },
    get total() {
      return total;
    },
    get message() {
      return message;
    },
    async setTotal(value: number) {
      checkCount(value, "progress total");
      await write({ total: value });
    },
    async increment(amount = 1) {
      checkCount(amount, "progress increment");
      await write({ increment: amount });
    },
    async setMessage(text: string | null) {
      if (text !== null && typeof text !== "string") {
        throw new TypeError(`progress message must be a string or null, got ${typeof text}`);
      }
      await write({ message: text });
    },
  };
}
