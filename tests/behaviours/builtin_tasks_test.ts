/**
 * The built-in tasks trace, fail (with its own retry) and sleep, registered on every docket.
 */

import assert from "node:assert/strict";
import { ExecutionState, fail, sleep, trace, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { eachBackend, linesWith, settled, signal, within } from "./_support.ts";

eachBackend("every docket registers trace, fail and sleep", async (kind) => {
  await using docket = await connectDocket(kind);
  for (const name of ["trace", "fail", "sleep"]) assert.ok(docket.tasks.has(name), name);
  assert.equal(docket.tasks.get("trace"), trace);
  assert.equal(docket.tasks.get("fail"), fail);
  assert.equal(docket.tasks.get("sleep"), sleep);
});

eachBackend("trace logs its message, the key, the docket and the worker", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const first = await docket.add(trace, { key: "milestone-1" })({
    message: "System startup completed",
  });
  await docket.add("trace", { key: "milestone-2" })({ message: "Processing batch 123" });
  await new Worker(docket, { ...FAST, name: "tracer" }).runUntilFinished();
  assert.equal(await first.getResult({ timeout: 1_000 }), undefined);
  const [line] = linesWith(logs.lines, "System startup completed: milestone-1");
  assert.ok(line, logs.text());
  assert.match(
    String(line.msg),
    new RegExp(`added to docket ${docket.name} \\d+\\.\\d{3}s ago, now running on worker tracer`),
  );
  assert.equal(line.level, 30);
  assert.equal(line.task, "trace");
  assert.equal(linesWith(logs.lines, "Processing batch 123: milestone-2").length, 1);
  // Its message is logged in the start line too.
  assert.ok(linesWith(logs.lines, "↪").some((r) => String(r.msg).includes("trace(message='")));
});

eachBackend("fail fails twice (its own retry), then ends FAILED", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const execution = await docket.add(fail, { key: "alarm" })({
    message: "Testing error notification system",
  });
  await new Worker(docket, { ...FAST, name: "failer" }).runUntilFinished();
  await execution.sync();
  assert.equal(execution.state, ExecutionState.FAILED);
  assert.equal(execution.attempt, 2);
  await assert.rejects(execution.getResult({ timeout: 1_000 }), (error: Error) => {
    assert.match(
      error.message,
      new RegExp(
        `^Testing error notification system: alarm added to docket ${docket.name} ` +
          `\\d+\\.\\d{3}s ago, now running on worker failer$`,
      ),
    );
    return true;
  });
  const ends = linesWith(logs.lines, "↩");
  assert.deepEqual(ends.map((r) => r.attempt), [1, 2]);
  assert.equal(ends[1].level, 50);
});

eachBackend("sleep sleeps, and ends early when cancelled", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const nap = await docket.add(sleep)({ seconds: 0.2 });
  const started = Date.now();
  await new Worker(docket, FAST).runUntilFinished();
  assert.ok(Date.now() - started >= 200);
  assert.equal(await nap.getResult({ timeout: 1_000 }), undefined);
  assert.equal(linesWith(logs.lines, "Sleeping for 0.2 seconds").length, 1);

  const asleep = signal();
  const unsubscribe = await docket.backend.subscribe(docket.keys.stateChannel("long-nap"), (m) => {
    if (m.includes('"running"')) asleep.resolve();
  });
  const long = await docket.add(sleep, { key: "long-nap" })({ seconds: 60 });
  const worker = new Worker(docket, FAST);
  const running = worker.runUntilFinished();
  await within(asleep.promise, 5_000, "the long sleep to start");
  await unsubscribe();
  await docket.cancel("long-nap");
  assert.equal(await settled(long), ExecutionState.CANCELLED);
  await within(running, 5_000, "the worker to finish well before 60 s");
});
