/**
 * Strikes shared by every docket and worker: instructions are appended to a stream in the store,
 * loaded fully when a docket connects, then followed with a blocking read, so a strike issued
 * anywhere takes effect everywhere within a moment, with no restart.
 *
 * Instructions apply in stream order, each once: an entry at or before the last one applied (the
 * follower's read returning what `send()` already caught up on) is skipped, so an older
 * instruction never undoes a newer one.
 *
 * The stream does not grow for ever: once it holds {@linkcode COMPACT_AFTER} entries, a docket
 * that has applied all of them replaces them, in one atomic step, with one snapshot entry (every
 * strike in effect). A snapshot replaces a reader's whole set, so a reader anywhere in the
 * trimmed history (loading, or following with a blocking read) next reads the snapshot and
 * stays consistent.
 *
 * @module
 */

import type { Backend } from "../storage/backend.ts";
import { decodeValue, encodeValue } from "../codec.ts";
import type { Logger } from "../logging/logger.ts";
import { type StrikeInstruction, StrikeSet } from "./strike_set.ts";

/** How long one blocking read of the strike stream waits before looping. */
const FOLLOW_BLOCK_MS = 30_000;
/** How long to wait before reading again after a failed read. */
const RETRY_DELAY_MS = 1_000;
/** The most instructions one read returns (as both backends' reads do). */
const READ_BATCH = 100;
/** How many entries the strike stream holds before a docket compacts it to a snapshot. */
export const COMPACT_AFTER = 1_000;

/** The entry that replaces the stream's history: the strikes in effect at that point. */
interface StrikeSnapshot {
  direction: "snapshot";
  strikes: StrikeInstruction[];
}

/**
 * Called with each strike or restore that changed what is in effect, whether it was issued here
 * or read from the store.
 *
 * @example
 * ```ts ignore
 * const listener: StrikeListener = (instruction) => console.log(instruction.direction);
 * ```
 */
export type StrikeListener = (instruction: StrikeInstruction) => void;

/**
 * The strikes in effect for one docket, kept current from the store. Every docket has one
 * (`docket.strikeList`); `docket.strike()` and `docket.restore()` go through it.
 *
 * The whole stream is read when the docket connects (`load()`), so a worker never claims work
 * before it knows every strike; after that a background loop follows the stream with a blocking
 * read, and a strike issued by any docket applies here as soon as that read returns.
 *
 * @example
 * ```ts ignore
 * await docket.strike("process_order");
 * docket.strikeList.strikes.isStruck("process_order", "order-1", {}); // true
 * const stop = docket.strikeList.onChange((s) => console.log(s.direction, s.task));
 * stop();
 * ```
 */
export class StrikeList {
  /** The strikes in effect. */
  readonly strikes: StrikeSet = new StrikeSet();
  #backend: Backend;
  #logger: Logger;
  #lastId = "0-0";
  #following?: Promise<void>;
  #stopped = false;
  #loaded = false;
  #listeners = new Set<StrikeListener>();
  #retry?: { timer: ReturnType<typeof setTimeout>; resolve: () => void };
  /** Entries on the stream since (and including) the last snapshot, as far as read. */
  #entries = 0;
  #compactAfter: number;

  /**
   * Creates the list; call `load()` before relying on it. `compactAfter` is how many entries the
   * stream may hold before this list compacts it (default {@linkcode COMPACT_AFTER}).
   */
  constructor(backend: Backend, logger: Logger, options: { compactAfter?: number } = {}) {
    this.#backend = backend;
    this.#logger = logger;
    this.#compactAfter = options.compactAfter ?? COMPACT_AFTER;
  }

  /** True once every instruction stored when `load()` was called has been applied. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Reads every instruction so far, then keeps following the stream in the background (until
   * `stop()`). Calling it again does nothing.
   */
  async load(): Promise<void> {
    if (this.#loaded || this.#following) return;
    for (;;) {
      const batch = await this.#backend.readStrikes(this.#lastId, 0);
      this.#applyAll(batch);
      if (batch.length < READ_BATCH) break;
    }
    this.#loaded = true;
    await this.#compactIfLong();
    if (!this.#stopped) this.#following = this.#follow();
  }

  async #follow(): Promise<void> {
    while (!this.#stopped) {
      try {
        const batch = await this.#backend.readStrikes(this.#lastId, FOLLOW_BLOCK_MS);
        if (this.#stopped) return;
        this.#applyAll(batch);
        if (batch.length < READ_BATCH) await this.#compactIfLong();
      } catch (error) {
        if (this.#stopped) return;
        this.#logger.warn({ err: error }, "reading strikes failed; retrying");
        await new Promise<void>((resolve) => {
          this.#retry = { timer: setTimeout(resolve, RETRY_DELAY_MS), resolve };
        });
        this.#retry = undefined;
      }
    }
  }

  #applyAll(batch: { id: string; instruction: Uint8Array }[]): void {
    for (const { id, instruction } of batch) {
      if (compareIds(id, this.#lastId) <= 0) continue; // applied already, by another read
      this.#lastId = id;
      this.#entries++;
      let decoded: StrikeInstruction | StrikeSnapshot;
      try {
        decoded = decodeValue(instruction) as StrikeInstruction | StrikeSnapshot;
      } catch (error) {
        this.#logger.warn({ err: error, id }, "ignoring a strike instruction that cannot be read");
        continue;
      }
      if (decoded?.direction === "snapshot") {
        this.#entries = 1;
        this.#applySnapshot(decoded as StrikeSnapshot, id);
      } else {
        this.#apply(decoded as StrikeInstruction, id);
      }
    }
  }

  /** Makes the set in effect exactly the snapshot's, telling listeners what changed. */
  #applySnapshot(snapshot: StrikeSnapshot, id: string): void {
    const incoming = new StrikeSet();
    for (const instruction of Array.isArray(snapshot.strikes) ? snapshot.strikes : []) {
      try {
        incoming.apply(instruction);
      } catch (error) {
        this.#logger.warn({ err: error, id }, "ignoring a malformed strike in a snapshot");
      }
    }
    for (const current of this.strikes.entries()) {
      if (!incoming.has(current)) this.#apply({ ...current, direction: "restore" }, id);
    }
    for (const strike of incoming.entries()) this.#apply(strike, id);
  }

  /**
   * Replaces a long stream with a snapshot of the set in effect. The store does it only if this
   * list has applied the stream's newest entry, so a concurrent instruction is never lost (it
   * simply waits for the next try); several dockets trying at once compact it once.
   */
  async #compactIfLong(): Promise<void> {
    if (this.#entries < this.#compactAfter || this.#stopped) return;
    const snapshot: StrikeSnapshot = { direction: "snapshot", strikes: this.strikes.entries() };
    try {
      const compacted = await this.#backend.compactStrikes(
        this.#lastId,
        encodeValue(snapshot, "strike snapshot"),
        this.#compactAfter,
      );
      if (compacted) {
        this.#logger.debug(
          { strikes: snapshot.strikes.length },
          "compacted the strike stream to the strikes in effect",
        );
      }
    } catch (error) {
      this.#logger.warn({ err: error }, "compacting the strike stream failed; trying later");
    }
  }

  /** Applies one instruction; logs and tells the listeners when it changed something. */
  #apply(instruction: StrikeInstruction, id?: string): void {
    let changed: boolean;
    try {
      changed = this.strikes.apply(instruction);
    } catch (error) {
      this.#logger.warn({ err: error, id }, "ignoring a malformed strike instruction");
      return;
    }
    if (!changed) return;
    const verb = instruction.direction === "strike" ? "Striking" : "Restoring";
    this.#logger.info(`${verb} ${this.strikes.describe(instruction)}`);
    for (const listener of [...this.#listeners]) {
      try {
        listener(instruction);
      } catch (error) {
        this.#logger.warn({ err: error }, "a strike listener threw");
      }
    }
  }

  /**
   * Sends an instruction to every docket, and applies it here before resolving (the others apply
   * it when their blocking read returns, within a moment). It is applied by reading the stream up
   * to it, so the entries before it (this list's own earlier ones, which the background read may
   * not have returned yet, and other dockets') apply first and never land after it.
   */
  async send(instruction: StrikeInstruction): Promise<void> {
    const id = await this.#backend.appendStrike(encodeValue(instruction, "strike"));
    if (!await this.#catchUp(id)) this.#apply(instruction);
  }

  /** Reads and applies the stream up to `id`; false if it could not get there. */
  async #catchUp(id: string): Promise<boolean> {
    try {
      while (compareIds(this.#lastId, id) < 0) {
        const batch = await this.#backend.readStrikes(this.#lastId, 0);
        if (batch.length === 0) return false; // trimmed away (the stream was cleared)
        this.#applyAll(batch);
      }
      return true;
    } catch (error) {
      this.#logger.warn({ err: error }, "reading strikes failed; applying the instruction sent");
      return false;
    }
  }

  /**
   * Calls `listener` with every strike or restore that changes what is in effect here; returns a
   * function that stops the calls.
   *
   * @example
   * ```ts ignore
   * const stop = docket.strikeList.onChange((instruction) => console.log(instruction));
   * stop();
   * ```
   */
  onChange(listener: StrikeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops following the stream. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) {
      clearTimeout(this.#retry.timer);
      this.#retry.resolve();
    }
    await this.#following?.catch(() => undefined);
  }
}

/** Orders two stream ids (`<ms>-<seq>`, as both backends assign them) by time, then sequence. */
function compareIds(a: string, b: string): number {
  const [msA, seqA = 0] = a.split("-").map(Number);
  const [msB, seqB = 0] = b.split("-").map(Number);
  return msA - msB || seqA - seqB;
}
