import assert from "node:assert/strict";
import { Docket, task, Worker } from "../mod.ts";
import { FAST, LogCapture, redisUrl, uniqueName } from "./_harness.ts";

Deno.test("smoke: add, run, get result", async () => {
  const logs = new LogCapture();
  await using docket = await Docket.connect({
    name: uniqueName(),
    url: await redisUrl(),
    logger: logs.logger,
  });
  const greet = task({ name: "greet", run: ({ who }: { who: string }) => `hello ${who}` });
  docket.register(greet);
  const execution = await docket.add(greet)({ who: "world" });
  const later = await docket.add(greet, { when: Date.now() + 200, key: "later" })({ who: "later" });
  assert.equal(later.state, "scheduled");
  await using worker = new Worker(docket, FAST);
  await worker.runUntilFinished();
  assert.equal(await execution.getResult({ timeout: 1000 }), "hello world");
  assert.equal(await later.getResult({ timeout: 1000 }), "hello later");
  console.log(logs.lines.slice(0, 6).join(""));
});
