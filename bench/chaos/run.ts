/**
 * The chaos test: producers and workers as real processes (Deno and Bun workers), random SIGKILLs
 * and SIGTERMs of workers, and Redis restarts (alternating SHUTDOWN and kill -9) with
 * `appendonly yes` and `appendfsync always`. Every task has a unique key and records each run of
 * its body in Redis on its own (see `tasks.ts`); at the end every key is counted: lost (never
 * ran), ran once, or duplicated (ran more than once, with the cause of each extra run).
 *
 *   deno task chaos                       # short profile (CI): a few thousand tasks
 *   deno task chaos --profile long        # 100k tasks
 *   deno task chaos --seed 42 --tasks 5000 --deno-workers 2 --bun-workers 2
 *
 * Exits 1 when any task was lost. Randomness comes from one seed, printed at the start.
 */

import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Docket } from "../../mod.ts";
import { DocketKeys } from "../../src/keys.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { Random } from "./rng.ts";
import { ChaosRedis, freePort } from "./redis.ts";
import { Fleet } from "./fleet.ts";
import { analyse, type ChaosReport, endFailuresByWorker, parseRuns } from "./analyse.ts";
import { runsKey } from "./tasks.ts";

interface Profile {
  tasks: number;
  producers: number;
  /** Tasks added per second, all producers together. */
  rate: number;
  denoWorkers: number;
  bunWorkers: number;
  concurrency: number;
  /** Milliseconds between two worker signals, low and high. */
  killEvery: [number, number];
  /** Milliseconds between two Redis restarts, low and high. */
  restartEvery: [number, number];
  /** How long Redis stays down, low and high (ms). */
  downFor: [number, number];
  /** The most the drain after the chaos may take (ms). */
  drainTimeout: number;
}

const PROFILES: Record<string, Profile> = {
  short: {
    tasks: 3_000,
    producers: 2,
    rate: 60,
    denoWorkers: 2,
    bunWorkers: 2,
    concurrency: 8,
    killEvery: [2_000, 4_000],
    restartEvery: [8_000, 14_000],
    downFor: [300, 1_500],
    drainTimeout: 60_000,
  },
  long: {
    tasks: 100_000,
    producers: 4,
    rate: 250,
    denoWorkers: 2,
    bunWorkers: 2,
    concurrency: 16,
    killEvery: [2_000, 5_000],
    restartEvery: [15_000, 30_000],
    downFor: [300, 2_000],
    drainTimeout: 300_000,
  },
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function options(): { profile: Profile; name: string; seed: number; keep: boolean } {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      profile: { type: "string", default: "short" },
      seed: { type: "string" },
      tasks: { type: "string" },
      rate: { type: "string" },
      "deno-workers": { type: "string" },
      "bun-workers": { type: "string" },
      keep: { type: "boolean" },
    },
  });
  const base = PROFILES[values.profile!];
  if (!base) throw new Error(`unknown profile "${values.profile}" (short or long)`);
  const number = (text: string | undefined, fallback: number) =>
    text === undefined ? fallback : Number(text);
  const profile: Profile = {
    ...base,
    tasks: number(values.tasks, base.tasks),
    rate: number(values.rate, base.rate),
    denoWorkers: number(values["deno-workers"], base.denoWorkers),
    bunWorkers: number(values["bun-workers"], base.bunWorkers),
  };
  const seed = number(values.seed, Math.floor(Math.random() * 2 ** 31));
  return { profile, name: values.profile!, seed, keep: values.keep ?? false };
}

const log = (text: string) =>
  console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}`);

async function main(): Promise<number> {
  const { profile, name: profileName, seed, keep } = options();
  const random = new Random(seed);
  const dir = await Deno.makeTempDir({ prefix: "docket-chaos-" });
  const redis = new ChaosRedis(await freePort(), dir);
  const docketName = `chaos-${seed}-${Date.now().toString(36)}`;
  log(`seed ${seed}, profile ${profileName}: ${JSON.stringify(profile)}`);
  log(`logs and AOF in ${dir}`);
  await redis.start();

  const fleet = new Fleet(ROOT, redis.url, docketName, dir, [
    "--concurrency",
    String(profile.concurrency),
    "--redelivery-timeout",
    "3s",
    "--reconnection-delay",
    "250ms",
    "--shutdown-timeout",
    "5s",
    "--execution-ttl",
    "12h",
    "--minimum-check-interval",
    "50ms",
    "--scheduling-resolution",
    "100ms",
    "--log-level",
    "warn",
  ], 20_000);
  for (let i = 0; i < profile.denoWorkers; i++) await fleet.start("deno");
  for (let i = 0; i < profile.bunWorkers; i++) await fleet.start("bun");

  const observer = await Docket.connect({
    name: docketName,
    url: redis.url,
    logger: createLogger({ level: "silent" }),
  });
  const started = Date.now();
  const expectedKeys: string[] = [];
  const producers = Array.from({ length: profile.producers }, (_, p) => {
    const count = Math.floor(profile.tasks / profile.producers) +
      (p < profile.tasks % profile.producers ? 1 : 0);
    for (let n = 0; n < count; n++) expectedKeys.push(`p${p}-${n}`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "bench/chaos/producer.ts",
        redis.url,
        docketName,
        `p${p}`,
        String(count),
        String(profile.rate / profile.producers),
        String(seed + p + 1),
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return child.output();
  });
  let producing = true;
  const produced = Promise.all(producers).finally(() => (producing = false));

  // The chaos: worker signals and Redis restarts until the producers are done.
  let nextKill = Date.now() + random.between(...profile.killEvery);
  let nextRestart = Date.now() + random.between(...profile.restartEvery);
  let restartMode: "shutdown" | "kill -9" = "shutdown";
  let lastProgress = 0;
  while (producing) {
    const now = Date.now();
    if (now >= nextKill) {
      const live = fleet.live();
      if (live.length > 0) {
        const victim = random.pick(live);
        const signal = random.next() < 0.5 ? "SIGKILL" : "SIGTERM";
        const runtime = fleet.runtimeOf(victim);
        fleet.signal(victim, signal);
        const replacement = await fleet.start(runtime);
        log(`${signal} ${victim}; started ${replacement}`);
      }
      nextKill = Date.now() + random.between(...profile.killEvery);
    }
    if (now >= nextRestart) {
      const down = random.between(...profile.downFor);
      log(`Redis ${restartMode}, down ${down} ms`);
      await redis.restart(restartMode, down);
      restartMode = restartMode === "shutdown" ? "kill -9" : "shutdown";
      nextRestart = Date.now() + random.between(...profile.restartEvery);
    }
    if (now - lastProgress > 10_000) {
      lastProgress = now;
      const ran = await observer.redis().then((r) => r.sendCommand(["HLEN", runsKey(docketName)]))
        .catch(() => "?");
      log(`${ran} runs recorded of ${profile.tasks} tasks`);
    }
    await sleep(50);
  }
  const outputs = await produced;
  const producerFailures = outputs.filter((o) => !o.success).length;
  log(`producers done (${producerFailures} failed); draining with ${fleet.live().length} workers`);

  // The drain: no more chaos; wait until nothing is queued, parked or pending.
  const keys = new DocketKeys(docketName);
  const drainDeadline = Date.now() + profile.drainTimeout;
  for (;;) {
    try {
      const counts = await observer.backend.counts();
      const redisClient = await observer.redis();
      const pending = await redisClient.sendCommand(["XPENDING", keys.stream, keys.group]) as [
        number,
      ];
      if (counts.stream === 0 && counts.queue === 0 && Number(pending[0]) === 0) break;
    } catch {
      // Redis answering slowly after a restart; ask again.
    }
    if (Date.now() > drainDeadline) {
      log("drain timed out; counting what there is");
      break;
    }
    await sleep(500);
  }
  const elapsed = Date.now() - started;

  // Counting.
  const client = await observer.redis();
  const flat: string[] = [];
  let cursor = "0";
  do {
    const [next, page] = await client.sendCommand([
      "HSCAN",
      runsKey(docketName),
      cursor,
      "COUNT",
      "1000",
    ]) as [string, string[]];
    flat.push(...page);
    cursor = next;
  } while (cursor !== "0");
  const states = new Map<string, string | null>();
  for (let i = 0; i < expectedKeys.length; i += 500) {
    const chunk = expectedKeys.slice(i, i + 500);
    const replies = await Promise.all(
      chunk.map((key) => client.sendCommand(["HGET", keys.runs(key), "state"])),
    );
    chunk.forEach((key, j) => states.set(key, replies[j] as unknown as string | null));
  }
  await fleet.stopAll();
  await observer[Symbol.asyncDispose]();
  await redis.stop();

  const report = analyse(
    expectedKeys,
    parseRuns(flat),
    states,
    fleet.records,
    redis.restarts,
    await endFailuresByWorker(fleet.records),
  );
  printReport(report, {
    seed,
    profileName,
    profile,
    elapsed,
    fleet,
    restarts: redis.restarts.map((r) => r.mode),
    producerFailures,
  });
  await Deno.writeTextFile(join(dir, "report.json"), JSON.stringify(report, null, 2));
  if (report.lost === 0 && !keep) await Deno.remove(dir, { recursive: true });
  else log(`kept ${dir} (worker logs, redis.log, report.json)`);
  return report.lost === 0 && producerFailures === 0 ? 0 : 1;
}

/** This run's arguments with its seed, to make the same random choices again. */
function replayArgs(seed: number): string {
  const args: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    if (Deno.args[i] === "--seed") i++;
    else if (!Deno.args[i].startsWith("--seed=")) args.push(Deno.args[i]);
  }
  return [...args, "--seed", String(seed)].join(" ");
}

function printReport(
  report: ChaosReport,
  run: {
    seed: number;
    profileName: string;
    profile: Profile;
    elapsed: number;
    fleet: Fleet;
    restarts: string[];
    producerFailures: number;
  },
): void {
  const workers = run.fleet.records;
  const count = (test: (w: typeof workers[number]) => boolean) => workers.filter(test).length;
  const lines = [
    "",
    `Chaos run, seed ${run.seed} (same choices again: deno task chaos ${replayArgs(run.seed)})`,
    `  ${report.expected} tasks in ${(run.elapsed / 1000).toFixed(1)} s; ` +
    `${workers.length} worker processes (${count((w) => w.runtime === "deno")} Deno, ` +
    `${count((w) => w.runtime === "bun")} Bun)`,
    `  signals: ${count((w) => w.signal === "SIGKILL")} SIGKILL, ` +
    `${count((w) => w.signal === "SIGTERM")} SIGTERM ` +
    `(${count((w) => w.escalatedAt !== undefined)} did not exit within 20 s and were killed; ` +
    `SIGTERM exit codes: ${
      JSON.stringify(
        workers.filter((w) => w.signal === "SIGTERM").reduce((codes, w) => {
          codes[String(w.exitCode)] = (codes[String(w.exitCode)] ?? 0) + 1;
          return codes;
        }, {} as Record<string, number>),
      )
    })`,
    `  Redis restarts: ${run.restarts.length} (${
      run.restarts.filter((m) => m === "shutdown").length
    } SHUTDOWN, ` +
    `${run.restarts.filter((m) => m === "kill -9").length} kill -9)`,
    `  lost (never ran): ${report.lost}${report.lost ? ` e.g. ${report.lostKeys.join(", ")}` : ""}`,
    `  ran exactly once: ${report.ranOnce}`,
    `  duplicated: ${report.duplicatedKeys} tasks, ${report.extraRuns} extra runs`,
    ...Object.entries(report.causes).map(([cause, n]) => `    ${n} × ${cause}`),
    `  not recorded completed at the end: ${report.notCompleted} ${
      report.notCompleted ? JSON.stringify(report.notCompletedStates) : ""
    }`,
    `  producers failed: ${run.producerFailures}`,
  ];
  for (const [cause, examples] of Object.entries(report.examples)) {
    lines.push(`  e.g. ${cause}:`, ...examples.map((e) => `    ${e}`));
  }
  lines.push(
    `chaos: lost=${report.lost} duplicated=${report.duplicatedKeys} extra_runs=${report.extraRuns}`,
  );
  console.log(lines.join("\n"));
}

Deno.exit(await main());
