/**
 * A worker's consumer on a memory docket: claiming deliveries (abandoned ones first, then new
 * ones, waiting for an append when there are none) by the rules of the claim script, renewing
 * leases, and closing without stranding a claim in progress.
 *
 * @module
 */

import type { Consumer, Delivery } from "../backend.ts";
import { claimEntries, type DeliveredEntry } from "./operations.ts";
import type { DocketState } from "./store.ts";
import type { StreamEntry } from "./stream.ts";

/** The options of {@linkcode Consumer.claim}. */
type ClaimOptions = Parameters<Consumer["claim"]>[0];

/** A worker's handle on the stream of one memory docket. */
export class MemoryConsumer implements Consumer {
  #docket: DocketState;
  #name: string;
  #onClose: (consumer: MemoryConsumer) => void;
  /** Aborted on close, which wakes and ends a blocking claim. */
  #closing = new AbortController();
  #claims = new Set<Promise<unknown>>();
  /** Aborted by `interrupt()`, which ends the blocking claim under way; replaced after. */
  #interrupting = new AbortController();
  #nonePending = false;

  constructor(docket: DocketState, name: string, onClose: (consumer: MemoryConsumer) => void) {
    this.#docket = docket;
    this.#name = name;
    this.#onClose = onClose;
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    const claim = this.#claim(options);
    const settled = claim.catch(() => undefined);
    this.#claims.add(settled);
    settled.then(() => this.#claims.delete(settled));
    return claim;
  }

  /**
   * Reclaims idle entries and reads new ones like XAUTOCLAIM then XREADGROUP; only when both
   * come back empty does it wait for an append, then reads and judges in one synchronous step.
   */
  async #claim(options: ClaimOptions): Promise<Delivery[]> {
    // A closed consumer takes nothing: no message may land with a holder that will not run it.
    // It fails, as a claim on a closed Redis connection does: answering "no work" at once would
    // have a worker still running on a closed docket claim again and again without ever
    // yielding to timers or I/O (its failure path waits `reconnectionDelay` between tries).
    if (this.#closing.signal.aborted) throw new Error("the memory consumer is closed");
    const stream = this.#docket.stream;
    let blockMs = options.blockMs;
    if (options.reclaimIdleMs !== undefined) {
      this.#nonePending = options.countPending === true && stream.pendingCount === 0;
      if (this.#nonePending) blockMs = options.quietBlockMs ?? blockMs;
    }
    const reclaimed = options.reclaimIdleMs === undefined || this.#nonePending
      ? []
      : stream.reclaim(this.#name, Math.max(0, Math.round(options.reclaimIdleMs)), options.count);
    const delivered = reclaimed.map((entry) => ({ entry, redelivered: true }));
    const remaining = options.count - reclaimed.length;
    if (remaining <= 0) return this.#judge(delivered, options);
    delivered.push(...this.#fresh(remaining));
    if (delivered.length > 0 || blockMs <= 0) return this.#judge(delivered, options);
    return await this.#waitForNew(options, blockMs);
  }

  /** Blocks until an append delivers something, `blockMs` passes, or the claim is ended. */
  async #waitForNew(options: ClaimOptions, blockMs: number): Promise<Delivery[]> {
    const stream = this.#docket.stream;
    const deadline = Date.now() + blockMs;
    const interrupted = this.#interrupting.signal;
    const ended = AbortSignal.any([this.#closing.signal, interrupted]);
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await stream.arrivals.wait(remaining, ended);
      if (ended.aborted) return [];
      // Another waiter may have taken what woke us; then wait out the rest of the time.
      const delivered = this.#fresh(options.count);
      if (delivered.length > 0) return this.#judge(delivered, options);
    }
  }

  #fresh(count: number): DeliveredEntry[] {
    return this.#docket.stream.readNew(this.#name, count)
      .map((entry: StreamEntry) => ({ entry, redelivered: false }));
  }

  #judge(delivered: DeliveredEntry[], options: ClaimOptions): Delivery[] {
    return claimEntries(
      this.#docket,
      delivered,
      this.#name,
      Math.max(options.now, Date.now()),
      options.gated,
      options.maxRedeliveries,
    );
  }

  get nonePending(): boolean {
    return this.#nonePending;
  }

  /** Always: a blocking claim here waits on a signal that `interrupt()` aborts. */
  interruptible(): Promise<boolean> {
    return Promise.resolve(true);
  }

  interrupt(): Promise<void> {
    this.#interrupting.abort();
    this.#interrupting = new AbortController();
    return Promise.resolve();
  }

  renew(ids: string[]): Promise<void> {
    this.#docket.stream.renew(this.#name, ids);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#onClose(this);
    // Claims in progress end promptly now; waiting for them means that once close resolves,
    // no message is being delivered to this consumer.
    await Promise.all(this.#claims);
  }
}
