/**
 * The consumer group stays small: a worker that stops deletes its own consumer, and consumers
 * left by workers that died (no heartbeat, nothing pending) are pruned by the live ones.
 */

import assert from "node:assert/strict";
import { type Docket, task, Worker } from "../../mod.ts";
import { connectDocket, FAST, waitUntil } from "../_harness.ts";

const noop = task({ name: "noop", run: () => "ok" });

async function raw(docket: Docket): Promise<any> {
  return await (docket.backend as unknown as { client(): Promise<any> }).client();
}

async function consumers(docket: Docket): Promise<{ name: string; pending: number }[]> {
  const client = await raw(docket);
  const reply = await client.sendCommand(
    ["XINFO", "CONSUMERS", docket.keys.stream, docket.keys.group],
  ) as unknown[][];
  return reply.map((flat) => {
    const info = new Map<string, unknown>();
    for (let i = 0; i < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
    return { name: String(info.get("name")), pending: Number(info.get("pending")) };
  });
}

Deno.test("workers that stop delete their own consumer: N starts leave none behind [redis]", async () => {
  await using docket = await connectDocket("redis");
  docket.register(noop);
  for (let i = 0; i < 8; i++) {
    await docket.addMany(noop)([{}, {}, {}]);
    const worker = new Worker(docket, { ...FAST, name: `short-lived-${i}` });
    await worker.runUntilFinished();
  }
  assert.deepEqual(await consumers(docket), [], "no consumer left after 8 starts and stops");
});

Deno.test("consumers of dead workers with nothing pending are pruned; holders kept [redis]", async () => {
  await using docket = await connectDocket("redis", {
    heartbeatInterval: 100,
    missedHeartbeats: 2,
  });
  docket.register(noop);
  const client = await raw(docket);
  await client.sendCommand(
    ["XGROUP", "CREATE", docket.keys.stream, docket.keys.group, "0", "MKSTREAM"],
  );
  for (let i = 1; i <= 5; i++) {
    await client.sendCommand(
      ["XGROUP", "CREATECONSUMER", docket.keys.stream, docket.keys.group, `dead-${i}`],
    );
  }
  // One dead worker still holds a message: its consumer must stay until it is taken over.
  await docket.add(noop, { key: "held" })();
  await client.sendCommand([
    "XREADGROUP",
    "GROUP",
    docket.keys.group,
    "holder",
    "COUNT",
    "1",
    "STREAMS",
    docket.keys.stream,
    ">",
  ]);
  const worker = new Worker(docket, { ...FAST, name: "alive", redeliveryTimeout: 600_000 });
  const running = worker.runForever();
  try {
    await waitUntil(
      async () => (await consumers(docket)).every((c) => !c.name.startsWith("dead-")),
      30_000,
      "the dead consumers to be pruned",
    );
    // (The live worker's own consumer appears once a read has delivered to it.)
    const left = (await consumers(docket)).map((c) => c.name).filter((n) => n !== "alive");
    assert.deepEqual(left, ["holder"], "the consumer that holds a message is kept");
  } finally {
    await worker.stop();
    await running;
  }
  assert.deepEqual(
    (await consumers(docket)).map((c) => c.name),
    ["holder"],
    "the stopped worker removed its own; the holder keeps its pending message",
  );
});
