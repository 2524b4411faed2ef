import assert from "node:assert/strict";
import { planScatter } from "../src/agenda_plan.ts";

const START = Date.UTC(2025, 0, 1, 12, 0, 0);

/** A `random` that replays `values` in turn. */
function replay(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

Deno.test("no tasks: no times", () => {
  assert.deepEqual(planScatter(0, { start: START, over: 60_000 }), []);
});

Deno.test("three tasks over 60 s: start, +30 s, +60 s", () => {
  assert.deepEqual(planScatter(3, { start: START, over: 60_000 }), [
    START,
    START + 30_000,
    START + 60_000,
  ]);
  assert.deepEqual(planScatter(3, { start: new Date(START), over: { seconds: 60 } }), [
    START,
    START + 30_000,
    START + 60_000,
  ]);
});

Deno.test("a single task goes in the middle of the window", () => {
  assert.deepEqual(planScatter(1, { start: START, over: { minutes: 10 } }), [START + 300_000]);
});

Deno.test("100 tasks over 50 minutes are about 30.3 s apart, both ends included", () => {
  const times = planScatter(100, { start: START, over: { minutes: 50 } });
  assert.equal(times.length, 100);
  assert.equal(times[0], START);
  assert.equal(times[99], START + 50 * 60_000);
  const step = 3_000_000 / 99; // 30_303.03 ms
  for (let i = 0; i < times.length; i++) {
    assert.ok(Number.isInteger(times[i]));
    assert.ok(Math.abs(times[i] - (START + i * step)) <= 0.5, `task ${i}`);
    if (i > 0) {
      const gap = times[i] - times[i - 1];
      assert.ok(gap === 30_303 || gap === 30_304, `gap ${gap} before task ${i}`);
    }
  }
});

Deno.test("jitter stays within ±jitter and never goes before start", () => {
  const jitter = 30_000;
  const over = 600_000;
  // 0 → -jitter, 0.5 → 0, 0.999… → almost +jitter, 0.25 → -jitter/2
  const randoms = [0, 0.5, 0.9999999, 0.25, 0, 1 - 1e-12];
  const times = planScatter(6, { start: START, over, jitter, random: replay(...randoms) });
  const step = over / 5;
  // The first task would move to start - 30 s: it is clamped to start.
  assert.equal(times[0], START);
  assert.equal(times[1], START + step);
  assert.equal(times[2], START + 2 * step + jitter);
  assert.equal(times[3], START + 3 * step - jitter / 2);
  assert.equal(times[4], START + 4 * step - jitter);
  assert.equal(times[5], START + over + jitter);

  // Any random sequence: within ±jitter of the even spacing, never before start.
  let seed = 42;
  const lcg = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const many = planScatter(50, { start: START, over: { minutes: 5 }, jitter, random: lcg });
  const gap = 300_000 / 49;
  many.forEach((time, i) => {
    assert.ok(time >= START, `task ${i} before start`);
    assert.ok(Math.abs(time - (START + i * gap)) <= jitter + 0.5, `task ${i} too far`);
  });
});

Deno.test("a single task with jitter is still around the middle", () => {
  const [time] = planScatter(1, {
    start: START,
    over: 60_000,
    jitter: { seconds: 10 },
    random: () => 1 - 1e-12,
  });
  assert.equal(time, START + 40_000);
});

Deno.test("over must be positive, jitter not negative, count whole", () => {
  assert.throws(
    () => planScatter(3, { start: START, over: 0 }),
    (error: unknown) =>
      error instanceof RangeError && error.message.startsWith("over must be a positive duration"),
  );
  assert.throws(() => planScatter(3, { start: START, over: -1 }), RangeError);
  assert.throws(() => planScatter(0, { start: START, over: { minutes: -5 } }), RangeError);
  assert.throws(() => planScatter(3, { start: START, over: 1000, jitter: -1 }), /jitter/);
  assert.throws(() => planScatter(-1, { start: START, over: 1000 }), /count/);
  assert.throws(() => planScatter(1.5, { start: START, over: 1000 }), /count/);
  assert.throws(() => planScatter(3, { start: NaN, over: 1000 }), TypeError);
});
