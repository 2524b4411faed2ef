/**
 * Tasks without flow controls pay nothing for them: no admission, release or safeguard command
 * is sent, and the hot path stays one claim script per batch and one finish script per batch.
 * Tasks with a concurrency limit add one admit script, and one read plus one release script.
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import type { RedisBackend } from "../../src/storage/redis/backend.ts";
import { admitScript } from "../../src/storage/redis/scripts/admit.ts";
import { releaseScript } from "../../src/storage/redis/scripts/release.ts";
import { renewSlotsScript } from "../../src/storage/redis/scripts/renew_slots.ts";
import { claimScript } from "../../src/storage/redis/scripts/claim.ts";
import { finishScript } from "../../src/storage/redis/scripts/finish.ts";

const SCRIPTS = new Map(
  [admitScript, releaseScript, renewSlotsScript, claimScript, finishScript].map((
    s,
  ) => [s.sha, s.name]),
);

/** Counts the commands the backend sends (by name; scripts by script name). */
function countCommands(backend: RedisBackend): Map<string, number> {
  const counts = new Map<string, number>();
  const send = backend.send.bind(backend);
  backend.send = (args, binary) => {
    const name = String(args[0]).toUpperCase();
    const label = name === "EVALSHA" ? `script:${SCRIPTS.get(String(args[1])) ?? "other"}` : name;
    const count = (label: string) => counts.set(label, (counts.get(label) ?? 0) + 1);
    // Counted once answered: a script's first call, refused with NOSCRIPT, is not a round trip
    // of the steady state.
    return send(args, binary).then((reply) => {
      count(label);
      if (args.some((arg) => typeof arg === "string" && arg.includes("concurrency"))) {
        count("touches-concurrency");
      }
      return reply;
    });
  };
  return counts;
}

Deno.test({
  name: "no extra commands for tasks without flow controls [redis]",
  ignore: !BACKENDS.includes("redis"),
  async fn() {
    const tasks = 200;
    const measure = async (limited: boolean) => {
      await using docket = await connectDocket("redis");
      const plain = task({ name: "plain", run() {} });
      const capped = task({
        name: "capped",
        concurrency: ConcurrencyLimit({ max: 20 }),
        run() {},
      });
      docket.register(limited ? capped : plain);
      await docket.addMany(limited ? capped : plain)(Array.from({ length: tasks }, () => ({})));
      const counts = countCommands(docket.backend as RedisBackend);
      // One long-lived worker; the background loops are slowed so only the hot path counts.
      await new Worker(docket, {
        ...FAST,
        concurrency: 10,
        schedulingResolution: 60_000,
        redeliveryTimeout: 600_000,
      }).runUntilFinished();
      return counts;
    };
    const without = await measure(false);
    const withLimit = await measure(true);
    const get = (counts: Map<string, number>, label: string) => counts.get(label) ?? 0;
    console.log("without flow controls:", Object.fromEntries(without));
    console.log("with a concurrency limit:", Object.fromEntries(withLimit));
    for (const label of ["script:admit", "script:release", "script:renew_slots", "XRANGE"]) {
      assert.equal(get(without, label), 0, label);
    }
    assert.equal(get(without, "touches-concurrency"), get(without, "ZRANGE"), "only counts()");
    // One claim script per batch of deliveries, one finish script per batch of ends.
    assert.ok(get(without, "script:claim") <= tasks / 5, `${get(without, "script:claim")} claims`);
    assert.ok(get(without, "script:finish") <= tasks, `${get(without, "script:finish")} finishes`);
    // With a limit: one admit per delivery, one release per run that held a slot (nobody waits).
    assert.equal(get(withLimit, "script:admit"), tasks);
    assert.equal(get(withLimit, "script:release"), tasks);
    assert.equal(get(withLimit, "XRANGE"), 0);
  },
});
