/**
 * `deno task bench:compare`: docket and BullMQ side by side on a throwaway redis-server.
 *
 *   deno run -A bench/compare/run.ts [--write bench/RESULTS.md] [--repetitions 3] [--scale 1]
 *     [--only drain-c10-ff,latency] [--check-interval 100] [--scheduling-resolution 250]
 *
 * Runs alternate between contenders (the order rotates every repetition, so neither library
 * always runs on a warmer or a more fragmented server), every run starts on a flushed server,
 * and the table shows each median with its spread and the ratio docket / BullMQ.
 */
import { bullmqContender, openFilledBacklog as openBullmqBacklog } from "./bullmq.ts";
import { bunDocketContender, bunVersion } from "./bun_contender.ts";
import { killChildren } from "./children.ts";
import {
  type Contender,
  MEASUREMENT_TIMEOUT_MS,
  TimeoutError,
  WARM_UP_ADDS,
  withTimeout,
} from "./contender.ts";
import { DEFAULT_DOCKET_TUNING, type DocketTuning, WARM_UP_DRAINS } from "./docket_tuning.ts";
import { processDrainer } from "./processes.ts";
import { RedisAdmin, type RedisServer, startRedisServer } from "./redis_server.ts";
import {
  coreCount,
  describeMachine,
  type Entrant,
  loadAverages,
  outcomeFor,
  renderDocument,
  renderNotes,
  renderTable,
  type Results,
} from "./report.ts";
import { allScenarios, scaledWorkload, type Scenario, type Workload } from "./scenarios.ts";
import { renderTargets } from "./targets.ts";

/** Whole-run bound, above the contenders' own bounds, for loops that have none (enqueue). */
const RUN_TIMEOUT_MS = MEASUREMENT_TIMEOUT_MS + 120_000;
const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const MEMORY_URL = "memory://bench";

interface Options {
  writePath?: string;
  repetitions: number;
  scale: number;
  only?: Set<string>;
  tuning: DocketTuning;
}

const USAGE = `usage: deno task bench:compare [--write FILE] [--repetitions N] [--scale F]
       [--only SCENARIO,…] [--check-interval MS] [--scheduling-resolution MS]`;

function parseOptions(args: string[]): Options {
  const options: Options = { repetitions: 3, scale: 1, tuning: { ...DEFAULT_DOCKET_TUNING } };
  const number = (flag: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < min) {
      throw new Error(`${flag} needs a number ≥ ${min}\n${USAGE}`);
    }
    return value;
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if (flag === "--write" && value) options.writePath = value;
    else if (flag === "--repetitions") options.repetitions = number(flag, value, 1);
    else if (flag === "--scale") options.scale = number(flag, value, 0.001);
    else if (flag === "--only" && value) options.only = new Set(value.split(","));
    else if (flag === "--check-interval") {
      options.tuning.minimumCheckInterval = number(flag, value, 0);
    } else if (flag === "--scheduling-resolution") {
      options.tuning.schedulingResolution = number(flag, value, 0);
    } else throw new Error(`unknown or incomplete option ${flag}\n${USAGE}`);
    i++;
  }
  return options;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.split("\n")[0];
  return String(error);
}

/** docket's three drain variants and its Deno contender, or why each cannot run. */
async function docketEntrants(server: RedisServer, tuning: DocketTuning): Promise<Entrant[]> {
  const bun = await bunVersion();
  let module: typeof import("./docket.ts");
  try {
    module = await import("./docket.ts");
  } catch (error) {
    const reason = `docket failed to load: ${errorMessage(error)}`;
    return [
      { contender: placeholder("docket", "Deno", true, ALL_METHODS), skipReason: reason },
      {
        contender: placeholder("docket (Bun)", "Bun", true, ["drain", "processDrain"]),
        skipReason: reason,
      },
      { contender: placeholder(memoryName, "Deno", false, ["drain"]), skipReason: reason },
    ];
  }
  const open = (tasks: number, keepState: boolean) =>
    module.openFilledBacklog(server.url, tasks, keepState);
  const target = { library: "docket" as const, url: server.url, tuning };
  const onRedis: Contender = {
    ...module.docketContender({ url: server.url, tuning }),
    processDrain: processDrainer({ ...target, runtime: "Deno" }, open),
  };
  const onBun: Contender = {
    ...bunDocketContender(REPO_ROOT, server.url, tuning),
    processDrain: processDrainer({ ...target, runtime: "Bun" }, open),
  };
  const inMemory = module.docketContender({ url: MEMORY_URL, name: memoryName, tuning });
  return [
    { contender: onRedis },
    { contender: onBun, skipReason: bun ? undefined : "bun is not on PATH" },
    { contender: drainOnly(inMemory), skipReason: await memoryBackendProblem(module.probe) },
  ];
}

const memoryName = "docket (memory://)";
const ALL_METHODS = [
  "enqueueSerial",
  "roundTrip",
  "enqueueInFlight",
  "drain",
  "latency",
  "dueAtOnce",
  "drainAfter",
  "futureBacklog",
  "trackedBytes",
  "processDrain",
  "idleCommands",
] as const;
type Method = (typeof ALL_METHODS)[number];

/** Stands for a contender that cannot run, so its rows can say so; never measured. */
function placeholder(
  name: string,
  runtime: Contender["runtime"],
  usesRedis: boolean,
  methods: readonly Method[],
): Contender {
  const unavailable = () => Promise.reject(new Error(`${name} is unavailable`));
  return Object.fromEntries([
    ["name", name],
    ["runtime", runtime],
    ["usesRedis", usesRedis],
    ...methods.map((method) => [method, unavailable]),
  ]) as unknown as Contender;
}

/** The memory:// backend is compared on drains only: enqueue to process memory says little. */
function drainOnly(contender: Contender): Contender {
  const { name, runtime, usesRedis, drain } = contender;
  return { name, runtime, usesRedis, drain };
}

async function memoryBackendProblem(
  probe: (url: string) => Promise<void>,
): Promise<string | undefined> {
  try {
    await withTimeout(probe(MEMORY_URL), 10_000, "connecting to memory://");
    return undefined;
  } catch (error) {
    return `Docket.connect({ url: "${MEMORY_URL}" }) failed: ${errorMessage(error)}`;
  }
}

function rotate<T>(items: T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function describeValues(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${value.toLocaleString("en-US", { maximumFractionDigits: 2 })}`)
    .join(" ");
}

async function runScenario(
  scenario: Scenario,
  lineup: Entrant[],
  options: Options,
  admin: RedisAdmin,
  results: Results,
): Promise<void> {
  const entrants = lineup.filter((e) => scenario.supports(e.contender));
  const gaveUp = new Set<string>();
  const repetitions = Math.min(options.repetitions, scenario.repetitions ?? Infinity);
  for (let rep = 0; rep < repetitions; rep++) {
    for (const { contender, skipReason } of rotate(entrants, rep)) {
      const outcome = outcomeFor(results, scenario.id, contender.name);
      if (skipReason) {
        outcome.skipped = skipReason;
        continue;
      }
      if (gaveUp.has(contender.name)) continue;
      await admin.flushAll();
      const label = `${scenario.id} · ${contender.name} · run ${rep + 1}/${repetitions}`;
      try {
        const values = await withTimeout(
          scenario.measure(contender, { admin }),
          RUN_TIMEOUT_MS,
          scenario.id,
        );
        outcome.samples.push(values);
        console.error(`${label}: ${describeValues(values)}`);
      } catch (error) {
        outcome.errors.push(`${scenario.id}: ${errorMessage(error)}`);
        console.error(`${label}: FAILED ${errorMessage(error)}`);
        // A hung library would make every further repetition wait out its timeout too.
        if (error instanceof TimeoutError) gaveUp.add(contender.name);
      }
    }
  }
}

function tuningSource(t: DocketTuning): string {
  const production = t.minimumCheckInterval === DEFAULT_DOCKET_TUNING.minimumCheckInterval &&
    t.schedulingResolution === DEFAULT_DOCKET_TUNING.schedulingResolution;
  return production
    ? "the defaults of docket's worker command, as docket runs in production"
    : "set on the command line; the worker command's defaults are " +
      `${DEFAULT_DOCKET_TUNING.minimumCheckInterval} ms and ` +
      `${DEFAULT_DOCKET_TUNING.schedulingResolution} ms`;
}

function settingsLines(
  options: Options,
  workload: Workload,
  versions: string[],
  scenarios: Scenario[],
): string[] {
  const t = options.tuning;
  const fewer = scenarios.filter((s) => (s.repetitions ?? Infinity) < options.repetitions)
    .map((s) => `\`${s.id}\` ${s.repetitions}`);
  return [
    `${options.repetitions} repetitions per scenario` +
    (fewer.length > 0
      ? ` (fewer where one run is long, so those cells have no spread: ${fewer.join(", ")})`
      : "") +
    "; contenders alternate and the order " +
    "rotates every repetition; each run starts on a flushed server and uses a fresh queue " +
    "or docket name; cells are median ±half the min–max range (as % of the median)",
    `versions: ${versions.join(", ")}`,
    `docket worker: minimumCheckInterval ${t.minimumCheckInterval} ms, schedulingResolution ` +
    `${t.schedulingResolution} ms (${tuningSource(t)}); drains time ` +
    "`worker.runUntilFinished()`, so they include starting the worker and its last check " +
    "for more work",
    "BullMQ: default ioredis connections (`connection: { host, port }`); a drain ends at the " +
    "last `completed` event",
    "drains: pre-filled (docket `addMany`, BullMQ `addBulk`, 1,000 per call) before the clock " +
    "starts; the clock includes starting the worker; every task is checked to run exactly once",
    "fire-and-forget = docket `executionTtl: 0`, BullMQ `removeOnComplete`/`removeOnFail`; " +
    "state kept = docket default TTL (15 min), BullMQ `removeOnComplete: { age: 900 }`; " +
    "sections 1, 2, 4, 5, 7, 8 and 9 keep state",
    `enqueue runs start after ${WARM_UP_ADDS} warm-up adds; latency: worker started first, adds fired on ` +
    `a fixed ${workload.latencyAddsPerSecond}/s schedule, handler start − add call`,
    "section 6: CONFIG RESETSTAT before the pre-fill, then INFO commandstats (all calls, so " +
    "commands run inside Lua scripts count too) and INFO cpu (used_cpu_sys + used_cpu_user) " +
    "after the drain, divided by the task count",
    "ratio = docket median / BullMQ median: on ↑ rows above 1 favours docket, on ↓ rows below 1 " +
    "does; before the first scenario each in-process contender drains 1,000 tasks unrecorded " +
    "(warm-up)",
    "docket (Bun): same drain code run by `bun run bench/compare/docket_drain_child.ts`, one " +
    "process for the whole comparison (warm from its earlier runs, as the in-process contenders " +
    `are), which runs each drain it measures ${WARM_UP_DRAINS} time(s) unrecorded first, on a ` +
    "server it then flushes; " +
    "docket (memory://): in-process backend, no Redis (not like for like with BullMQ)",
    ...SCALING_SETTINGS,
  ];
}

/** The installed version, else the specifier deno.json maps the name to. */
async function packageVersion(name: string): Promise<string> {
  try {
    const path = `${REPO_ROOT}node_modules/${name}/package.json`;
    return `${name} ${JSON.parse(await Deno.readTextFile(path)).version}`;
  } catch {
    try {
      const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
      return config.imports?.[name] ?? `${name} (version unknown)`;
    } catch {
      return `${name} (version unknown)`;
    }
  }
}

function invokedAs(args: string[]): string {
  // `deno task` sets INIT_CWD; a direct run gets the equivalent `deno run` line.
  const base = Deno.env.get("INIT_CWD") !== undefined
    ? "deno task bench:compare"
    : "deno run -A bench/compare/run.ts";
  return [base, ...args].join(" ");
}

/** Lays the written report out as `deno fmt` would, so the repository's format check passes. */
async function formatMarkdown(path: string): Promise<void> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    console.error(`warning: deno fmt ${path} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** Library bugs may reject promises nobody awaits; that must not end the run before cleanup. */
function keepGoingOnStrayErrors(warnings: string[]): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    const message = `unhandled rejection: ${errorMessage(event.reason)}`;
    warnings.push(message);
    console.error(`warning: ${message}`);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    const message = `uncaught error: ${errorMessage(event.error)}`;
    warnings.push(message);
    console.error(`warning: ${message}`);
  });
}

function stopOnSignals(server: RedisServer): void {
  const stop = async () => {
    killChildren();
    await server.stop();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

const SCALING_SETTINGS = [
  "section 7 (future backlog): the backlog is bulk-added (1,000 per call, 4 calls in flight) " +
  "an hour ahead; bytes = used_memory after − before the backlog, / backlog size; then the " +
  "immediate adds (state kept) are timed, then their drain by one worker started after them; " +
  "docket's drain ends when the handler has seen every task (runForever: the backlog keeps " +
  "runUntilFinished waiting), BullMQ's at the last `completed` event",
  "section 8: used_memory after − before, / tasks: once all are added (immediate, state kept, " +
  "payload `{i, pad}` of the stated JSON size), and once all have completed (worker stopped)",
  "section 9: CONFIG RESETSTAT once the pre-fill is in (before the due instant), INFO " +
  "commandstats once all are done, / tasks; then the same tasks are added immediate on a " +
  "flushed server and drained the same way (reset after the fill), and the move's cost is the " +
  "difference; commands are counted for the Deno contenders only",
  "section 10: the parent bulk-adds the backlog, starts the worker processes " +
  "(`bench/compare/worker_child.ts`, docket under Deno and under Bun, BullMQ under Deno); " +
  "each first drains 10,000 tasks (at the default scale) on a queue of its own (warm-up, as the " +
  "in-process contenders' warm-up drain: a fresh process spends 0.2–0.5 s of CPU warming up, " +
  "Bun's compiler threads longer than V8's, see bench/PROFILE.md) and then says it is ready; the clock runs from the start signal until the " +
  "last process has no more work (docket `runUntilFinished`, BullMQ `drained` then `close`); " +
  "worker CPU = process.cpuUsage() (user + system) in each child over that span, summed; Redis " +
  "CPU from INFO cpu after a CONFIG RESETSTAT at the start signal; every task checked to run " +
  "exactly once across the processes",
  "section 11: one worker (concurrency 10) on an empty queue, started 1 s before CONFIG " +
  "RESETSTAT; INFO commandstats after the window, scaled to an hour",
];

/** Unrecorded, before any scenario: see warmUp. */
const WARM_UP_DRAIN = { tasks: 1_000, concurrency: 10, keepState: false };

/**
 * One small drain per contender, so that no library's first measured run also pays for loading
 * and JIT-compiling its worker path (docket under Bun: its drain process, which serves every
 * drain of the run, see bun_contender.ts).
 */
async function warmUp(lineup: Entrant[], admin: RedisAdmin, warnings: string[]): Promise<void> {
  for (const { contender, skipReason } of lineup) {
    if (skipReason || !contender.drain) continue;
    await admin.flushAll();
    try {
      await withTimeout(contender.drain(WARM_UP_DRAIN), RUN_TIMEOUT_MS, "warm-up drain");
    } catch (error) {
      warnings.push(`warm-up drain of ${contender.name} failed: ${errorMessage(error)}`);
    }
  }
}

async function compare(options: Options, server: RedisServer, warnings: string[]) {
  const workload = scaledWorkload(options.scale);
  const scenarios = allScenarios(workload).filter((s) => !options.only || options.only.has(s.id));
  if (scenarios.length === 0) throw new Error(`--only matched no scenario\n${USAGE}`);
  const baseline: Entrant = {
    contender: {
      ...bullmqContender(server),
      processDrain: processDrainer(
        { library: "bullmq", runtime: "Deno", url: server.url, tuning: options.tuning },
        (tasks, keepState) => openBullmqBacklog(server, tasks, keepState),
      ),
    },
  };
  const challengers = await docketEntrants(server, options.tuning);
  const admin = await RedisAdmin.connect(server);
  const results: Results = new Map();
  try {
    await warmUp([baseline, ...challengers], admin, warnings);
    for (const scenario of scenarios) {
      await runScenario(scenario, [baseline, ...challengers], options, admin, results);
    }
  } finally {
    await admin.close();
  }
  const versions = await Promise.all(["bullmq", "ioredis", "redis", "pino"].map(packageVersion));
  const table = renderTable(scenarios, results, baseline, challengers);
  const targets = renderTargets(results, scenarios, "bench/PROFILE.md says where the time goes");
  const settings = settingsLines(options, workload, versions, scenarios);
  return { table, targets, settings, warnings };
}

/**
 * Both libraries share the machine with whatever else runs; on a busy machine the spreads grow
 * and the ratios stop meaning much, so the report says so.
 */
async function warnIfBusy(when: string, warnings: string[]): Promise<number[]> {
  const load = await loadAverages();
  const cores = await coreCount();
  if (load.length > 0 && load[0] > cores / 2) {
    const message = `machine busy ${when}: 1-minute load average ${load[0]} on ${cores} cores, ` +
      "so the numbers are noisy";
    warnings.push(message);
    console.error(`warning: ${message}`);
  }
  return load;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const options = parseOptions(Deno.args);
  const warnings: string[] = [];
  keepGoingOnStrayErrors(warnings);
  const loadAtStart = await warnIfBusy("at start", warnings);
  const server = await startRedisServer();
  stopOnSignals(server);
  console.error(`redis-server ${server.version} on ${server.url}`);
  try {
    const { table, targets, settings } = await compare(options, server, warnings);
    await warnIfBusy("at the end", warnings);
    const notes = renderNotes(table, warnings);
    const parts = [table.markdown, table.scaling && `Scaling:\n\n${table.scaling}`, targets, notes];
    console.log(`\n${parts.filter(Boolean).join("\n\n")}`);
    if (options.writePath) {
      const document = renderDocument({
        command: invokedAs(Deno.args),
        startedAt,
        durationSeconds: (Date.now() - startedAt.getTime()) / 1_000,
        machine: await describeMachine(server.version, await bunVersion(), loadAtStart),
        settings,
        table,
        targets,
        warnings,
      });
      await Deno.writeTextFile(options.writePath, document);
      await formatMarkdown(options.writePath);
      console.error(`wrote ${options.writePath}`);
    }
    return 0;
  } finally {
    killChildren();
    await server.stop();
    console.error(`done in ${Math.round((Date.now() - startedAt.getTime()) / 1_000)} s`);
  }
}

// Exit explicitly: connections a library failed to close must not keep the process alive.
Deno.exit(
  await main().catch((error) => {
    console.error(errorMessage(error));
    return 1;
  }),
);
