/**
 * Helpers shared by the flow-control tests.
 */

import type { Docket, ExecutionState } from "../../mod.ts";
import { RedisBackend } from "../../src/storage/redis/backend.ts";
import { waitUntil } from "../_harness.ts";

/** A promise opened from outside. */
export class Gate {
  open!: () => void;
  readonly opened: Promise<void> = new Promise((resolve) => (this.open = resolve));
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the record of `key` is in `state`. */
export async function waitForState(
  docket: Docket,
  key: string,
  state: ExecutionState,
  timeoutMs = 10_000,
): Promise<void> {
  await waitUntil(
    async () => (await docket.backend.readRun(key))?.state === state,
    timeoutMs,
    `${key} to be ${state}`,
  );
}

/** Sends one command when the docket is on Redis; undefined on memory. */
export async function redisCommand(docket: Docket, args: (string | number)[]): Promise<unknown> {
  if (!(docket.backend instanceof RedisBackend)) return undefined;
  return await docket.backend.send(args);
}

/** Keys of the docket matching a pattern after its prefix (Redis only; [] on memory). */
export async function redisKeys(docket: Docket, pattern: string): Promise<string[]> {
  return (await redisCommand(docket, ["KEYS", `${docket.keys.prefix}:${pattern}`]) ??
    []) as string[];
}

/** Tracks how many runs are active per group and the most seen at once. */
export class Overlap {
  #active = new Map<string, number>();
  readonly peaks = new Map<string, number>();
  total = 0;
  peakTotal = 0;

  enter(...groups: string[]): void {
    this.total++;
    this.peakTotal = Math.max(this.peakTotal, this.total);
    for (const group of groups) {
      const now = (this.#active.get(group) ?? 0) + 1;
      this.#active.set(group, now);
      this.peaks.set(group, Math.max(this.peaks.get(group) ?? 0, now));
    }
  }

  leave(...groups: string[]): void {
    this.total--;
    for (const group of groups) this.#active.set(group, this.#active.get(group)! - 1);
  }

  peak(group: string): number {
    return this.peaks.get(group) ?? 0;
  }
}
