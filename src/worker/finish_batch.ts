/**
 * Batched finish writes: the ends of runs that finish together (in one turn of the event loop)
 * are written to the store in one round trip.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { FinishRequest } from "../storage/backend.ts";

/**
 * Buffers runs' ends and writes each batch once, on a microtask; tracks the writes under way so
 * the worker can wait for them as it stops.
 */
export class FinishBatch {
  #docket: Docket;
  #onWrite: (requests: readonly FinishRequest[]) => void;
  #buffer: FinishRequest[] = [];
  /** Settles when the buffered ends are written; every run in the buffer waits on it. */
  #batch?: { done: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  /** Writes of ends under way. */
  #flushes = new Set<Promise<void>>();

  /**
   * `onWrite` is called (synchronously) with a batch's requests as its write goes out: the
   * worker gives those runs' slots back then.
   */
  constructor(docket: Docket, onWrite: (requests: readonly FinishRequest[]) => void) {
    this.#docket = docket;
    this.#onWrite = onWrite;
  }

  /** Queues a run's end; resolves (or rejects) when the batch holding it is written. */
  add(request: FinishRequest): Promise<void> {
    this.#buffer.push(request);
    if (!this.#batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#batch = { done, resolve, reject };
      queueMicrotask(() => this.flush());
    }
    return this.#batch.done;
  }

  /** Writes the buffered ends now (if any); resolves when that write has ended. */
  flush(): Promise<void> {
    const batch = this.#batch;
    const requests = this.#buffer;
    this.#batch = undefined;
    if (!batch || requests.length === 0) return Promise.resolve();
    this.#buffer = [];
    const write = this.#docket.backend.finish(requests, Date.now(), this.#docket.executionTtl)
      // The messages stay pending and are redelivered after redeliveryTimeout: nothing is lost.
      .then(batch.resolve, batch.reject);
    this.#flushes.add(write);
    write.finally(() => this.#flushes.delete(write));
    this.#onWrite(requests);
    return write;
  }

  /** Writes the buffered ends and waits for every write under way. */
  async settle(): Promise<void> {
    await this.flush();
    while (this.#flushes.size > 0) await Promise.allSettled([...this.#flushes]);
  }
}
