/**
 * The worker's intake: how many slots each claim may fill, when a claim blocks, what is left to
 * the worker's loop, and that claims go out in the very step that frees the slots (no timer and
 * no loop turn in between). A consumer written here stands in for the store, so each claim's
 * arguments and the moment it is made can be seen; the drains over Redis are in worker_test.ts.
 */

import assert from "node:assert/strict";
import type { Consumer, Delivery } from "../../src/storage/backend.ts";
import { Intake } from "../../src/worker/intake.ts";
import { workerObservers } from "../../src/worker/observers.ts";
import { ReadPacing } from "../../src/worker/read_pacing.ts";

interface AskedClaim {
  count: number;
  blockMs: number;
  answer: (deliveries: Delivery[]) => void;
  fail: (error: unknown) => void;
}

/** A consumer whose claims are answered by the test. */
class HandConsumer implements Consumer {
  readonly asked: AskedClaim[] = [];
  readonly nonePending = false;
  /** Its claims cannot be interrupted: a worker run forever keeps short blocking reads. */
  interruptible(): Promise<boolean> {
    return Promise.resolve(false);
  }
  interrupt(): Promise<void> {
    return Promise.resolve();
  }
  claim(options: { count: number; blockMs: number }): Promise<Delivery[]> {
    return new Promise((answer, fail) => {
      this.asked.push({ count: options.count, blockMs: options.blockMs, answer, fail });
    });
  }
  renew(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function deliveries(n: number, prefix = "k"): Delivery[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `0-${prefix}${i}`,
    redelivered: false,
    message: {
      key: `${prefix}${i}`,
      task: "t",
      data: new Uint8Array(),
      when: 0,
      attempt: 1,
      generation: 1,
    },
  } as Delivery));
}

async function setUp(concurrency: number) {
  const consumer = new HandConsumer();
  const held = new Set<string>();
  let loopWakes = 0;
  let stopping = false;
  const timings = { redeliveryTimeout: 60_000, minimumCheckInterval: 250 };
  const intake = new Intake({
    consumer,
    pacing: await ReadPacing.start(consumer, timings, false),
    concurrency: () => concurrency,
    held: () => held.size,
    stopping: () => stopping,
    launch: (delivery) => held.add(delivery.message.key),
    wakeLoop: () => loopWakes++,
    gated: () => false,
    observer: workerObservers({ name: "d", group: "d-workers" }, "w"),
    redeliveryTimeout: timings.redeliveryTimeout,
    maxRedeliveries: 3,
  });
  return {
    consumer,
    held,
    intake,
    loopWakes: () => loopWakes,
    stop: () => (stopping = true),
  };
}

/** Lets the claims' callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("intake: while work waits, two non-blocking claims of half the slots each, no more", async () => {
  const { consumer, intake } = await setUp(10);
  assert.equal(intake.pump(), true);
  assert.deepEqual(consumer.asked.map(({ count, blockMs }) => [count, blockMs]), [[5, 0], [5, 0]]);
  // Every slot is reserved for a claim under way: pumping again sends nothing.
  intake.pump();
  assert.equal(consumer.asked.length, 2);
  assert.equal(intake.inFlight, 2);
});

Deno.test("intake: of two claims back in one turn, the second's tasks start after that turn's writes", async () => {
  const { consumer, held, intake } = await setUp(4);
  intake.pump();
  const turnEnded = new Promise((resolve) => setImmediate(resolve));
  consumer.asked[0].answer(deliveries(2, "a"));
  consumer.asked[1].answer(deliveries(2, "b"));
  await turnEnded;
  // The first claim's tasks started at once; the second's wait, their slots still reserved.
  assert.deepEqual([...held], ["a0", "a1"]);
  assert.equal(intake.inFlight, 1);
  held.clear();
  intake.pump();
  assert.deepEqual(consumer.asked.map(({ count }) => count), [2, 2, 2], "only the freed slots");
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([...held], ["b0", "b1"]);
  assert.equal(intake.inFlight, 1);
});

Deno.test("intake: a claim back in a turn of its own starts its tasks at once", async () => {
  const { consumer, held, intake } = await setUp(4);
  intake.pump();
  consumer.asked[0].answer(deliveries(2, "a"));
  await settle();
  consumer.asked[1].answer(deliveries(2, "b"));
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual([...held], ["a0", "a1", "b0", "b1"]);
});

Deno.test("intake: slots freed refill in the same step; a short claim makes the next one block", async () => {
  const { consumer, held, intake } = await setUp(4);
  intake.pump();
  assert.equal(consumer.asked.length, 2);
  consumer.asked[0].answer(deliveries(2, "a"));
  await settle();
  // Two runs hold their slots, the other claim holds the rest: nothing to send.
  assert.equal(held.size, 2);
  assert.equal(consumer.asked.length, 2);
  // The runs end: their claim goes out before the call that freed the slots returns.
  held.clear();
  intake.pump();
  assert.deepEqual(consumer.asked.map(({ count }) => count), [2, 2, 2]);
  // A claim comes back short (the stream ran dry): no second claim beside the one under way.
  consumer.asked[1].answer(deliveries(1, "b"));
  await settle();
  assert.equal(consumer.asked.length, 3);
  // Once none is under way, the next claim waits for work, for every free slot.
  consumer.asked[2].answer(deliveries(1, "c"));
  await settle();
  assert.equal(held.size, 2);
  assert.deepEqual([consumer.asked[3].count, consumer.asked[3].blockMs], [2, 250]);
});

Deno.test("intake: an empty stream, a failed read and a stop are left to the loop", async () => {
  const { consumer, intake, loopWakes, stop } = await setUp(1);
  intake.pump();
  consumer.asked[0].answer([]);
  await settle();
  // Empty, nothing under way: the loop decides whether the worker is finished.
  assert.equal(intake.pump(), false);
  assert.ok(loopWakes() > 0);
  intake.emptied = false;
  // Work may be waiting no more: the next claim blocks, for the check interval.
  intake.pump();
  assert.deepEqual([consumer.asked[1].count, consumer.asked[1].blockMs], [1, 250]);
  consumer.asked[1].fail(new Error("connection lost"));
  await settle();
  assert.equal((intake.failure?.error as Error).message, "connection lost");
  const wakes = loopWakes();
  assert.equal(intake.pump(), false);
  assert.ok(loopWakes() > wakes);
  assert.equal(consumer.asked.length, 2);
  intake.failure = undefined;
  stop();
  assert.equal(intake.pump(), false);
  assert.equal(consumer.asked.length, 2);
});

Deno.test("intake: while the loop waits out a failed read, freed slots send no claim", async () => {
  const { consumer, held, intake } = await setUp(2);
  intake.pump();
  consumer.asked[0].answer(deliveries(1, "a"));
  await settle();
  consumer.asked[1].answer(deliveries(1, "b"));
  await settle();
  assert.equal(held.size, 2);
  intake.backingOff = true;
  held.clear();
  assert.equal(intake.pump(), true);
  assert.equal(consumer.asked.length, 2);
  intake.backingOff = false;
  intake.pump();
  assert.equal(consumer.asked.length, 4);
});

Deno.test("intake: deliveries of a claim the stop gave up on are not started", async () => {
  const { consumer, held, intake } = await setUp(2);
  intake.pump();
  intake.abandoned = true;
  consumer.asked[0].answer(deliveries(1));
  await settle();
  assert.equal(held.size, 0);
});
