/**
 * Cancellations a worker may have missed. A cancel reaches the worker running the task over the
 * docket's cancel channel, and what is published while the worker's subscription is down (Redis
 * restarting, a dropped connection) is lost. So once the subscription is back, the worker reads
 * the records of the tasks it is running and aborts those that were cancelled meanwhile. (A
 * docket that keeps nothing, `executionTtl: 0`, deletes the record of a cancelled task: there the
 * worker cannot tell, and the task runs to its end.)
 *
 * @module
 */

import type { Backend, BackendWarn, Delivery } from "../storage/backend.ts";
import { ExecutionState } from "../types.ts";

/**
 * Reads the records of the `running` tasks and calls `cancel` with the key of each one whose
 * record says it was cancelled during this run. Never throws: a failed read is passed to `warn`
 * (the next restore looks again).
 *
 * @example
 * ```ts ignore
 * await cancelMissed(docket.backend, active, (key) => abortRun(key), warn);
 * ```
 */
export async function cancelMissed(
  backend: Pick<Backend, "readRun">,
  running: ReadonlyMap<string, { readonly delivery: Delivery }>,
  cancel: (key: string) => void,
  warn: BackendWarn,
): Promise<void> {
  const runs = [...running].map(([key, { delivery }]) => ({ key, delivery }));
  let records;
  try {
    // Sent together: node-redis pipelines them into one round trip.
    records = await Promise.all(runs.map(({ key }) => backend.readRun(key)));
  } catch (error) {
    warn("looking for cancellations missed while the connection was down failed", { err: error });
    return;
  }
  records.forEach((record, i) => {
    const { key, delivery } = runs[i];
    if (record?.state !== ExecutionState.CANCELLED) return;
    // A record of another run under the key is not about this one.
    if (record.generation !== undefined && record.generation !== delivery.message.generation) {
      return;
    }
    // Only a run still going, and still the same one, is aborted.
    if (running.get(key)?.delivery === delivery) cancel(key);
  });
}
