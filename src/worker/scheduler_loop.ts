/**
 * The scheduler loop: moves future tasks to the stream when they come due, looking every
 * `schedulingResolution` ms, or sooner when the next waiting task is due before that.
 *
 * @module
 */

import type { Backend } from "../storage/backend.ts";
import type { Logger } from "../logging/logger.ts";
import type { LoopControl } from "./pause.ts";

/** Moves due tasks to the stream until the worker stops; never throws (failures are logged). */
export async function schedulerLoop(
  backend: Backend,
  schedulingResolution: number,
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  while (loop.running()) {
    let wait = schedulingResolution;
    try {
      while (loop.running() && await backend.moveDue(Date.now(), 1000) === 1000);
      // Wake when the next waiting task comes due, if that is sooner than the usual look.
      const next = await backend.nextDue();
      if (next !== undefined) wait = Math.min(wait, Math.max(1, next - Date.now()));
    } catch (error) {
      logger.warn({ err: error }, "moving due tasks failed; retrying");
    }
    await loop.sleep(wait);
  }
}
