/**
 * Keeping the stream's consumer group small: every worker start adds a consumer to it, so a
 * worker that stops deletes its own (once nothing is pending for it), and a periodic sweep
 * deletes those of workers that died (no heartbeat, nothing pending, idle).
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Logger } from "../logging/logger.ts";
import type { LoopControl } from "./pause.ts";

/** Consumers deleted per sweep at most. */
const PRUNE_LIMIT = 100;

/** How long a consumer must have been idle, with its worker gone, before it is pruned. */
export function pruneIdleMs(docket: Docket): number {
  return docket.workerStaleAfter * 2;
}

/**
 * Sweeps the consumers of gone workers every `pruneIdleMs` (1 s to 60 s: a consumer is pruned
 * only once idle that long, so sweeping more often would find nothing more) until the worker
 * stops; never throws (failures are logged at debug: the next sweep tries again).
 */
export async function consumerHygieneLoop(
  docket: Docket,
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  const every = Math.max(1_000, Math.min(60_000, pruneIdleMs(docket)));
  while (loop.running()) {
    await loop.sleep(every);
    if (!loop.running()) return;
    try {
      const pruned = await docket.backend.pruneConsumers(
        Date.now(),
        docket.workerStaleAfter,
        pruneIdleMs(docket),
        PRUNE_LIMIT,
      );
      if (pruned.length > 0) {
        logger.info({ consumers: pruned }, `removed ${pruned.length} consumer(s) of gone workers`);
      }
    } catch (error) {
      logger.debug({ err: error }, "pruning consumers failed");
    }
  }
}

/** Deletes this worker's own consumer as it stops, if nothing is pending for it. */
export async function retireConsumer(docket: Docket, name: string, logger: Logger) {
  try {
    const retired = await docket.backend.retireConsumer(name);
    if (!retired) logger.debug("consumer kept: messages are still pending for it");
  } catch (error) {
    logger.debug({ err: error }, "removing the consumer failed");
  }
}
