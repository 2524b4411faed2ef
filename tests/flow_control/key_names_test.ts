/**
 * Argument values are escaped in flow-control key names, so that no value can name another
 * value's data or its waiters stream (a value `x:waiters` once named the waiters of value `x`).
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, task } from "../../mod.ts";
import { controlName } from "../../src/worker/admission.ts";
import type { AdmissionControl } from "../../src/hooks.ts";
import { keyPart } from "../../src/keys.ts";
import { BACKENDS, connectDocket } from "../_harness.ts";
import { Gate, redisKeys, waitForState } from "./_support.ts";
import { withWorker } from "./_concurrency.ts";

const KINDS: AdmissionControl["kind"][] = ["concurrency", "debounce", "cooldown", "rate-limit"];
const VALUES = ["x", "x:waiters", "x%3Awaiters", "x%253Awaiters", "x:", ":x", "", "x\n", 7, "7"];

Deno.test("key parts escape %, : and control characters, and nothing else", () => {
  assert.equal(keyPart("customer-1001"), "customer-1001");
  assert.equal(keyPart("x:waiters"), "x%3Awaiters");
  assert.equal(keyPart("100%"), "100%25");
  assert.equal(keyPart("a\x1b[2J"), "a%1B[2J");
  assert.equal(keyPart("é ü {}"), "é ü {}");
});

Deno.test("no argument value names another value's data or waiters stream", () => {
  for (const kind of KINDS) {
    const control = { kind, param: "c" } as AdmissionControl;
    const names = VALUES.map((value) => controlName(control, "job", { c: value }));
    const waiters = names.map((name) => `${name}:waiters`);
    // 7 and "7" share a limit on purpose (a value is keyed by its text); all else is distinct.
    assert.equal(new Set(names).size, VALUES.length - 1, `${kind}: ${names.join(" | ")}`);
    for (const name of names) assert.ok(!waiters.includes(name), `${kind}: ${name}`);
    for (const name of names) assert.equal(name.split(":").length, 3, name);
  }
  const perTask = controlName({ kind: "concurrency" } as AdmissionControl, "a:b", {});
  assert.equal(perTask, "concurrency:a%3Ab");
});

for (const kind of BACKENDS) {
  Deno.test(`a value "x:waiters" has a limit of its own beside "x" [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const gate = new Gate();
    const started = new Gate();
    const ran: string[] = [];
    const job = task({
      name: "limited",
      concurrency: ConcurrencyLimit("c", { max: 1 }),
      async run({ c }: { c: string }, ctx) {
        if (ctx.key === "holder") {
          started.open();
          await gate.opened;
        }
        ran.push(`${ctx.key}:${c}`);
      },
    });
    docket.register(job);
    await withWorker(docket, { concurrency: 4 }, async () => {
      await docket.add(job, { key: "holder" })({ c: "x" });
      await started.opened;
      // Waits behind the holder, on the waiters stream of value "x".
      await docket.add(job, { key: "second" })({ c: "x" });
      await waitForState(docket, "second", "scheduled");
      // Its own limit: runs now, and neither disturbs the waiters of "x" nor is held by them.
      await docket.add(job, { key: "other" })({ c: "x:waiters" });
      await waitForState(docket, "other", "completed", 20_000);
      assert.deepEqual(ran, ["other:x:waiters"]);
      if (kind === "redis") {
        const keys = await redisKeys(docket, "concurrency:c:*");
        assert.ok(keys.includes(`${docket.keys.prefix}:concurrency:c:x:waiters`), keys.join());
      }
      gate.open();
      await waitForState(docket, "second", "completed", 20_000);
    });
    assert.deepEqual(ran.sort(), ["holder:x", "other:x:waiters", "second:x"]);
  });
}
