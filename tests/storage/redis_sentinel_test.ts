/**
 * The Redis backend through Redis Sentinel (`redis+sentinel://`): a master, a replica and three
 * sentinels on loopback; the master is killed while a worker serves tasks, the sentinels promote
 * the replica, and every task added before and after completes.
 */

import assert from "node:assert/strict";
import { createClient, createSentinel } from "redis";
import { Docket, type Execution, task, Worker } from "../../mod.ts";
import { FAST, LogCapture, uniqueName } from "../_harness.ts";
import { makeCertificates, nextMessage, sentinelCommand, startSentinelSet } from "../_servers.ts";

Deno.test({
  name: "a worker keeps serving through a Sentinel failover; no task is lost",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const set = await startSentinelSet();
    const capture = new LogCapture();
    let docket: Docket | undefined;
    let worker: Worker | undefined;
    let running: Promise<void> | undefined;
    try {
      docket = await Docket.connect({
        url: set.sentinelUrl,
        name: uniqueName("sentinel"),
        logger: capture.logger,
      });
      const ran = new Set<number>();
      const work = task({
        name: "work",
        async run({ n }: { n: number }) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          ran.add(n);
          return n * 2;
        },
      });
      docket.register(work);
      const add = docket.add(work);
      const before: Execution[] = [];
      for (let n = 0; n < 40; n++) before.push(await add({ n }));
      worker = new Worker(docket, { ...FAST, concurrency: 2, reconnectionDelay: 100 });
      running = worker.runForever();
      // Some tasks have run, some have not, when the master goes.
      await before[3].getResult({ timeout: { seconds: 30 } });
      // What the master acknowledged has reached the replica (asynchronous replication would
      // otherwise lose the last writes with any client).
      const master = createClient({ socket: { host: "127.0.0.1", port: set.master.port } });
      await master.connect();
      assert.equal(await master.sendCommand(["WAIT", "1", "10000"]), 1);
      master.destroy();
      const switched = await nextMessage(set.sentinels[0].port, "+switch-master");
      await set.master.kill();
      const announcement = await withTimeout(switched.message, 60_000, "the failover");
      switched.close();
      assert.match(
        announcement,
        new RegExp(`mymaster 127.0.0.1 ${set.master.port} 127.0.0.1 ${set.replica.port}`),
      );
      const promoted = await sentinelCommand(set.sentinels[1].port, [
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        "mymaster",
      ]) as string[];
      assert.equal(Number(promoted[1]), set.replica.port);

      const after: Execution[] = [];
      for (let n = 40; n < 60; n++) after.push(await add({ n }));
      for (const execution of [...before, ...after]) {
        const n = (execution.payload as { n: number }).n;
        assert.equal(await execution.getResult({ timeout: { seconds: 60 } }), n * 2);
      }
      assert.equal(ran.size, 60);
      // The new master holds the work: nothing is left in the stream or the schedule.
      const counts = await docket.backend.counts();
      assert.deepEqual(counts, { stream: 0, queue: 0 });
    } finally {
      await worker?.stop();
      await running?.catch(() => {});
      await docket?.close();
      await set.dispose();
    }
  },
});

Deno.test({
  name: "subscriptions follow a Sentinel failover",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const set = await startSentinelSet();
    let docket: Docket | undefined;
    try {
      docket = await Docket.connect({
        url: set.sentinelUrl,
        name: uniqueName("sentinel"),
        logger: new LogCapture().logger,
      });
      const execution = await docket.add("trace")({ message: "later" });
      const states: string[] = [];
      let sawCompleted!: () => void;
      const completed = new Promise<void>((resolve) => sawCompleted = resolve);
      const watching = (async () => {
        for await (const event of execution.subscribe()) {
          if (event.type !== "state") continue;
          states.push(event.state);
          if (event.state === "completed") {
            sawCompleted();
            break;
          }
        }
      })();
      await waitForState(states, "queued");
      const master = createClient({ socket: { host: "127.0.0.1", port: set.master.port } });
      await master.connect();
      assert.equal(await master.sendCommand(["WAIT", "1", "10000"]), 1);
      master.destroy();
      const switched = await nextMessage(set.sentinels[0].port, "+switch-master");
      await set.master.kill();
      await withTimeout(switched.message, 60_000, "the failover");
      switched.close();
      // The worker runs on the new master; the subscription (opened on the old one) hears it.
      await new Worker(docket, { ...FAST, reconnectionDelay: 100 }).runUntilFinished();
      await withTimeout(completed, 60_000, "the completed event");
      await watching;
      assert.deepEqual(states.slice(-1), ["completed"]);
    } finally {
      await docket?.close();
      await set.dispose();
    }
  },
});

Deno.test({
  name: "a sentinel client the caller brings is used and left open",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const set = await startSentinelSet();
    const sentinel = createSentinel({
      name: "mymaster",
      sentinelRootNodes: set.sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
      RESP: 2,
    });
    try {
      await sentinel.connect();
      const docket = await Docket.connect({
        redis: sentinel,
        name: uniqueName("sentinel"),
        logger: new LogCapture().logger,
      });
      const execution = await docket.add("trace")({ message: "own sentinel client" });
      await new Worker(docket, FAST).runUntilFinished();
      await execution.getResult({ timeout: { seconds: 30 } });
      assert.equal((await docket.getExecution(execution.key))?.state, "completed");
      await docket.close();
      assert.ok(sentinel.isOpen, "the caller's sentinel client stays open");
      assert.equal(await sentinel.sendCommand(false, ["PING"]), "PONG");
    } finally {
      await sentinel.close().catch(() => {});
      await set.dispose();
    }
  },
});

Deno.test({
  name: "rediss+sentinel:// with client certificates, through a failover",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await makeCertificates();
    let set: Awaited<ReturnType<typeof startSentinelSet>> | undefined;
    let docket: Docket | undefined;
    try {
      set = await startSentinelSet("mymaster", certs);
      assert.match(set.sentinelUrl, /^rediss\+sentinel:/);
      docket = await Docket.connect({
        url: set.sentinelUrl,
        tls: { ca: certs.caFile, cert: certs.clientCert, key: certs.clientKey },
        name: uniqueName("sentinel-tls"),
        logger: new LogCapture().logger,
      });
      const before = await docket.add("trace")({ message: "before" });
      await new Worker(docket, FAST).runUntilFinished();
      await before.getResult({ timeout: { seconds: 30 } });
      const switched = await nextMessage(set.sentinels[0].port, "+switch-master", set.tls);
      await set.master.kill();
      await withTimeout(switched.message, 60_000, "the failover");
      switched.close();
      const after = await docket.add("trace")({ message: "after" });
      await new Worker(docket, { ...FAST, reconnectionDelay: 100 }).runUntilFinished();
      await after.getResult({ timeout: { seconds: 60 } });
      assert.equal((await docket.getExecution(after.key))?.state, "completed");
    } finally {
      await docket?.close();
      await set?.dispose();
      certs.dispose();
    }
  },
});

async function waitForState(states: string[], state: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!states.includes(state)) {
    if (Date.now() > deadline) throw new Error(`no "${state}" event`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
