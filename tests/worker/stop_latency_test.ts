/**
 * A stop does not wait out a background loop's interval: a loop whose call to the store is under
 * way when the worker stops (here the heartbeat, made slow) returns once the call ends, instead
 * of going to sleep for its whole interval after the stop's wake-up has passed.
 */

import assert from "node:assert/strict";
import { task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";

const noop = task({ name: "noop", run: () => "ok" });

for (const kind of BACKENDS) {
  Deno.test(`runUntilFinished ends soon after a heartbeat in flight at the stop [${kind}]`, async () => {
    // A long heartbeat interval: waiting it out would hold the stop until its 3 s deadline.
    await using docket = await connectDocket(kind, { heartbeatInterval: { seconds: 30 } });
    docket.register(noop);
    await docket.addMany(noop)([{}, {}, {}]);
    const backend = docket.backend as unknown as { heartbeat: (...a: unknown[]) => Promise<void> };
    const heartbeat = backend.heartbeat.bind(backend);
    let beats = 0;
    // The real heartbeat, sent late: the worker finishes its work while the first is under way.
    backend.heartbeat = async (...args) => {
      beats++;
      await new Promise((resolve) => setTimeout(resolve, 300));
      await heartbeat(...args);
    };
    const worker = new Worker(docket, { ...FAST, scheduleAutomaticTasks: false });
    const started = Date.now();
    await worker.runUntilFinished();
    const took = Date.now() - started;
    assert.equal(beats, 1, "one heartbeat was under way at the stop");
    assert.ok(took < 1_500, `runUntilFinished took ${took} ms (the heartbeat takes 300 ms)`);
  });
}

for (const kind of BACKENDS) {
  Deno.test(`runUntilFinished sends no waiting read once the work is done [${kind}]`, async () => {
    // A waiting read sent while the end check is out would hold the end of the run for as long as
    // it blocks (here 20 s, cut to the stop's 3 s deadline), after the last task has run.
    await using docket = await connectDocket(kind);
    docket.register(noop);
    await docket.addMany(noop)([{}, {}, {}, {}, {}]);
    const backend = docket.backend as unknown as {
      consumer: (...a: unknown[]) => Promise<{ claim: (o: { blockMs?: number }) => unknown }>;
    };
    const open = backend.consumer.bind(backend);
    const blocks: number[] = [];
    backend.consumer = async (...args) => {
      const consumer = await open(...args);
      const claim = consumer.claim.bind(consumer);
      consumer.claim = (options) => {
        blocks.push(options.blockMs ?? 0);
        return claim(options);
      };
      return consumer;
    };
    const worker = new Worker(docket, {
      concurrency: 1,
      minimumCheckInterval: 20_000,
      scheduleAutomaticTasks: false,
    });
    await worker.runUntilFinished();
    assert.equal(blocks.length, 6, "five claims that each found a task, one that found none");
    assert.deepEqual(blocks.filter((ms) => ms > 0), [], "no claim waited for work");
  });
}
