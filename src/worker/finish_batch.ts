/**
 * Batched finish writes: the ends of runs that finish together (in one turn of the event loop)
 * are written to the store in one round trip.
 *
 * A write that fails because the store could not be reached (the connection dropped, Redis
 * restarted) is not given up: its ends are kept and written again once the store answers, and
 * their messages stay in the lease renewal meanwhile (`held()`), so no other worker takes over a
 * task that has already run. A stopping worker gives up on them at its deadline (`stopping`);
 * those tasks are then redelivered by the lease, as after a crash.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { FinishRequest } from "../storage/backend.ts";
import type { Logger } from "../logging/logger.ts";
import { Pause } from "./pause.ts";

/** Replies from the server that say "not now" rather than "never" (a retry can succeed). */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)/;

/**
 * True when a failed write may succeed if sent again: anything but an error reply from the
 * server (a script error, a key of the wrong type), which would fail the same way every time.
 */
export function isTransient(error: unknown): boolean {
  const name = (error as Error)?.name ?? "";
  const reply = name === "ErrorReply" || name === "SimpleError" || name === "BlobError";
  return !reply || TRANSIENT_REPLY.test(String((error as Error)?.message ?? ""));
}

/**
 * Buffers runs' ends and writes each batch once, on a microtask; tracks the writes under way so
 * the worker can wait for them as it stops.
 */
export class FinishBatch {
  #docket: Docket;
  #onWrite: (requests: readonly FinishRequest[]) => void;
  #logger: Logger;
  #retryDelay: number;
  #buffer: FinishRequest[] = [];
  /** Settles when the buffered ends are written; every run in the buffer waits on it. */
  #batch?: { done: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  /** Writes of ends under way. */
  #flushes = new Set<Promise<void>>();
  /** Ends not yet written (under way, or failed and waiting to be sent again). */
  #held = new Set<readonly FinishRequest[]>();
  #retry = new Pause();
  /** When the worker began to stop, and how long ends then get to be written. */
  #stopSince?: number;
  #stopDeadline = 0;
  /** Writes under way that start their stop deadline when the worker stops. */
  #onStop = new Set<() => void>();
  /** Ends given up on at the stop deadline. */
  unrecorded = 0;

  /**
   * `onWrite` is called (synchronously) with a batch's requests as its write goes out: the
   * worker gives those runs' slots back then.
   */
  constructor(
    docket: Docket,
    onWrite: (requests: readonly FinishRequest[]) => void,
    logger: Logger = docket.logger,
    retryDelay = 500,
  ) {
    this.#docket = docket;
    this.#onWrite = onWrite;
    this.#logger = logger;
    this.#retryDelay = retryDelay;
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
    const write = this.#write(requests).then(batch.resolve, batch.reject);
    this.#flushes.add(write);
    write.finally(() => this.#flushes.delete(write));
    this.#onWrite(requests);
    return write;
  }

  /** The message ids of ends not yet written: their leases must be kept. */
  held(): { delivery: { id: string } }[] {
    const held: { delivery: { id: string } }[] = [];
    for (const requests of this.#held) {
      for (const request of requests) held.push({ delivery: { id: request.id } });
    }
    return held;
  }

  async #write(requests: readonly FinishRequest[]): Promise<void> {
    // Leases are renewed until the write is done: one sent just as the connection dropped may
    // wait for the reconnection as long as one that failed and is sent again.
    this.#held.add(requests);
    try {
      await this.#writeUntilDone(requests);
    } finally {
      this.#held.delete(requests);
    }
  }

  async #writeUntilDone(requests: readonly FinishRequest[]): Promise<void> {
    const docket = this.#docket;
    const since = Date.now();
    for (let attempt = 1;; attempt++) {
      const late = this.#lateAfterStop(since);
      let outcome: "written" | "late";
      try {
        outcome = await Promise.race([
          docket.backend.finish(requests as FinishRequest[], Date.now(), docket.executionTtl)
            .then(() => "written" as const),
          late.promise,
        ]);
      } catch (error) {
        // The messages stay pending and are redelivered after redeliveryTimeout.
        if (!isTransient(error)) throw error;
        if (this.#pastStopDeadline(since)) return this.#giveUp(requests, error);
        if (attempt === 1) {
          this.#logger.warn(
            { err: error, keys: requests.map((r) => r.key).slice(0, 20), count: requests.length },
            "recording task ends failed; keeping them to write again once the store answers",
          );
        }
        await this.#retry.sleep(this.#retryDelay);
        continue;
      } finally {
        late.cancel();
      }
      if (outcome === "late") return this.#giveUp(requests, new Error("the store did not answer"));
      if (attempt > 1) {
        this.#logger.info({ count: requests.length }, "recorded task ends after reconnecting");
      }
      return;
    }
  }

  #giveUp(requests: readonly FinishRequest[], cause: unknown): never {
    this.unrecorded += requests.length;
    throw new Error(
      `gave up recording ${requests.length} task end(s) as the worker stopped: ${
        (cause as Error)?.message || cause
      }`,
      { cause },
    );
  }

  #pastStopDeadline(since: number): boolean {
    return this.#stopSince !== undefined &&
      Date.now() >= Math.max(this.#stopSince, since) + this.#stopDeadline;
  }

  /** Settles with "late" at the stop deadline of a write begun at `since` (never before a stop). */
  #lateAfterStop(since: number): { promise: Promise<"late">; cancel: () => void } {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let arm!: () => void;
    const promise = new Promise<"late">((resolve) => {
      arm = () => {
        this.#onStop.delete(arm);
        const at = Math.max(this.#stopSince!, since) + this.#stopDeadline;
        timer = setTimeout(() => resolve("late"), Math.max(0, at - Date.now()));
      };
    });
    if (this.#stopSince !== undefined) arm();
    else this.#onStop.add(arm);
    return {
      promise,
      cancel: () => {
        this.#onStop.delete(arm);
        clearTimeout(timer);
      },
    };
  }

  /**
   * The worker is stopping: from now on, an end the store does not take within `deadlineMs`
   * (counted from now, or from when its write began if later) is given up and counted in
   * `unrecorded`; its task is redelivered by the lease.
   */
  stopping(deadlineMs: number): void {
    if (this.#stopSince !== undefined) return;
    this.#stopSince = Date.now();
    this.#stopDeadline = deadlineMs;
    for (const arm of [...this.#onStop]) arm();
    this.#retry.wake();
  }

  /** Writes the buffered ends and waits for every write under way. */
  async settle(): Promise<void> {
    await this.flush().catch(() => undefined);
    while (this.#flushes.size > 0) await Promise.allSettled([...this.#flushes]);
  }
}
