/**
 * State events of batches are published only where someone can hear them: a batch of moves,
 * adds, claims and finishes that nobody listens to sends no PUBLISH at all (INFO commandstats on
 * a server of its own), while a subscriber of a task's channel still gets every event of that
 * task, and a pattern subscriber every event of the batch.
 */

import assert from "node:assert/strict";
import { type Docket, encodeValue, ExecutionState, task } from "../../mod.ts";
import type { Delivery } from "../../src/storage/backend.ts";
import { connectDocket, type RedisServer, startRedisServer } from "../_harness.ts";

const HOUR = 3_600_000;
const PER_GROUP = 20;

const noop = task({ name: "noop", run: () => {} });

/** A state event as the scripts publish it. */
interface StateEvent {
  type: string;
  key: string;
  state: string;
}

// deno-lint-ignore no-explicit-any
async function commandCalls(client: any): Promise<Record<string, number>> {
  const info = String(await client.sendCommand(["INFO", "commandstats"]));
  const calls: Record<string, number> = {};
  for (const [, name, count] of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    calls[name] = Number(count);
  }
  return calls;
}

/**
 * Tracked tasks through every batch script: `PER_GROUP` future tasks written before `ready`,
 * then, once it resolves, moved in one move_due call, `PER_GROUP` immediate adds in one add_now
 * call, claims through one read_claim (10) and one claim script (the rest), and one finish of
 * all. Answers the keys of the moved and of the added tasks.
 */
async function throughEveryScript(
  docket: Docket,
  ready: (keys: { moved: string[]; added: string[] }) => Promise<void>,
): Promise<{ moved: string[]; added: string[] }> {
  const payloads = Array.from({ length: PER_GROUP }, (_, i) => ({ i }));
  const future = await docket.addMany(noop, { when: Date.now() + HOUR })(payloads);
  // The keys of the immediate adds are chosen here, so listeners can subscribe to them first.
  const added = payloads.map((_, i) => `added-${i}`);
  const keys = { moved: future.map((e) => e.key), added };
  await ready(keys);
  const backend = docket.backend;
  const now = Date.now() + 2 * HOUR;
  assert.equal(await backend.moveDue(now, 1_000), PER_GROUP);
  // Written together, as addMany writes them: one add_now call.
  const data = encodeValue({});
  const outcomes = await backend.schedule(
    added.map((key) => ({
      mode: "add",
      key,
      task: noop.name,
      data,
      when: Date.now(),
      attempt: 1,
      tracked: true,
    })),
    Date.now(),
  );
  assert.deepEqual(outcomes, added.map(() => "scheduled"));
  const consumer = await backend.consumer("listening-worker", () => {});
  try {
    const deliveries: Delivery[] = [
      ...await consumer.claim({ count: 10, blockMs: 0, now }),
      ...await consumer.claim({ count: 100, blockMs: 0, now }),
    ];
    assert.equal(deliveries.length, 2 * PER_GROUP);
    await backend.finish(
      deliveries.map(({ id, message }) => ({
        id,
        key: message.key,
        generation: message.generation,
        state: ExecutionState.COMPLETED,
      })),
      now,
      60_000,
    );
  } finally {
    await consumer.close();
  }
  for (const key of [...keys.moved, ...keys.added]) {
    assert.equal((await docket.getExecution(key))?.state, ExecutionState.COMPLETED, key);
  }
  return keys;
}

async function withDocket(fn: (docket: Docket, server: RedisServer) => Promise<void>) {
  const server = await startRedisServer();
  try {
    await using docket = await connectDocket("redis", { url: server.url });
    docket.register(noop);
    await fn(docket, server);
  } finally {
    await server.stop();
  }
}

/** Events collected per key; `settled(n)` resolves once `n` have arrived. */
function collector() {
  const byKey = new Map<string, string[]>();
  let total = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  return {
    byKey,
    listener(message: string) {
      const event = JSON.parse(message) as StateEvent;
      if (event.type !== "state") return;
      byKey.set(event.key, [...byKey.get(event.key) ?? [], event.state]);
      total++;
      for (const w of waiting) if (total >= w.n) w.resolve();
    },
    settled(n: number): Promise<void> {
      if (total >= n) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
  };
}

const LIFECYCLE = ["queued", "running", "completed"];

Deno.test("a batch nobody listens to publishes nothing [redis]", async () => {
  await withDocket(async (docket) => {
    const client = await docket.redis();
    await throughEveryScript(docket, async () => {
      await client.sendCommand(["CONFIG", "RESETSTAT"]);
    });
    const calls = await commandCalls(client);
    assert.equal(calls.publish, undefined, `published ${calls.publish} events`);
    // Each batch script asked once: move_due, add_now, read_claim, claim and finish.
    assert.equal(calls["pubsub|numpat"], 5);
    assert.equal(calls["pubsub|numsub"], 5);
  });
});

Deno.test("a subscriber of a task's channel gets all its events, others are skipped [redis]", async () => {
  await withDocket(async (docket) => {
    const client = await docket.redis();
    const events = collector();
    const unsubscribes: (() => Promise<void>)[] = [];
    let listened: string[] = [];
    await throughEveryScript(docket, async ({ moved, added }) => {
      // Moved tasks 3 and 15 are claimed by read_claim and by claim; an added one by claim.
      listened = [moved[3], moved[15], added[5]];
      for (const key of listened) {
        unsubscribes.push(
          await docket.backend.subscribe(docket.keys.stateChannel(key), events.listener),
        );
      }
      await client.sendCommand(["CONFIG", "RESETSTAT"]);
    });
    await events.settled(listened.length * LIFECYCLE.length);
    for (const key of listened) assert.deepEqual(events.byKey.get(key), LIFECYCLE, key);
    assert.deepEqual([...events.byKey.keys()].sort(), [...listened].sort());
    const calls = await commandCalls(client);
    assert.equal(calls.publish, listened.length * LIFECYCLE.length);
    for (const unsubscribe of unsubscribes) await unsubscribe();
  });
});

Deno.test("a pattern subscriber gets every event of the batch [redis]", async () => {
  await withDocket(async (docket) => {
    const client = await docket.redis();
    const events = collector();
    let unsubscribe = () => Promise.resolve();
    const { moved, added } = await throughEveryScript(docket, async () => {
      unsubscribe = await docket.backend.subscribeEvents(events.listener);
      await client.sendCommand(["CONFIG", "RESETSTAT"]);
    });
    const all = [...moved, ...added];
    await events.settled(all.length * LIFECYCLE.length);
    for (const key of all) assert.deepEqual(events.byKey.get(key), LIFECYCLE, key);
    const calls = await commandCalls(client);
    assert.equal(calls.publish, all.length * LIFECYCLE.length);
    // Once a pattern subscription exists, nothing asks about channels.
    assert.equal(calls["pubsub|numsub"], undefined);
    await unsubscribe();
  });
});
