/**
 * The scheduler loop: moves future tasks to the stream when they come due.
 *
 * It sleeps until the earliest waiting task is due, and no longer: a write that makes a task the
 * earliest (an add, a replace, a retry or a reschedule, by any process) is announced on the
 * docket's next-due channel, which wakes it to look again. A look costs one read of the queue's
 * head while nothing is due. An announcement lost while the subscription was down (a reconnect)
 * is made up for by looking as soon as it is back, and, in case the store cannot say so (a
 * connection the backend does not see drop), at least every {@linkcode NEXT_DUE_RECHECK_MS};
 * without the subscription at all, it looks every `schedulingResolution`, as it always did.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Logger } from "../logging/logger.ts";
import type { LoopControl } from "./pause.ts";

/**
 * The longest the scheduler sleeps while subscribed, by default (bounds the delay a lost
 * announcement can cause).
 */
export const NEXT_DUE_RECHECK_MS = 10_000;

/**
 * Moves due tasks to the stream until the worker stops, sleeping at most `recheck` at a time
 * (at least `schedulingResolution`); never throws (failures are logged).
 */
export async function schedulerLoop(
  docket: Docket,
  schedulingResolution: number,
  recheck: number,
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  const backend = docket.backend;
  let announced = new AbortController();
  const wake = () => announced.abort();
  // Announcements made while the subscription was down are lost: look again once it is back.
  const unsubscribe = await backend.subscribe(docket.keys.nextDueChannel, wake, wake)
    .catch((error) => {
      logger.warn({ err: error }, "cannot follow the schedule; looking for due tasks by polling");
      return undefined;
    });
  const longest = unsubscribe ? Math.max(schedulingResolution, recheck) : schedulingResolution;
  try {
    while (loop.running()) {
      // An announcement from now on wakes the sleep below, even one that arrives mid-look.
      if (announced.signal.aborted) announced = new AbortController();
      let wait = longest;
      try {
        let next = await backend.nextDue();
        if (next !== undefined && next <= Date.now()) {
          while (loop.running() && await backend.moveDue(Date.now(), 1000) === 1000);
          next = await backend.nextDue();
        }
        if (next !== undefined) wait = Math.min(wait, Math.max(1, next - Date.now()));
      } catch (error) {
        logger.warn({ err: error }, "moving due tasks failed; retrying");
        wait = schedulingResolution;
      }
      await loop.sleep(wait, announced.signal);
    }
  } finally {
    await unsubscribe?.().catch(() => {});
  }
}
