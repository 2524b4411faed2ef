/**
 * Where one drain's time goes, per task: wall time, the process's CPU, Redis's CPU and every Redis
 * command (INFO commandstats counts the commands run inside scripts too), for docket's drain as
 * the comparison measures it (`drain` in docket.ts), on a Redis server you start.
 *
 *   redis-server --port 6390 --save '' --appendonly no --daemonize yes
 *   deno run -A --lock=bench/compare/deno.lock bench/compare/drain_probe.ts \
 *     --url redis://127.0.0.1:6390 --tasks 3000 --concurrency 1 [--fire-and-forget]
 *   bun run bench/compare/drain_probe.ts …   # the same under Bun
 *
 * Three unrecorded drains, then three measured ones, each on a flushed server. Add
 * `--cpu-prof --cpu-prof-dir=DIR` (Deno) for a profile to sum with profile_summary.ts; the
 * process CPU includes the runtime's other threads (compiler, GC). `--allocations` (Deno) runs
 * one more drain with V8's sampling heap profiler on from the pre-fill's end to the drain's, and
 * prints the bytes allocated per task, by function (see allocations.ts).
 */
import process from "node:process";
import { createClient } from "redis";
import { drain } from "./docket.ts";
import { DEFAULT_DOCKET_TUNING } from "./docket_tuning.ts";
import { commandStats, cpuSecondsUsed } from "./redis_server.ts";
import { type Allocations, sampleAllocations } from "./allocations.ts";

const WARM_UP_DRAINS = 3;
const MEASURED_DRAINS = 3;
/** Functions listed by `--allocations`. */
const TOP_ALLOCATORS = 20;

function option(name: string, fallback?: string): string {
  const args = process.argv.slice(2);
  const at = args.indexOf(name);
  const value = at >= 0 ? args[at + 1] : fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

/** "name calls×µs" per task for every command, the costliest first. */
function commandsPerTask(info: string, tasks: number): string {
  return [...commandStats(info)]
    .map(([name, { calls, usec }]) => ({ name, calls, usec }))
    .filter(({ calls }) => calls >= tasks / 100)
    .sort((a, b) => b.usec - a.usec)
    .map(({ name, calls, usec }) =>
      `${name} ${(calls / tasks).toFixed(2)}×${(usec / calls).toFixed(1)}µs`
    )
    .join(", ");
}

const url = option("--url");
const spec = {
  tasks: Number(option("--tasks", "3000")),
  concurrency: Number(option("--concurrency", "1")),
  keepState: !process.argv.includes("--fire-and-forget"),
};
const admin = createClient({ url });
await admin.connect();
try {
  for (let i = 0; i < WARM_UP_DRAINS; i++) await drain(url, spec, DEFAULT_DOCKET_TUNING);
  for (let i = 0; i < MEASURED_DRAINS; i++) {
    await admin.flushAll();
    let redisBefore = 0;
    let cpuBefore = process.cpuUsage();
    const ms = await drain(url, spec, DEFAULT_DOCKET_TUNING, async () => {
      await admin.configResetStat();
      redisBefore = cpuSecondsUsed(await admin.info("cpu"));
      cpuBefore = process.cpuUsage();
    });
    const cpu = process.cpuUsage(cpuBefore);
    const redis = cpuSecondsUsed(await admin.info("cpu")) - redisBefore;
    const perTask = (total: number) => (total / spec.tasks).toFixed(0);
    console.log(
      `${(spec.tasks / ms * 1_000).toFixed(0)} tasks/s: per task ${perTask(ms * 1_000)} µs, ` +
        `process CPU ${perTask(cpu.user + cpu.system)} µs, Redis CPU ${perTask(redis * 1e6)} µs`,
    );
    console.log(`  ${commandsPerTask(await admin.info("commandstats"), spec.tasks)}`);
  }
  if (process.argv.includes("--allocations")) {
    await admin.flushAll();
    let stop: (() => Promise<Allocations>) | undefined;
    await drain(url, spec, DEFAULT_DOCKET_TUNING, async () => {
      stop = await sampleAllocations();
    });
    const { total, byFunction } = await stop!();
    const perTask = (bytes: number) => `${(bytes / spec.tasks).toFixed(0)} B`;
    console.log(`allocated per task: ${perTask(total)}, of which`);
    for (const [name, bytes] of byFunction.slice(0, TOP_ALLOCATORS)) {
      console.log(`  ${perTask(bytes).padStart(7)}  ${name}`);
    }
  }
} finally {
  await admin.close();
}
// Exit explicitly: a connection the library failed to close must not keep the process alive.
process.exit(0);
