/**
 * Seeding of automatic tasks (perpetual, cron): while a worker runs, it schedules every task
 * marked `automatic` that is not already live, keyed by its name, again every reseed interval.
 * Workers take turns through a short lock, so they do not all write at once.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Logger } from "../logging/logger.ts";
import type { LoopControl } from "./pause.ts";

/** How often automatic tasks are seeded again, by default (milliseconds). */
export const RESEED_INTERVAL_MS = 60_000;
const AUTOMATIC_LOCK_MS = 10_000;

/** Seeds automatic tasks every `reseedInterval` ms until the worker stops; never throws. */
export async function seedLoop(
  docket: Docket,
  workerName: string,
  reseedInterval: number,
  logger: Logger,
  loop: LoopControl,
): Promise<void> {
  while (loop.running()) {
    try {
      await seedAutomaticTasks(docket, workerName, reseedInterval);
    } catch (error) {
      logger.warn({ err: error }, "seeding automatic tasks failed");
    }
    await loop.sleep(reseedInterval);
  }
}

/** Schedules every automatic task not already live, keyed by its name (never twice). */
async function seedAutomaticTasks(
  docket: Docket,
  workerName: string,
  reseedInterval: number,
): Promise<void> {
  const automatic = [...docket.tasks.entries()].filter(([name, definition]) =>
    name === definition.name && definition.hooks.some((hook) => hook.automatic)
  );
  if (automatic.length === 0) return;
  const locked = await docket.backend.tryLock(
    "automatic-tasks",
    workerName,
    // Held until it expires: shorter than the interval, so the next tick can take it again.
    Math.max(1, Math.min(AUTOMATIC_LOCK_MS, Math.floor(reseedInterval / 2))),
  );
  if (!locked) return;
  const now = Date.now();
  for (const [name, definition] of automatic) {
    const hook = definition.hooks.find((h) => h.automatic)!;
    if (docket.isStruck(name, name, {})) continue;
    await docket.add(name, { key: name, when: hook.automatic!.firstRun(now) })({});
  }
}
