/**
 * One bad key fails one task: a runs key holding the wrong type of value (planted with the raw
 * client) fails the task it belongs to, with a clear error, and never its batch; the claim,
 * finish and admit scripts judge each message on its own.
 */

import assert from "node:assert/strict";
import {
  ConcurrencyLimit,
  type Docket,
  type Execution,
  task,
  Worker,
  WrongTypeKeyError,
} from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { Buffer } from "node:buffer";

const ordinary = task({ name: "ordinary", run: ({ n }: { n: number }) => n });

/** Plants a string where a task's runs hash belongs. */
async function plantString(docket: Docket, storeKey: string): Promise<void> {
  const client = await (docket.backend as unknown as { client(): Promise<any> }).client();
  await client.sendCommand(["SET", storeKey, "x"]);
}

/** Writes a tracked stream entry for `key` by hand (as `add` would, generation 1). */
async function plantEntry(docket: Docket, key: string, taskName: string): Promise<string> {
  const client = await (docket.backend as unknown as { client(): Promise<any> }).client();
  const { encodeValue } = await import("../../mod.ts");
  const data = Buffer.from(encodeValue({ n: 0 }, "payload"));
  return await client.sendCommand([
    "XADD",
    docket.keys.stream,
    "*",
    "k",
    key,
    "t",
    taskName,
    "d",
    data,
    "w",
    String(Date.now()),
    "a",
    "1",
    "g",
    "1",
  ]);
}

async function addAround(docket: Docket, count: number): Promise<Execution[]> {
  return await docket.addMany(ordinary)(Array.from({ length: count }, (_, n) => ({ n })));
}

Deno.test("a runs key of the wrong type fails its task, not its batch (claim) [redis]", async () => {
  const logs = new LogCapture();
  await using docket = await connectDocket("redis", { logger: logs.logger });
  docket.register(ordinary);
  const before = await addAround(docket, 55);
  await plantString(docket, docket.keys.runs("poison"));
  const id = await plantEntry(docket, "poison", "ordinary");
  const after = await addAround(docket, 55);
  // Short lease and frequent reclaims: the poison entry, were it left pending, would be handed
  // back in batch after batch.
  await using worker = new Worker(docket, { ...FAST, concurrency: 20, redeliveryTimeout: 200 });
  const running = worker.runForever();
  for (const [i, execution] of [...before, ...after].entries()) {
    assert.equal(await execution.getResult({ timeout: 30_000 }), i % 55);
  }
  // The poison entry was acknowledged and deleted: nothing brings it back.
  const client = await (docket.backend as unknown as { client(): Promise<any> }).client();
  const pending = await client.sendCommand(["XPENDING", docket.keys.stream, docket.keys.group]);
  assert.equal(Number(pending[0]), 0, "nothing left pending");
  assert.deepEqual(await client.sendCommand(["XRANGE", docket.keys.stream, id, id]), []);
  const failure = logs.records.find((r) => r.key === "poison" && r.level === 50);
  assert.ok(failure, "the failed task is logged as an error with its key");
  assert.match(String(failure.msg), /holds the wrong type of value \(a hash belongs there\)/);
  const { items } = await docket.failed();
  const kept = items.find((item) => item.key === "poison");
  assert.ok(kept, "the poisoned task is in the dead-letter set");
  assert.match(JSON.stringify(kept), /WrongTypeKeyError/);
  const unrecorded = logs.records.find((r) => /could not be recorded/.test(String(r.msg)));
  assert.ok(unrecorded, "the end that could not be written is reported");
  assert.equal(unrecorded.key, "poison");
  assert.match(String(unrecorded.reason), /WRONGTYPE/);
  await worker.stop();
  await running;
});

Deno.test("getExecution on a runs key of the wrong type: a WrongTypeKeyError [redis]", async () => {
  await using docket = await connectDocket("redis");
  await plantString(docket, docket.keys.runs("poison"));
  await assert.rejects(
    () => docket.getExecution("poison"),
    (error: unknown) => {
      assert.ok(error instanceof WrongTypeKeyError);
      assert.equal(error.name, "WrongTypeKeyError");
      assert.equal(error.storeKey, docket.keys.runs("poison"));
      assert.match(error.message, /holds the wrong type of value/);
      assert.doesNotMatch(error.message, /^WRONGTYPE/);
      return true;
    },
  );
});

Deno.test("the finish script records the others when one runs key turns bad mid-run [redis]", async () => {
  const logs = new LogCapture();
  await using docket = await connectDocket("redis", { logger: logs.logger });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = task({
    name: "held",
    async run({ n }: { n: number }) {
      await gate;
      return n;
    },
  });
  docket.register(held);
  const executions = await docket.addMany(held)(
    Array.from({ length: 10 }, (_, n) => ({ n })),
  );
  await using worker = new Worker(docket, { ...FAST, concurrency: 10 });
  const running = worker.runForever();
  // Every run has started (its record says running): now spoil one record, then let all end
  // together, so their ends go out in one finish batch.
  for (const execution of executions) {
    for await (const event of execution.subscribe()) {
      if (event.type === "state" && event.state === "running") break;
    }
  }
  const victim = executions[3].key;
  const client = await (docket.backend as unknown as { client(): Promise<any> }).client();
  await client.sendCommand(["DEL", docket.keys.runs(victim)]);
  await plantString(docket, docket.keys.runs(victim));
  release();
  for (const [n, execution] of executions.entries()) {
    if (execution.key === victim) continue;
    assert.equal(await execution.getResult({ timeout: 20_000 }), n);
  }
  await worker.stop();
  await running;
  const pending = await client.sendCommand(["XPENDING", docket.keys.stream, docket.keys.group]);
  assert.equal(Number(pending[0]), 0, "the spoiled run's message was acknowledged too");
  const report = logs.records.find((r) => /could not be recorded/.test(String(r.msg)));
  assert.equal(report?.key, victim);
});

Deno.test("the admit script fails a gated task whose runs key is bad, and only it [redis]", async () => {
  const logs = new LogCapture();
  await using docket = await connectDocket("redis", { logger: logs.logger });
  const limited = task({
    name: "limited",
    concurrency: ConcurrencyLimit({ max: 2 }),
    run: ({ n }: { n: number }) => n,
  });
  docket.register(limited);
  const before = await docket.addMany(limited)(Array.from({ length: 10 }, (_, n) => ({ n })));
  await plantString(docket, docket.keys.runs("poison"));
  await plantEntry(docket, "poison", "limited");
  const after = await docket.addMany(limited)(Array.from({ length: 10 }, (_, n) => ({ n })));
  await using worker = new Worker(docket, { ...FAST, concurrency: 4, redeliveryTimeout: 300 });
  const running = worker.runForever();
  for (const [i, execution] of [...before, ...after].entries()) {
    assert.equal(await execution.getResult({ timeout: 30_000 }), i % 10);
  }
  await worker.stop();
  await running;
  const failure = logs.records.find((r) => r.key === "poison" && r.level === 50);
  assert.ok(failure, "the poisoned task failed with an error naming it");
  assert.match(JSON.stringify(failure), /wrong type of value/);
});
