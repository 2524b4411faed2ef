/**
 * Strikes shared by every docket and worker: instructions are appended to a stream in the store,
 * loaded fully when a docket connects, then followed with a blocking read, so a strike issued
 * anywhere takes effect everywhere within a moment, with no restart.
 *
 * @module
 */

import type { Backend } from "../storage/backend.ts";
import { decodeValue, encodeValue } from "../codec.ts";
import type { Logger } from "../logging/logger.ts";
import { StrikeInstruction, StrikeSet } from "./strike_set.ts";

/** How long one blocking read of the strike stream waits before looping. */
const FOLLOW_BLOCK_MS = 5_000;

/** The strikes in effect for one docket, kept current from the store. */
export class StrikeList {
  /** The strikes in effect. */
  readonly strikes: StrikeSet = new StrikeSet();
  #backend: Backend;
  #logger: Logger;
  #lastId = "0-0";
  #following?: Promise<void>;
  #stopped = false;

  /** Creates the list; call `load()` before relying on it. */
  constructor(backend: Backend, logger: Logger) {
    this.#backend = backend;
    this.#logger = logger;
  }

  /** Reads every instruction so far, then keeps following the stream in the background. */
  async load(): Promise<void> {
    for (;;) {
      const batch = await this.#backend.readStrikes(this.#lastId, 0);
      this.#applyAll(batch);
      if (batch.length < 100) break;
    }
    this.#following = this.#follow();
  }

  async #follow(): Promise<void> {
    while (!this.#stopped) {
      try {
        const batch = await this.#backend.readStrikes(this.#lastId, FOLLOW_BLOCK_MS);
        if (!this.#stopped) this.#applyAll(batch);
      } catch (error) {
        if (this.#stopped) return;
        this.#logger.warn({ err: error }, "reading strikes failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  #applyAll(batch: { id: string; instruction: Uint8Array }[]): void {
    for (const { id, instruction } of batch) {
      this.#lastId = id;
      try {
        const decoded = decodeValue(instruction) as StrikeInstruction;
        if (this.strikes.apply(decoded)) {
          this.#logger.info(
            `${decoded.direction === "strike" ? "Striking" : "Restoring"} ${
              this.strikes.describe(decoded)
            }`,
          );
        }
      } catch (error) {
        this.#logger.warn({ err: error, id }, "ignoring a malformed strike instruction");
      }
    }
  }

  /** Sends an instruction to every docket, and applies it here at once. */
  async send(instruction: StrikeInstruction): Promise<void> {
    await this.#backend.appendStrike(encodeValue(instruction, "strike"));
    this.strikes.apply(instruction);
  }

  /** Stops following the stream. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#following?.catch(() => undefined);
  }
}
