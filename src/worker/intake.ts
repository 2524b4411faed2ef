/**
 * The worker's intake: the claims it sends for work, how many slots each may fill, and when.
 *
 * While work may be waiting (at first, then while the last claim came back full), claims do not
 * block (one round trip: read_claim), and two are out at once, each for at most half the slots
 * (two lanes). Slots a claim may fill are reserved for it, so the worker never has more than
 * `concurrency` tasks in hand. When the stream runs dry, one claim at a time waits for new work,
 * as long as its {@linkcode ReadPacing} says (which also decides which claims look for messages
 * abandoned by dead workers).
 *
 * Claims are sent from {@linkcode Intake.pump}, which the worker calls the moment slots free up
 * (a batch of ends going out, a run ending, a claim coming back), in that same synchronous step:
 * the claim that refills the slots of a batch of ends goes out in the write that carries those
 * ends, with no timer and no loop turn in between. The loop itself only handles what the pump
 * leaves to it: a failed read, an empty stream, a stop.
 *
 * The two lanes take turns: the store works on one lane's ends and next claim while the worker
 * runs the other lane's tasks. Claims sent together come back together, though, and runs started
 * together end together, so their ends and claims would leave in one write again, and the store
 * and the worker would go on waiting for each other. So when a second claim comes back in the
 * turn of the event loop in which another claim's tasks started, its tasks start once that turn's
 * writes have gone out (the Redis client writes on `setImmediate`), two check phases later.
 *
 * @module
 */

import type { Consumer, Delivery } from "../storage/backend.ts";
import type { CombinedObserver } from "./observers.ts";
import type { ReadPacing } from "./read_pacing.ts";

/** What the intake needs of its worker. */
export interface IntakeOptions {
  readonly consumer: Consumer;
  /** How long a claim that finds nothing waits, and which claims look for abandoned work. */
  readonly pacing: ReadPacing;
  /** The worker's concurrency now (it may change while running). */
  readonly concurrency: () => number;
  /** Runs the worker holds a slot for. */
  readonly held: () => number;
  /** True once the worker is stopping: no more claims. */
  readonly stopping: () => boolean;
  /** Starts a claimed delivery. */
  readonly launch: (delivery: Delivery) => void;
  /** Wakes the worker's loop: something only it handles (a failure, an empty read, a stop). */
  readonly wakeLoop: () => void;
  readonly gated: (task: string) => boolean;
  readonly observer: CombinedObserver;
  readonly redeliveryTimeout: number;
  readonly maxRedeliveries: number;
}

/**
 * Sends the worker's claims (see the module's description).
 *
 * @example
 * ```ts ignore
 * const intake = new Intake({ consumer, concurrency: () => 10, held: () => active.size, ... });
 * intake.pump(); // sends what the free slots allow now
 * ```
 */
export class Intake {
  readonly #options: IntakeOptions;
  /** Slots reserved for claims under way. */
  #reserved = 0;
  #claims = new Set<Promise<void>>();
  /** A claim's tasks started in this turn of the event loop (see the module's description). */
  #startedThisTurn = false;
  /** Whether work may be waiting: the last claim came back full. */
  #more = true;
  /** The last claim came back empty (the loop decides whether the worker is finished). */
  emptied = false;
  /** A claim failed; the loop waits, then claims again. */
  failure?: { error: unknown };
  /** The stop gave up on the claims under way: their messages stay pending. */
  abandoned = false;
  /** The loop is waiting out a failure (`reconnectionDelay`): freed slots send no claim. */
  backingOff = false;

  /** An intake for `options.consumer`; nothing is sent until `pump()`. */
  constructor(options: IntakeOptions) {
    this.#options = options;
  }

  /** Claims under way. */
  get inFlight(): number {
    return this.#claims.size;
  }

  /** Settles when every claim under way has. */
  settled(): Promise<unknown> {
    return Promise.all(this.#claims);
  }

  /**
   * Sends the claims the free slots allow now. False when the loop must act first (a failure
   * to wait out, an empty read to judge, a stop): then it has been woken.
   */
  pump(): boolean {
    const options = this.#options;
    for (;;) {
      if (options.stopping() || this.failure || (this.emptied && this.#claims.size === 0)) {
        options.wakeLoop();
        return false;
      }
      if (this.backingOff) return true;
      const concurrency = options.concurrency();
      const free = concurrency - options.held() - this.#reserved;
      if (free <= 0) return true;
      const lane = Math.ceil(concurrency / 2);
      if (this.#claims.size === 0) {
        // Two claims sent in one step travel in one write and come back in one reply: they
        // overlap nothing, so one claim takes them both when it can in a single round trip.
        this.#claim(this.#more ? Math.min(free, lane) : free, !this.#more);
      } else if (this.#more && this.#claims.size < 2) {
        this.#claim(Math.min(free, lane), false);
      } else return true;
    }
  }

  /** Notes that a claim's tasks started in this turn of the event loop. */
  #started(): void {
    if (this.#startedThisTurn) return;
    this.#startedThisTurn = true;
    setImmediate(() => (this.#startedThisTurn = false));
  }

  /** Sends one claim for `count` slots; `waiting` when it may wait for work (none was left). */
  #claim(count: number, waiting: boolean): void {
    const options = this.#options;
    options.observer.loopTurned();
    const now = Date.now();
    const { reclaim, ...plan } = options.pacing.plan(now, this.#claims.size, waiting);
    this.#reserved += count;
    const claimed: Promise<void> = options.consumer.claim({
      count,
      ...plan,
      reclaimIdleMs: reclaim ? options.redeliveryTimeout : undefined,
      now,
      gated: options.gated,
      maxRedeliveries: options.maxRedeliveries,
    }).then(
      async (deliveries) => {
        // Their slots stay reserved, and the claim counted as under way, until they start.
        if (deliveries.length > 0 && this.#startedThisTurn) await afterThisTurnsWrites();
        this.#reserved -= count;
        this.#claims.delete(claimed);
        options.observer.readCompleted();
        if (this.abandoned) return; // the stop gave up on this read: its messages stay pending
        this.#more = deliveries.length >= count;
        this.emptied = deliveries.length === 0;
        if (deliveries.length > 0) this.#started();
        for (const delivery of deliveries) options.launch(delivery);
        this.pump();
      },
      (error) => {
        this.#reserved -= count;
        this.#claims.delete(claimed);
        this.#more = false;
        this.failure ??= { error };
        options.observer.readFailed(error);
        this.pump();
      },
    );
    this.#claims.add(claimed);
  }
}

/**
 * Resolves once the writes queued in this turn have gone out: the Redis client sends them on
 * `setImmediate`, so the second of two nested ones runs after it, in the next check phase.
 */
function afterThisTurnsWrites(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
