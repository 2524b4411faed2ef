/**
 * A strike list applies the strike stream in order: its background read returning an entry late
 * (after `send()` has applied a newer one) never undoes the newer instruction.
 */

import assert from "node:assert/strict";
import type { Backend } from "../../src/storage/backend.ts";
import { makeStrikeInstruction } from "../../src/strikes/strike_set.ts";
import { StrikeList } from "../../src/strikes/strike_list.ts";
import { BACKENDS, connectDocket, LogCapture } from "../_harness.ts";

/**
 * The docket's own store, with the list's blocking reads held back once they have their answer
 * until `release()`: the background read of a loaded machine, slow to hand its entries over.
 */
function slowFollower(backend: Backend) {
  const arrived = Promise.withResolvers<{ id: string }[]>();
  let started = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const store = {
    appendStrike: (instruction: Uint8Array) => backend.appendStrike(instruction),
    compactStrikes: (lastId: string, snapshot: Uint8Array, minLength: number) =>
      backend.compactStrikes(lastId, snapshot, minLength),
    async readStrikes(afterId: string, blockMs: number) {
      if (blockMs === 0) return await backend.readStrikes(afterId, 0);
      started.resolve();
      const batch = await backend.readStrikes(afterId, blockMs);
      arrived.resolve(batch);
      await gate.promise;
      return batch;
    },
  } as unknown as Backend;
  return {
    store,
    release: () => gate.resolve(),
    /** Resolves with the first blocking read's answer (before it is handed over). */
    firstArrival: () => arrived.promise,
    /** Resolves when the list starts its next blocking read (so it applied the last one). */
    nextRead: () => {
      started = Promise.withResolvers<void>();
      return started.promise;
    },
  };
}

for (const kind of BACKENDS) {
  Deno.test(`a late background read never undoes a newer strike or restore [${kind}]`, async () => {
    const docket = await connectDocket(kind);
    const follower = slowFollower(docket.backend);
    const list = new StrikeList(follower.store, new LogCapture().logger);
    const struck = makeStrikeInstruction("strike", "process_order");
    try {
      await list.load();
      const arrival = follower.firstArrival();
      await list.send(struck);
      assert.equal(list.strikes.has(struck), true, "send() applies the strike before resolving");
      // The background read has the strike in hand, and has not handed it over yet.
      assert.equal((await arrival).length, 1);

      await list.send(makeStrikeInstruction("restore", "process_order"));
      assert.equal(list.strikes.has(struck), false, "send() applies the restore before resolving");

      const applied = follower.nextRead();
      follower.release();
      await applied;
      assert.equal(
        list.strikes.has(struck),
        false,
        "the older strike, read late, is not reapplied",
      );
      assert.equal(list.strikes.size, 0);
    } finally {
      // Closing the store ends the list's blocking read, so it stops at once.
      const stopped = list.stop();
      await docket[Symbol.asyncDispose]();
      await stopped;
    }
  });
}
