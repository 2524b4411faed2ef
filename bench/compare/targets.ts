/**
 * The targets of the benchmark issue, checked against the medians of one comparison run (docket
 * on Deno against BullMQ, same machine, same run).
 */
import type { Results } from "./report.ts";
import { summarize } from "./stats.ts";

interface Target {
  label: string;
  scenario: string;
  metric: string;
  /** `ratio`: docket median / BullMQ median; `absolute`: docket's median alone. */
  measure: "ratio" | "absolute";
  /** The ratio or value must be at least (`min`) or at most (`max`) `bound`. */
  kind: "min" | "max";
  bound: number;
  unit: string;
}

export const TARGETS: readonly Target[] = [
  {
    label: "drain, concurrency 100, fire-and-forget",
    scenario: "drain-c100-ff",
    metric: "rate",
    measure: "ratio",
    kind: "min",
    bound: 3,
    unit: "×",
  },
  {
    label: "drain, concurrency 100, state kept",
    scenario: "drain-c100-kept",
    metric: "rate",
    measure: "ratio",
    kind: "min",
    bound: 1.5,
    unit: "×",
  },
  {
    label: "enqueue, one awaited add at a time",
    scenario: "enqueue-serial",
    metric: "rate",
    measure: "ratio",
    kind: "min",
    bound: 1.5,
    unit: "×",
  },
  {
    label: "enqueue, 1,000 adds in flight",
    scenario: "enqueue-in-flight",
    metric: "rate",
    measure: "ratio",
    kind: "min",
    bound: 2,
    unit: "×",
  },
  {
    label: "Redis commands per task, add to done, fire-and-forget",
    scenario: "drain-c100-ff",
    metric: "commands",
    measure: "absolute",
    kind: "max",
    bound: 6,
    unit: " calls",
  },
  {
    label: "pickup latency p99 no worse than BullMQ's",
    scenario: "latency",
    metric: "p99",
    measure: "ratio",
    kind: "max",
    bound: 1,
    unit: "×",
  },
  {
    label: "due at once, due time → all done, no worse than BullMQ's",
    scenario: "due-at-once",
    metric: "ms",
    measure: "ratio",
    kind: "max",
    bound: 1,
    unit: "×",
  },
];

function median(results: Results, scenario: string, contender: string, metric: string) {
  const values = results.get(scenario)?.get(contender)?.samples
    .map((sample) => sample[metric])
    .filter((value) => value !== undefined) ?? [];
  return values.length > 0 ? summarize(values).median : undefined;
}

/**
 * One markdown table: each target, what it asks, what this run measured and whether it is met.
 * Targets whose scenario did not run (`--only`) are left out.
 */
export function renderTargets(
  results: Results,
  baseline: string,
  docket: string,
  missedNote: string,
): string {
  const rows: string[] = [];
  for (const target of TARGETS) {
    if (!results.has(target.scenario)) continue;
    const mine = median(results, target.scenario, docket, target.metric);
    const theirs = median(results, target.scenario, baseline, target.metric);
    const value = target.measure === "absolute"
      ? mine
      : mine !== undefined && theirs
      ? mine / theirs
      : undefined;
    const required = `${target.kind === "min" ? "≥" : "≤"} ${target.bound}${target.unit}`;
    const measured = value === undefined ? "—" : `${value.toFixed(2)}${target.unit}`;
    const met = value === undefined
      ? "not measured"
      : (target.kind === "min" ? value >= target.bound : value <= target.bound)
      ? "met"
      : `**missed** (${missedNote})`;
    rows.push(`| ${target.label} | ${required} | ${measured} | ${met} |`);
  }
  if (rows.length === 0) return "";
  return [
    "| target (docket on Deno / BullMQ, medians) | required | this run | |",
    "| --- | ---: | ---: | --- |",
    ...rows,
  ].join("\n");
}
