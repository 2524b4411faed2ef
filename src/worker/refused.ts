/**
 * Deliveries a worker must not run: their workers vanished past the redelivery cap, or their
 * record cannot be used (a key of the wrong type). They end FAILED through the ordinary
 * failure path, with an error that says why.
 *
 * @module
 */

import type { Delivery } from "../storage/backend.ts";
import { AbandonedTaskError, WrongTypeKeyError } from "../errors.ts";

/**
 * The error a delivery ends with instead of running, or undefined when it may run.
 *
 * @example
 * ```ts ignore
 * const error = refusal(delivery);
 * if (error) await finishFailed(env, delivery, error);
 * ```
 */
export function refusal(delivery: Delivery): Error | undefined {
  const { abandoned, unusable } = delivery;
  if (unusable) {
    return new WrongTypeKeyError(unusable.storeKey, unusable.expected, unusable.reason);
  }
  if (abandoned) {
    return new AbandonedTaskError(delivery.message.key, abandoned.times, abandoned.workers);
  }
  return undefined;
}
