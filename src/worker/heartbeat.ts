/**
 * The heartbeat loop: keeps the worker's entry in the worker registry fresh (its name and the
 * tasks it serves), every `docket.heartbeatInterval`.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Logger } from "../logging/logger.ts";
import type { LoopControl } from "./pause.ts";

/**
 * Sends heartbeats until the worker stops; never throws (failures are logged). `taskNames` is
 * read on every beat, so tasks registered meanwhile are listed.
 */
export async function heartbeatLoop(
  docket: Docket,
  workerName: string,
  taskNames: () => string[],
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  while (loop.running()) {
    try {
      await docket.backend.heartbeat(
        workerName,
        taskNames(),
        Date.now(),
        docket.workerStaleAfter,
      );
    } catch (error) {
      logger.warn({ err: error }, "heartbeat failed");
    }
    await loop.sleep(docket.heartbeatInterval);
  }
}
