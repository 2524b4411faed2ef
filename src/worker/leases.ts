/**
 * Lease renewal: while a worker lives, it renews the leases of the messages it is running (so a
 * long task is never taken over by another worker) and the concurrency slots they hold.
 *
 * @module
 */

import type { Consumer, Delivery, SlotHold } from "../storage/backend.ts";
import type { Logger } from "../logging/logger.ts";
import type { FlowControl } from "./admission.ts";
import type { LoopControl } from "./pause.ts";

/** What lease renewal needs of a running task. */
export interface LeasedRun {
  /** The message whose lease is renewed. */
  readonly delivery: Pick<Delivery, "id">;
  /** Concurrency-limit slots it holds, renewed too. */
  readonly hold?: SlotHold;
}

/**
 * Renews, every quarter of `redeliveryTimeout`, the leases and slots of the runs `leased` lists
 * (read afresh on every round) until the worker stops; never throws (failures are logged).
 */
export async function leaseLoop(
  consumer: Consumer,
  flow: FlowControl,
  leased: () => LeasedRun[],
  redeliveryTimeout: number,
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  const every = Math.max(10, redeliveryTimeout / 4);
  while (loop.running()) {
    await loop.sleep(every);
    const runs = leased();
    const ids = runs.map((run) => run.delivery.id);
    try {
      await consumer.renew(ids);
    } catch (error) {
      logger.warn({ err: error }, "renewing leases failed");
    }
    await flow.renew(runs.flatMap((run) => run.hold ?? []));
  }
}
