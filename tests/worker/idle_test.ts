/**
 * An idle worker waits for work without polling the store: run forever, its read blocks long and
 * a task added by another client ends it; `stop()` ends it at once, leaving nothing pending; its
 * scheduler sleeps until the next future task is due, and another client scheduling an earlier
 * one wakes it; and over a few heartbeats it sends only a handful of Redis commands.
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import { type Docket, task, Worker } from "../../mod.ts";
import type { Consumer } from "../../src/storage/backend.ts";
import type { WorkerInternalOptions } from "../../src/worker/options.ts";
import { IDLE_BLOCK_MAX_MS } from "../../src/worker/read_pacing.ts";
import { aclRules } from "../../src/storage/redis/permissions.ts";
import {
  type BackendKind,
  BACKENDS,
  connectDocket,
  startRedisServer,
  uniqueName,
} from "../_harness.ts";

/** Generous: these bound a wait for an event, never a speed. */
const EVENT_TIMEOUT_MS = 30_000;

type ClaimOptions = Parameters<Consumer["claim"]>[0];

/** Resolves with `promise`, or rejects when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Records the options of every claim the docket's workers make; `longWait` resolves once a claim
 * that may block longer than any short check (an idle worker's read) has gone out.
 */
function watchClaims(docket: Docket): { claims: ClaimOptions[]; longWait: Promise<void> } {
  const backend = docket.backend;
  const open = backend.consumer.bind(backend);
  const claims: ClaimOptions[] = [];
  let seen!: () => void;
  const longWait = new Promise<void>((resolve) => (seen = resolve));
  backend.consumer = async (name, warn) => {
    const consumer = await open(name, warn);
    const claim = consumer.claim.bind(consumer);
    consumer.claim = (options) => {
      claims.push(options);
      if (Math.max(options.blockMs, options.quietBlockMs ?? 0) > 1_000) seen();
      return claim(options);
    };
    return consumer;
  };
  return { claims, longWait };
}

/** A second client of the same docket (another process, as far as the worker can tell). */
function otherClient(kind: BackendKind, docket: Docket): Promise<Docket> {
  return connectDocket(kind, { name: docket.name });
}

function recorder() {
  let ran!: (value: string) => void;
  const done = new Promise<string>((resolve) => (ran = resolve));
  const definition = task({ name: "record", run: ({ id }: { id: string }) => ran(id) });
  return { definition, done };
}

for (const kind of BACKENDS) {
  Deno.test(`an idle worker blocks long and a task added by another client ends the wait [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const { definition, done } = recorder();
    docket.register(definition);
    const { claims, longWait } = watchClaims(docket);
    const worker = new Worker(docket, { minimumCheckInterval: 100, scheduleAutomaticTasks: false });
    const running = worker.runForever();
    try {
      await within(longWait, EVENT_TIMEOUT_MS, "an idle read");
      const idle = claims.at(-1)!;
      assert.ok(idle.interruptible, "the idle read can be interrupted by stop()");
      assert.ok(
        Math.max(idle.blockMs, idle.quietBlockMs ?? 0) >= IDLE_BLOCK_MAX_MS / 2,
        `the idle read blocks long, not minimumCheckInterval: ${JSON.stringify(idle)}`,
      );
      await using other = await otherClient(kind, docket);
      other.register(definition);
      await other.add(definition)({ id: "now" });
      assert.equal(await within(done, EVENT_TIMEOUT_MS, "the task to run"), "now");
    } finally {
      await worker.stop();
      await running;
    }
  });

  Deno.test(`stop() ends an idle worker's long read at once, leaving nothing pending [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const { definition } = recorder();
    docket.register(definition);
    const { longWait } = watchClaims(docket);
    const worker = new Worker(docket, { minimumCheckInterval: 100, scheduleAutomaticTasks: false });
    const running = worker.runForever();
    await within(longWait, EVENT_TIMEOUT_MS, "an idle read");
    // The read blocks up to IDLE_BLOCK_MAX_MS: a stop that waited it out would take that long
    // (and past its own deadline would leave the read behind).
    await within(worker.stop(), IDLE_BLOCK_MAX_MS / 3, "the stop");
    await running;
    assert.deepEqual((await docket.backend.pending(10)).stream, [], "nothing was delivered");
    const after = await docket.add(definition)({ id: "after" });
    assert.deepEqual(
      (await docket.backend.pending(10)).stream.map((e) => [e.message.key, e.consumer]),
      [[after.key, undefined]],
      "a task added after the stop waits undelivered: no read of the stopped worker took it",
    );
  });

  Deno.test(`a future task added by another client while the scheduler sleeps runs when due [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const { definition, done } = recorder();
    docket.register(definition);
    // The scheduler sleeps until the earliest task (an hour away) and, with this recheck, never
    // looks sooner unless told: only the announcement of the earlier task can wake it.
    await docket.add(definition, { when: new Date(Date.now() + 3_600_000) })({ id: "later" });
    const backend = docket.backend;
    const nextDue = backend.nextDue.bind(backend);
    let looked!: () => void;
    const firstLook = new Promise<void>((resolve) => (looked = resolve));
    backend.nextDue = async () => {
      const next = await nextDue();
      looked();
      return next;
    };
    const options: WorkerInternalOptions = {
      minimumCheckInterval: 100,
      schedulingResolution: 250,
      scheduleAutomaticTasks: false,
      nextDueRecheck: { hours: 1 },
    };
    const worker = new Worker(docket, options);
    const running = worker.runForever();
    try {
      await within(firstLook, EVENT_TIMEOUT_MS, "the scheduler's first look");
      await using other = await otherClient(kind, docket);
      other.register(definition);
      await other.add(definition, { when: new Date(Date.now() + 300) })({ id: "soon" });
      assert.equal(await within(done, EVENT_TIMEOUT_MS, "the earlier task to run"), "soon");
    } finally {
      await worker.stop();
      await running;
    }
  });
}

/** Redis commands run since the last reset, by name (INFO commandstats). */
async function commandCalls(client: { sendCommand(args: string[]): Promise<unknown> }) {
  const info = String(await client.sendCommand(["INFO", "commandstats"]));
  const calls = new Map<string, number>();
  for (const [, name, count] of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    calls.set(name, Number(count));
  }
  return calls;
}

Deno.test("an idle worker sends a handful of Redis commands per heartbeat [redis]", async () => {
  const server = await startRedisServer();
  const admin = createClient({ url: server.url });
  try {
    await admin.connect();
    await using docket = await connectDocket("redis", { url: server.url });
    docket.register(recorder().definition);
    // Heartbeats are the clock here: the window is a count of them, not a time.
    const backend = docket.backend;
    const heartbeat = backend.heartbeat.bind(backend);
    const beats: (() => void)[] = [];
    backend.heartbeat = async (...args) => {
      await heartbeat(...args);
      beats.shift()?.();
    };
    const nextBeat = () => new Promise<void>((resolve) => beats.push(resolve));
    const worker = new Worker(docket, { minimumCheckInterval: 100 });
    const running = worker.runForever();
    try {
      await within(nextBeat(), EVENT_TIMEOUT_MS, "the first heartbeat");
      await within(nextBeat(), EVENT_TIMEOUT_MS, "the second heartbeat");
      await admin.sendCommand(["CONFIG", "RESETSTAT"]);
      const window = 3;
      for (let i = 0; i < window; i++) await within(nextBeat(), EVENT_TIMEOUT_MS, "a heartbeat");
      const calls = await commandCalls(admin);
      calls.delete("config|resetstat");
      calls.delete("info");
      const total = [...calls.values()].reduce((sum, n) => sum + n, 0);
      // Polling every minimumCheckInterval and schedulingResolution sent about 50 commands per
      // heartbeat; waiting for events leaves the heartbeat itself and an occasional look.
      assert.ok(total <= 8 * window, `${total} commands over ${window} heartbeats: ${[...calls]}`);
      assert.ok((calls.get("xreadgroup") ?? 0) <= 1, `reads: ${calls.get("xreadgroup")}`);
    } finally {
      await worker.stop();
      await running;
    }
  } finally {
    await admin.quit().catch(() => admin.destroy());
    await server.dispose();
  }
});

Deno.test("a user not allowed CLIENT UNBLOCK gets short idle reads, and the worker still stops [redis]", async () => {
  const server = await startRedisServer();
  const admin = createClient({ url: server.url });
  try {
    await admin.connect();
    const name = uniqueName("acl-idle");
    await admin.sendCommand(["ACL", "SETUSER", "app", "on", ">pw", ...aclRules(name).split(" ")]);
    const url = `redis://app:pw@127.0.0.1:${server.port}/0`;
    await using docket = await connectDocket("redis", { name, url });
    const { definition, done } = recorder();
    docket.register(definition);
    const { claims } = watchClaims(docket);
    const worker = new Worker(docket, { minimumCheckInterval: 100, scheduleAutomaticTasks: false });
    const running = worker.runForever();
    try {
      await docket.add(definition)({ id: "restricted" });
      assert.equal(await within(done, EVENT_TIMEOUT_MS, "the task to run"), "restricted");
      for (const claim of claims) {
        assert.ok(!claim.interruptible, "no read relies on CLIENT UNBLOCK");
        assert.ok(claim.blockMs <= 100 && claim.quietBlockMs === undefined, JSON.stringify(claim));
      }
    } finally {
      await worker.stop();
      await running;
    }
  } finally {
    await admin.quit().catch(() => admin.destroy());
    await server.dispose();
  }
});
