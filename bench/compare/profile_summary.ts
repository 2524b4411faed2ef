/**
 * Summarises the V8 CPU profiles the worker processes of a multi-process drain write with
 * `BENCH_CPU_PROF_DIR=DIR deno task bench:compare --only processes-4-ff`:
 *
 *   deno run --lock=bench/compare/deno.lock --allow-read bench/compare/profile_summary.ts DIR
 *     [--library docket|bullmq] [--top 25] [--whole]
 *
 * Sample time (wall clock between samples, so a descheduled process still counts) by category
 * (docket's src/, node-redis, the runtime's own JS, GC, …) and the top functions by self time,
 * summed over the profiles of one library. Without `--whole` only the measured window is
 * counted: from each process's first sample inside a task run on (start-up and connecting
 * are before the start signal, so outside the measured time).
 *
 * Bun's profiles (`bun --cpu-prof`) have no idle samples and are taken only while JavaScript
 * runs, so a sample's time delta there includes the wait before it: they are counted by samples
 * instead (shares of samples, not milliseconds).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function option(flag: string, fallback: string): string {
  const at = Deno.args.indexOf(flag);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1] : fallback;
}

function category(fn: string, url: string): string {
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "native (program)";
  if (url.includes("/node_modules/")) {
    const pkg = url.split("/node_modules/").pop()!.split("/");
    const name = pkg[0].startsWith("@") ? `${pkg[0]}/${pkg[1]}` : pkg[0];
    return name.startsWith("@redis/") || name === "redis" ? "node-redis" : `npm ${name}`;
  }
  if (url.includes("/src/")) return "docket src/";
  if (url.includes("/bench/")) return "bench harness";
  if (url.startsWith("node:") || url.startsWith("ext:")) return "runtime JS (node:, ext:)";
  return url === "" ? "native (ops, builtins)" : "other";
}

/** The index of the first sample in a task run: the measured window starts about there. */
function firstTaskSample(profile: Profile, byId: Map<number, ProfileNode>): number {
  const at = profile.samples.findIndex((id) => {
    const { functionName, url } = byId.get(id)!.callFrame;
    return functionName === "executeDelivery" || functionName === "#launch" ||
      (url.includes("bullmq") && functionName === "processJob");
  });
  return Math.max(0, at);
}

function main(): void {
  const dir = Deno.args.find((a, i) => !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--"));
  if (!dir) throw new Error("usage: profile_summary.ts DIR [--library docket|bullmq] [--top N]");
  const library = option("--library", "docket");
  const top = Number(option("--top", "25"));
  const whole = Deno.args.includes("--whole");
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let profiles = 0;
  let counted = false;
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const raw = Deno.readTextFileSync(`${dir}/${entry.name}`);
    // docket's worker runs its own src/worker/; BullMQ's child never loads it.
    if ((library === "docket") !== raw.includes("/src/worker/")) continue;
    profiles++;
    const profile: Profile = JSON.parse(raw);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const bySamples = !profile.nodes.some((n) => n.callFrame.functionName === "(idle)");
    counted ||= bySamples;
    for (let i = whole ? 0 : firstTaskSample(profile, byId); i < profile.samples.length; i++) {
      const { functionName, url, lineNumber } = byId.get(profile.samples[i])!.callFrame;
      const us = bySamples ? 1_000 : profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
      const cat = category(functionName, url);
      byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
      if (cat === "idle") continue;
      const where = url.replace(/^.*\/(node_modules|src)\//, "$1/");
      const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    }
  }
  const busy = [...byCategory].reduce((sum, [cat, us]) => sum + (cat === "idle" ? 0 : us), 0);
  const ms = (us: number) => (us / 1_000).toFixed(0).padStart(7);
  const share = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const unit = counted ? "ms (Bun profiles: 1 ms a sample)" : "ms";
  console.log(`${profiles} ${library} profiles; busy (not idle) ${ms(busy).trim()} ${unit}`);
  for (const [cat, us] of [...byCategory].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${cat.padEnd(28)} ${ms(us)} ms ${cat === "idle" ? "" : share(us)}`);
  }
  console.log(`top ${top} functions by self time (share of busy):`);
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${share(us)}  ${fn}`);
  }
}

main();
