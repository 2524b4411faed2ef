/**
 * The Redis backend on a Redis Cluster (`redis+cluster://`): a throwaway 3-master cluster on free
 * ports, and a docket whose hash slot lives on a node other than the one it connects through.
 * Needs `redis-server` and `redis-cli` on PATH.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Docket,
  ExecutionCancelledError,
  type ExecutionEvent,
  ExecutionState,
  task,
  Worker,
} from "../../mod.ts";
import { createClient } from "redis";
import { FAST, freePort, LogCapture, uniqueName, waitUntil } from "../_harness.ts";

async function redisCli(args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("redis-cli", { args, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    throw new Error(
      `redis-cli is needed for the Redis Cluster test and could not be run (is it on PATH? ` +
        `it comes with redis-server): ${(error as Error).message}`,
    );
  }
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`redis-cli ${args.join(" ")} failed: ${text}`);
  return text;
}

/** A 3-master cluster; `dispose()` kills the servers and removes their files. */
async function startCluster(): Promise<{ ports: number[]; dispose: () => void }> {
  await redisCli(["--version"]);
  const dir = mkdtempSync(join(tmpdir(), "docket-cluster-"));
  const children: ReturnType<typeof spawn>[] = [];
  const ports: number[] = [];
  const dispose = () => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      children.push(
        spawn("redis-server", [
          "--port",
          String(port),
          "--cluster-port",
          String(busPort),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
        ], { stdio: "ignore" }),
      );
    }
    for (const port of ports) {
      await waitUntil(
        async () => {
          try {
            return (await redisCli(["-p", String(port), "ping"])).includes("PONG");
          } catch {
            return false;
          }
        },
        10_000,
        `redis-server on port ${port}`,
      );
    }
    await redisCli([
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await waitUntil(
        async () =>
          (await redisCli(["-p", String(port), "cluster", "info"])).includes("cluster_state:ok"),
        20_000,
        `cluster_state:ok on port ${port}`,
      );
    }
    return { ports, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** A docket name whose slot is not served by the node on `port` (it answers MOVED). */
async function nameOnAnotherNode(port: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const name = uniqueName("cluster");
    const reply = await redisCli(["-p", String(port), "GET", `{${name}}:probe`]);
    if (reply.includes("MOVED")) return name;
  }
  throw new Error("no docket name maps to another node");
}

const echo = task({ name: "echo", run: (payload: Record<string, unknown>) => payload });

Deno.test("redis+cluster://: a docket works on a Redis Cluster", async () => {
  const cluster = await startCluster();
  const unload = () => cluster.dispose();
  globalThis.addEventListener("unload", unload);
  try {
    const [first] = cluster.ports;
    const name = await nameOnAnotherNode(first);
    const url = `redis+cluster://127.0.0.1:${first}`;
    await using docket = await Docket.connect({ name, url, logger: new LogCapture().logger });
    await using other = await Docket.connect({ name, url, logger: new LogCapture().logger });
    docket.register(echo);
    other.register(echo);

    // The raw client is the node that holds the docket's slot (another would answer MOVED).
    const raw = await docket.redis();
    assert.equal(await raw.sendCommand(["SET", `{${name}}:raw`, "1"]), "OK");

    // Events of an execution arrive through the cluster's pub/sub connection.
    const keyed = await docket.add(echo, { key: "keyed-1" })({ v: "keyed" });
    const events: ExecutionEvent[] = [];
    const subscribed = (async () => {
      for await (const event of keyed.subscribe()) {
        events.push(event);
        if (event.type === "state" && event.state === ExecutionState.COMPLETED) return;
      }
    })();

    const immediate = await docket.add(echo)({ v: "now" });
    const future = await docket.add(echo, { when: Date.now() + 200 })({ v: "later" });
    const again = await docket.add(echo, { key: "keyed-1" })({ v: "duplicate" });
    assert.equal(again.disposition, "already_scheduled");
    const cancelled = await docket.add(echo, { key: "to-cancel" })({ v: "never" });
    await docket.cancel("to-cancel");

    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(await immediate.getResult({ timeout: 5_000 }), { v: "now" });
    assert.deepEqual(await future.getResult({ timeout: 5_000 }), { v: "later" });
    assert.deepEqual(await keyed.getResult({ timeout: 5_000 }), { v: "keyed" });
    await assert.rejects(cancelled.getResult({ timeout: 1_000 }), ExecutionCancelledError);
    await subscribed;
    assert.ok(
      events.some((e) => e.type === "state" && e.state === ExecutionState.COMPLETED),
      `no completed event in ${JSON.stringify(events)}`,
    );
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });

    // A strike from the second connection reaches the first, and stops its task.
    const queued = await docket.add(echo)({ v: "struck" });
    await other.strike("echo");
    await waitUntil(() => docket.isStruck("echo", "k", {}), 10_000, "the strike to arrive");
    assert.equal((await docket.add(echo)({ v: "refused" })).disposition, "struck");
    await new Worker(docket, FAST).runUntilFinished();
    await assert.rejects(queued.getResult({ timeout: 5_000 }), ExecutionCancelledError);
  } finally {
    globalThis.removeEventListener("unload", unload);
    cluster.dispose();
  }
});

Deno.test("redis+cluster://: a batch's events reach a subscriber on another node", async () => {
  const cluster = await startCluster();
  const unload = () => cluster.dispose();
  globalThis.addEventListener("unload", unload);
  try {
    const [first] = cluster.ports;
    const name = await nameOnAnotherNode(first);
    const url = `redis+cluster://127.0.0.1:${first}`;
    await using docket = await Docket.connect({ name, url, logger: new LogCapture().logger });
    docket.register(echo);
    const executions = await docket.addMany(echo, { when: Date.now() + 3_600_000 })(
      Array.from({ length: 5 }, (_, i) => ({ i })),
    );
    // A plain client of a node that does not hold the docket's slot: the node that runs the
    // scripts counts no subscriber, yet a PUBLISH there reaches this one.
    const subscriber = createClient({ url: `redis://127.0.0.1:${first}` });
    await subscriber.connect();
    try {
      const states = new Map<string, string[]>();
      const marker = docket.keys.stateChannel("marker");
      const markerArrived = Promise.withResolvers<void>();
      await subscriber.subscribe(marker, () => markerArrived.resolve());
      for (const { key } of executions) {
        await subscriber.subscribe(docket.keys.stateChannel(key), (message) => {
          const event = JSON.parse(message);
          states.set(event.key, [...states.get(event.key) ?? [], event.state]);
        });
      }
      // One move_due call for the batch, then a worker claims and finishes it.
      assert.equal(await docket.backend.moveDue(Date.now() + 7_200_000, 1_000), 5);
      await new Worker(docket, FAST).runUntilFinished();
      // Published last by the node that ran the scripts: it arrives after all of theirs.
      await (await docket.redis()).sendCommand(["PUBLISH", marker, "end"]);
      await markerArrived.promise;
      for (const { key } of executions) {
        assert.deepEqual(states.get(key), ["queued", "running", "completed"], key);
      }
    } finally {
      subscriber.destroy();
    }
  } finally {
    globalThis.removeEventListener("unload", unload);
    cluster.dispose();
  }
});

Deno.test("redis+cluster://: an unreachable cluster is a clear error", async () => {
  const port = await freePort();
  await assert.rejects(
    Docket.connect({ name: uniqueName(), url: `redis+cluster://127.0.0.1:${port}` }),
    /cannot reach Redis Cluster/,
  );
});
