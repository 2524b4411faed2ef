/**
 * The end check of runUntilFinished looks again soon while other workers are finishing (the
 * stream shrinks), and only once more when they are not (a long task elsewhere).
 */

import assert from "node:assert/strict";
import { type Counts, nothingLeft } from "../../src/worker/until_finished.ts";

/** A store whose counts follow a script (the last one repeats); counts its looks. */
function scripted(...sequence: Counts[]) {
  let looks = 0;
  return {
    get looks() {
      return looks;
    },
    counts: () => Promise.resolve(sequence[Math.min(looks++, sequence.length - 1)]),
  };
}

Deno.test("looks again while the stream shrinks, and ends when it is empty", async () => {
  const store = scripted({ stream: 50, queue: 0 }, { stream: 25, queue: 0 }, {
    stream: 0,
    queue: 0,
  });
  assert.equal(await nothingLeft(store, () => true, 50), true);
  assert.equal(store.looks, 3);
});

Deno.test("one more look when the stream does not shrink (a long task elsewhere)", async () => {
  const store = scripted({ stream: 3, queue: 0 });
  assert.equal(await nothingLeft(store, () => true, 50), false);
  assert.equal(store.looks, 2);
});

Deno.test("no second look when tasks are scheduled, or the budget is too short", async () => {
  const scheduled = scripted({ stream: 3, queue: 1 });
  assert.equal(await nothingLeft(scheduled, () => true, 50), false);
  assert.equal(scheduled.looks, 1);
  const short = scripted({ stream: 3, queue: 0 }, { stream: 0, queue: 0 });
  assert.equal(await nothingLeft(short, () => true, 4), false);
  assert.equal(short.looks, 1);
});

Deno.test("the looks stay within the budget", async () => {
  let stream = 1_000;
  const store = { counts: () => Promise.resolve({ stream: stream--, queue: 0 }) };
  const started = Date.now();
  assert.equal(await nothingLeft(store, () => true, 40), false);
  assert.ok(Date.now() - started < 200, "5 + 10 + 20 ms of waits, and no more");
});

Deno.test("a worker that is not idle is not finished", async () => {
  assert.equal(await nothingLeft(scripted({ stream: 0, queue: 0 }), () => false, 50), false);
});
