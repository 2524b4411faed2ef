/**
 * How a worker paces its reads of the stream: which claims also look for messages abandoned by
 * dead workers, and how long a claim that finds no work waits for some.
 *
 * A worker with work looks for abandoned messages every half lease (at most every second), as it
 * always has. A worker run forever with nothing to do blocks until work arrives (an XADD ends the
 * blocking read at once), up to {@linkcode IDLE_BLOCK_MAX_MS}, and only until its next look for
 * abandoned messages is due; `stop()` interrupts such a read. When the group had nothing pending
 * at the last look, nothing can be abandoned for a whole lease (a message read after that look is
 * idle for less than the lease until a lease after it was read), so the next look waits that long.
 * `runUntilFinished` keeps blocking `minimumCheckInterval` at a time: it checks between reads
 * whether anything is left.
 *
 * @module
 */

import type { Consumer } from "../storage/backend.ts";

/** The longest an idle worker blocks in one read. */
export const IDLE_BLOCK_MAX_MS = 30_000;

/** The worker's timings its reads go by (milliseconds). */
export interface WorkerReadTimings {
  readonly redeliveryTimeout: number;
  readonly minimumCheckInterval: number;
}

/** What a claim about to go out should do (the options of `Consumer.claim` it sets). */
export interface ClaimPlan {
  /** Look for abandoned messages first. */
  reclaim: boolean;
  /** Count the group's pending messages first (an idle worker's look for abandoned ones). */
  countPending: boolean;
  /** How long to wait when nothing is there. */
  blockMs: number;
  /** With `countPending`: how long to wait instead when nothing is pending. */
  quietBlockMs?: number;
  /** Whether `consumer.interrupt()` must be able to end the wait. */
  interruptible: boolean;
}

/**
 * The reading rhythm of one worker run.
 *
 * @example
 * ```ts ignore
 * const pacing = await ReadPacing.start(consumer, { redeliveryTimeout: 300_000, minimumCheckInterval: 100 }, true);
 * const plan = pacing.plan(Date.now(), 0, true); // reclaims, counts pending, may block 30 s
 * ```
 */
export class ReadPacing {
  #consumer: Consumer;
  #redeliveryTimeout: number;
  #reclaimEvery: number;
  #shortBlock: number;
  #longBlocks: boolean;
  #lastReclaim = 0;

  private constructor(consumer: Consumer, timings: WorkerReadTimings, longBlocks: boolean) {
    this.#consumer = consumer;
    this.#redeliveryTimeout = timings.redeliveryTimeout;
    this.#reclaimEvery = Math.max(10, Math.min(1_000, timings.redeliveryTimeout / 2));
    this.#shortBlock = timings.minimumCheckInterval;
    this.#longBlocks = longBlocks;
  }

  /**
   * The pacing of a run; `longBlocks` for a worker run forever, used only when the consumer can
   * interrupt a read (otherwise a stop would have to wait one out).
   */
  static async start(
    consumer: Consumer,
    timings: WorkerReadTimings,
    longBlocks: boolean,
  ): Promise<ReadPacing> {
    return new ReadPacing(consumer, timings, longBlocks && await consumer.interruptible());
  }

  /**
   * The plan of a claim starting `now`, with `claimsOut` others under way; `waiting` when it
   * blocks if nothing is there (the last claim did not come back full).
   */
  plan(now: number, claimsOut: number, waiting: boolean): ClaimPlan {
    const reclaim = claimsOut === 0 && now >= this.#lastReclaim + this.#lookEvery();
    if (reclaim) this.#lastReclaim = now;
    if (!waiting) return { reclaim, countPending: false, blockMs: 0, interruptible: false };
    if (!this.#longBlocks) {
      return { reclaim, countPending: false, blockMs: this.#shortBlock, interruptible: false };
    }
    const until = (look: number) =>
      Math.max(this.#shortBlock, Math.min(IDLE_BLOCK_MAX_MS, this.#lastReclaim + look - now));
    const blockMs = until(this.#lookEvery());
    if (!reclaim) return { reclaim, countPending: false, blockMs, interruptible: true };
    // This claim learns whether anything is pending, and blocks accordingly.
    return {
      reclaim,
      countPending: true,
      blockMs: until(this.#reclaimEvery),
      quietBlockMs: until(this.#redeliveryTimeout),
      interruptible: true,
    };
  }

  /** How long after the last look the next is due. */
  #lookEvery(): number {
    const quiet = this.#longBlocks && this.#consumer.nonePending;
    return quiet ? this.#redeliveryTimeout : this.#reclaimEvery;
  }
}
