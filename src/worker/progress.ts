/**
 * `ctx.progress`: a running task's progress, written atomically and published as it changes.
 *
 * Every call is one atomic write to the store that also publishes the whole new record as a
 * progress event, so concurrent increments never lose a count and every observer
 * (`execution.subscribe()`, `cli.ts watch`) sees the same sequence. The record carries a
 * lifetime (renewed by each write) and is removed when the task ends.
 *
 * @module
 */

import type { Backend } from "../storage/backend.ts";
import type { Progress } from "../types.ts";

function checkCount(value: number, what: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`${what} must be a whole number of at least ${minimum}, got ${value}`);
  }
}

/**
 * Makes the progress handle of one run. With `enabled` false (a docket that keeps nothing) the
 * calls check their arguments and do nothing else.
 *
 * @example
 * ```ts ignore
 * const progress = createProgress(docket.backend, "order-1", 1, docket.executionTtl > 0);
 * await progress.setTotal(10);
 * await progress.increment();
 * ```
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
  let latest = -Infinity;
  let writes = 0;
  const write = async (change: { total?: number; message?: string | null; increment?: number }) => {
    if (!enabled) return;
    const order = writes++;
    const record = await backend.writeProgress(key, generation, change, Date.now());
    // Concurrent writes may settle out of order; keep what the latest-issued one saw.
    if (order < latest) return;
    latest = order;
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
      // An empty batch is real work too: 0 of 0 is a valid, finished-looking progress.
      checkCount(value, "progress total", 0);
      await write({ total: value });
    },
    async increment(amount = 1) {
      checkCount(amount, "progress increment", 1);
      await write({ increment: amount });
    },
    async setMessage(text: string | null) {
      if (text !== null && typeof text !== "string") {
        throw new TypeError(`progress message must be a string or null, got ${typeof text}`);
      }
      await write({ message: text === "" ? null : text });
    },
  };
}
