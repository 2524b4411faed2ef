/**
 * Concurrency limits across worker processes (`deno run -A worker.ts`): two workers with
 * concurrency 10 each, the limits checked from what the runs record in Redis; and a worker
 * killed (SIGKILL) while it holds a slot. Redis only: a `memory://` store lives in one process.
 */

import assert from "node:assert/strict";
import { Docket, type Execution } from "../../mod.ts";
import { BACKENDS, LogCapture, redisUrl, uniqueName, waitUntil } from "../_harness.ts";
import { startWorkerProcess, type WorkerProcess } from "../_processes.ts";
import {
  backupDatabaseTable,
  holdResource,
  observationKeys,
  processCustomerData,
  processUserExport,
} from "../fixtures/flow_tasks.ts";

const TASKS = "tests/fixtures/flow_tasks.ts";
const enabled = BACKENDS.includes("redis");

function startWorker(docket: Docket, args: string[] = []): WorkerProcess {
  return startWorkerProcess({
    docket,
    tasks: TASKS,
    args: ["--concurrency", "10", "--log-level", "warn", ...args],
  });
}

async function connect(): Promise<Docket> {
  const docket = await Docket.connect({
    name: uniqueName("flow-xp"),
    url: await redisUrl(),
    logger: new LogCapture().logger,
  });
  for (const t of [processCustomerData, backupDatabaseTable, processUserExport, holdResource]) {
    docket.register(t);
  }
  return docket;
}

interface Interval {
  key: string;
  groups: string[];
  start: number;
  end: number;
  pid: number;
}

/** What the runs recorded: the highest level seen per group, and every run's interval. */
async function observations(docket: Docket) {
  const redis = await docket.redis();
  const keys = observationKeys(docket.name);
  const levels = await redis.sendCommand(["LRANGE", keys.levels, "0", "-1"]) as string[];
  const peaks = new Map<string, number>();
  for (const entry of levels) {
    const [group, level] = entry.split("=");
    peaks.set(group, Math.max(peaks.get(group) ?? 0, Number(level)));
  }
  const intervals = (await redis.sendCommand(["LRANGE", keys.intervals, "0", "-1"]) as string[])
    .map((line) => JSON.parse(line) as Interval);
  return { peaks, intervals };
}

/** The most intervals of one group that overlap in time. */
function overlapPeak(intervals: Interval[], group: string): number {
  const edges = intervals.filter((i) => i.groups.includes(group))
    .flatMap((i) => [[i.start, 1], [i.end, -1]] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let level = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, level += step);
  return peak;
}

/** Tasks are added this far ahead, then brought due once both workers are up. */
const LATER = 600_000;

/**
 * Starts two workers, waits until both have announced themselves, brings the tasks (added
 * `LATER` ahead, so neither worker finds the docket empty) due at once, and waits for them.
 */
async function runTwoWorkers(docket: Docket, executions: Execution[]): Promise<number> {
  const workers = [
    startWorker(docket, ["--until-finished"]),
    startWorker(docket, ["--until-finished"]),
  ];
  try {
    await waitUntil(async () => (await docket.workers()).length === 2, 60_000, "two workers");
    const began = Date.now();
    while (await docket.backend.moveDue(Date.now() + 2 * LATER, 1000) > 0);
    await Promise.all(executions.map((e) => e.getResult({ timeout: 90_000 })));
    const elapsed = Date.now() - began;
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.output()).join("\n"));
    return elapsed;
  } finally {
    await Promise.all(workers.map((worker) => worker.stop("SIGKILL")));
  }
}

Deno.test({
  name: "two worker processes: one run per customer, customers in parallel [redis]",
  ignore: !enabled,
  async fn() {
    await using docket = await connect();
    const ms = 25;
    const executions = await docket.addMany(processCustomerData, { when: Date.now() + LATER })(
      Array.from({ length: 200 }, (_, i) => ({ customer_id: 1000 + (i % 5), ms })),
    );
    const elapsed = await runTwoWorkers(docket, executions);
    const { peaks, intervals } = await observations(docket);
    assert.equal(intervals.length, 200, "every task ran exactly once");
    assert.equal(new Set(intervals.map((i) => i.key)).size, 200);
    for (let c = 1000; c < 1005; c++) {
      assert.equal(peaks.get(`customer:${c}`), 1, `customer ${c}`);
      assert.equal(overlapPeak(intervals, `customer:${c}`), 1, `customer ${c} (intervals)`);
    }
    assert.ok((peaks.get("all") ?? 0) >= 3, `customers ran in parallel: ${peaks.get("all")}`);
    assert.equal(new Set(intervals.map((i) => i.pid)).size, 2, "both processes did work");
    // 200 runs of 25 ms one after another would take 5 s; five customers side by side ~1 s.
    const busy = intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
    assert.ok(busy >= 200 * ms);
    console.log(
      `200 tasks, 5 customers, max 1: ${elapsed} ms (${busy} ms of runs); ` +
        `at most ${peaks.get("all")} at once`,
    );
    assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    const left = await docket.redis().then((r) =>
      r.sendCommand(["KEYS", `{${docket.name}}:concurrency*`])
    );
    assert.deepEqual(left, []);
  },
});

Deno.test({
  name: "two worker processes: the seed's backups, two per database [redis]",
  ignore: !enabled,
  async fn() {
    await using docket = await connect();
    const tables = ["users", "orders", "products", "analytics", "logs"];
    const executions: Execution[] = [];
    for (let round = 0; round < 4; round++) {
      for (const table of tables) {
        for (const db of ["production", "staging"]) {
          executions.push(
            await docket.add(backupDatabaseTable, { when: Date.now() + LATER })({
              db_name: db,
              table_name: `${table}_${round}`,
              ms: 40,
            }),
          );
        }
      }
    }
    await runTwoWorkers(docket, executions);
    const { peaks, intervals } = await observations(docket);
    assert.equal(intervals.length, 40);
    for (const db of ["production", "staging"]) {
      assert.equal(peaks.get(`db:${db}`), 2, db);
      assert.ok(overlapPeak(intervals, `db:${db}`) <= 2, `${db} (intervals)`);
    }
  },
});

Deno.test({
  name: "two worker processes: the seed's three-level limits all hold [redis]",
  ignore: !enabled,
  async fn() {
    await using docket = await connect();
    const payloads = Array.from({ length: 120 }, (_, i) => ({
      user_id: i % 12,
      export_type: ["csv", "pdf", "xlsx"][i % 3],
      region: ["eu", "us"][Math.floor(i / 3) % 2],
      ms: 30,
    }));
    const executions = await docket.addMany(processUserExport, { when: Date.now() + LATER })(
      payloads,
    );
    await runTwoWorkers(docket, executions);
    const { peaks, intervals } = await observations(docket);
    assert.equal(intervals.length, 120);
    for (let u = 0; u < 12; u++) assert.equal(peaks.get(`user:${u}`), 1, `user ${u}`);
    for (const type of ["csv", "pdf", "xlsx"]) {
      assert.ok(
        (peaks.get(`type:${type}`) ?? 0) <= 3,
        `type ${type}: ${peaks.get(`type:${type}`)}`,
      );
    }
    for (const region of ["eu", "us"]) {
      assert.ok((peaks.get(`region:${region}`) ?? 0) <= 10, `region ${region}`);
    }
    assert.ok((peaks.get("all") ?? 0) > 3, `exports ran side by side: ${peaks.get("all")}`);
  },
});

Deno.test({
  name: "a worker killed while holding a slot: the waiters run after the lease, none lost [redis]",
  ignore: !enabled,
  async fn() {
    await using docket = await connect();
    const redis = await docket.redis();
    const keys = observationKeys(docket.name);
    const lease = ["--redelivery-timeout", "2s"];
    const first = startWorker(docket, lease);
    let second: WorkerProcess | undefined;
    try {
      const holder = await docket.add(holdResource, { key: "holder" })({ resource: "r" });
      await waitUntil(
        async () => Number(await redis.sendCommand(["EXISTS", keys.holding])) === 1,
        30_000,
        "the holder to start",
      );
      const waiters: Execution[] = [];
      for (let n = 1; n <= 5; n++) {
        waiters.push(await docket.add(holdResource, { key: `w${n}` })({ resource: "r" }));
      }
      await waitUntil(
        async () => (await docket.backend.counts()).queue === 5,
        10_000,
        "the waiters to be parked",
      );
      first.kill("SIGKILL");
      await first.exited;
      const killed = Date.now();
      // The dead run never decremented its counter.
      await redis.sendCommand(["DECR", keys.active("resource:r")]);
      second = startWorker(docket, [...lease, "--until-finished"]);
      await Promise.all([holder, ...waiters].map((e) => e.getResult({ timeout: 60_000 })));
      assert.equal(await second.exited, 0, second.output());
      const { peaks, intervals } = await observations(docket);
      const keysRun = intervals.map((i) => i.key).sort();
      assert.deepEqual(keysRun, ["holder", "w1", "w2", "w3", "w4", "w5"], "none lost");
      assert.equal(peaks.get("resource:r"), 1);
      assert.equal(overlapPeak(intervals, "resource:r"), 1);
      const firstWaiter = Math.min(
        ...intervals.filter((i) => i.key !== "holder").map((i) => i.start),
      );
      assert.ok(
        firstWaiter - killed >= 1_000,
        `the waiters waited for the dead holder's lease (${firstWaiter - killed} ms)`,
      );
      assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    } finally {
      await first.stop("SIGKILL");
      if (second) await second.stop("SIGKILL");
    }
  },
});
