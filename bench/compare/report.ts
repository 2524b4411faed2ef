/**
 * Turns the collected measurements into the comparison table (markdown, readable in a terminal
 * too), and the table plus machine description into bench/RESULTS.md.
 */
import type { Contender } from "./contender.ts";
import type { Metric, Scenario } from "./scenarios.ts";
import { FIRST_SCALING_SECTION } from "./scaling.ts";
import { relativeHalfSpread, summarize, type Summary } from "./stats.ts";

/** Everything one contender produced in one scenario, over all repetitions. */
export interface Outcome {
  samples: Record<string, number>[];
  errors: string[];
  skipped?: string;
}

/** Outcomes by scenario id, then by contender name. */
export type Results = Map<string, Map<string, Outcome>>;

export interface Entrant {
  contender: Contender;
  /** Set when this contender cannot run at all here; its rows say why instead of a number. */
  skipReason?: string;
}

export function outcomeFor(results: Results, scenarioId: string, name: string): Outcome {
  let byContender = results.get(scenarioId);
  if (!byContender) results.set(scenarioId, byContender = new Map());
  let outcome = byContender.get(name);
  if (!outcome) byContender.set(name, outcome = { samples: [], errors: [] });
  return outcome;
}

/** Numbered notes under the table; the same text is listed once. */
class Notes {
  readonly lines: string[] = [];

  ref(text: string): string {
    let index = this.lines.indexOf(text);
    if (index < 0) index = this.lines.push(text) - 1;
    return `[${index + 1}]`;
  }
}

function formatNumber(value: number): string {
  const magnitude = Math.abs(value);
  const decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

function summaryOf(outcome: Outcome | undefined, metricId: string): Summary | undefined {
  const values = outcome?.samples.map((s) => s[metricId]).filter((v) => v !== undefined) ?? [];
  return values.length > 0 ? summarize(values) : undefined;
}

function cell(
  outcome: Outcome | undefined,
  metricId: string,
  contenderName: string,
  notes: Notes,
): string {
  if (!outcome) return "—";
  if (outcome.skipped) return `skipped ${notes.ref(`${contenderName}: ${outcome.skipped}`)}`;
  const summary = summaryOf(outcome, metricId);
  const errorRefs = [...new Set(outcome.errors)].map((e) => notes.ref(`${contenderName}: ${e}`));
  if (!summary) return `failed ${errorRefs.join(" ")}`.trim();
  const spread = `±${(relativeHalfSpread(summary) * 100).toFixed(1)}%`;
  const partial = outcome.errors.length > 0
    ? ` (${summary.count}/${summary.count + outcome.errors.length} ok ${errorRefs.join(" ")})`
    : "";
  return `${formatNumber(summary.median)} ${spread}${partial}`;
}

function ratioCell(baseline: Summary | undefined, challenger: Summary | undefined): string {
  if (!baseline || !challenger || baseline.median === 0) return "—";
  return `${(challenger.median / baseline.median).toFixed(2)}×`;
}

interface Row {
  section: number;
  order: number;
  cells: string[];
}

function rowLabel(metric: Metric, challenger: Contender): string {
  return challenger.name === "docket" ? metric.label : `${metric.label} — **${challenger.name}**`;
}

function unitCell(metric: Metric): string {
  return `${metric.unit} ${metric.better === "higher" ? "↑" : "↓"}`;
}

/**
 * One row per metric and docket variant; the BullMQ column repeats for each variant so every
 * row carries its own ratio.
 */
function buildRows(
  scenarios: Scenario[],
  results: Results,
  baseline: Entrant,
  challengers: Entrant[],
  notes: Notes,
): Row[] {
  const rows: Row[] = [];
  for (const scenario of scenarios) {
    const byContender = results.get(scenario.id);
    if (!byContender) continue;
    const baseOutcome = byContender.get(baseline.contender.name);
    for (const [metricId, metric] of Object.entries(scenario.metrics)) {
      for (const { contender } of challengers) {
        if (!scenario.supports(contender)) continue;
        if (metric.appliesTo && !metric.appliesTo(contender)) continue;
        const outcome = byContender.get(contender.name);
        rows.push({
          section: metric.section,
          order: rows.length,
          cells: [
            String(metric.section),
            rowLabel(metric, contender),
            unitCell(metric),
            cell(baseOutcome, metricId, baseline.contender.name, notes),
            cell(outcome, metricId, contender.name, notes),
            ratioCell(summaryOf(baseOutcome, metricId), summaryOf(outcome, metricId)),
          ],
        });
      }
    }
  }
  return rows.sort((a, b) => a.section - b.section || a.order - b.order);
}

export interface Table {
  /** Sections 1–6. */
  markdown: string;
  /** The Scaling section's table (sections from FIRST_SCALING_SECTION on); empty if none ran. */
  scaling: string;
  notes: string[];
}

export function renderTable(
  scenarios: Scenario[],
  results: Results,
  baseline: Entrant,
  challengers: Entrant[],
): Table {
  const notes = new Notes();
  const rows = buildRows(scenarios, results, baseline, challengers, notes);
  const header = ["#", "scenario", "unit", baseline.contender.name, "docket", "docket / BullMQ"];
  const markdown = (part: Row[]) =>
    part.length === 0 ? "" : [
      `| ${header.join(" | ")} |`,
      "| ---: | --- | --- | ---: | ---: | ---: |",
      ...part.map((row) => `| ${row.cells.join(" | ")} |`),
    ].join("\n");
  return {
    markdown: markdown(rows.filter((row) => row.section < FIRST_SCALING_SECTION)),
    scaling: markdown(rows.filter((row) => row.section >= FIRST_SCALING_SECTION)),
    notes: notes.lines,
  };
}

export interface MachineInfo {
  cpuModel: string;
  cores: string;
  memory: string;
  /** 1, 5 and 15 minute load averages when the comparison started and ended. */
  load: string;
  os: string;
  redis: string;
  deno: string;
  bun: string;
}

async function commandOutput(command: string, args: string[] = []): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command(command, { args }).output();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

async function procField(file: string, field: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(file);
    return text.match(new RegExp(`^${field}\\s*:\\s*(.+)$`, "m"))?.[1].trim();
  } catch {
    return undefined;
  }
}

function gibibytes(memTotalKb: string | undefined): string {
  const kb = Number(memTotalKb?.match(/\d+/)?.[0]);
  return Number.isFinite(kb) ? `${(kb / 1024 / 1024).toFixed(1)} GiB` : "unknown";
}

/** The 1, 5 and 15 minute load averages, e.g. "0.12 0.30 0.41". */
export async function loadAverages(): Promise<number[]> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

export async function coreCount(): Promise<number> {
  return Number(await commandOutput("nproc")) || navigator.hardwareConcurrency;
}

export async function describeMachine(
  redisVersion: string,
  bun: string | undefined,
  loadAtStart: number[],
): Promise<MachineInfo> {
  const loadAtEnd = await loadAverages();
  return {
    cpuModel: (await procField("/proc/cpuinfo", "model name")) ?? "unknown",
    cores: String(await coreCount()),
    memory: gibibytes(await procField("/proc/meminfo", "MemTotal")),
    load: `${loadAtStart.join(" ") || "?"} at start, ${loadAtEnd.join(" ") || "?"} at end`,
    os: `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    redis: redisVersion,
    deno: Deno.version.deno,
    bun: bun ?? "not found",
  };
}

export interface ReportDocument {
  command: string;
  startedAt: Date;
  durationSeconds: number;
  machine: MachineInfo;
  settings: string[];
  table: Table;
  /** The issue's targets checked against this run (markdown; empty when none ran). */
  targets: string;
  warnings: string[];
}

export function renderNotes(table: Table, warnings: string[]): string {
  const lines = table.notes.map((note, i) => `[${i + 1}] ${note}`);
  const times = new Map<string, number>();
  for (const warning of warnings) times.set(warning, (times.get(warning) ?? 0) + 1);
  for (const [warning, count] of times) {
    lines.push(`warning${count > 1 ? ` (${count}×)` : ""}: ${warning}`);
  }
  return lines.join("\n");
}

const SCALING_INTRO = "How the cost grows with the work: 7 a future backlog (tasks scheduled an " +
  "hour ahead) present while immediate tasks are added and drained; 8 memory of a tracked task " +
  "against its payload; 9 many tasks due at one instant; 10 one backlog drained by 1, 2 or 4 " +
  "worker processes; 11 an idle worker. Same columns as above.";

export function renderDocument(doc: ReportDocument): string {
  const m = doc.machine;
  const notes = renderNotes(doc.table, doc.warnings);
  return [
    "# docket vs BullMQ: side-by-side benchmark",
    "",
    `Generated ${doc.startedAt.toISOString()} by \`${doc.command}\` ` +
    `(${Math.round(doc.durationSeconds)} s).`,
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| CPU | ${m.cpuModel} |`,
    `| cores (nproc) | ${m.cores} |`,
    `| memory | ${m.memory} |`,
    `| load average (1, 5, 15 min) | ${m.load} |`,
    `| OS | ${m.os} |`,
    `| redis-server | ${m.redis} |`,
    `| deno | ${m.deno} |`,
    `| bun | ${m.bun} |`,
    "",
    "## Settings",
    "",
    ...doc.settings.map((s) => `- ${s}`),
    "",
    "## Results",
    "",
    doc.table.markdown || "(no scenario of sections 1–6 ran)",
    ...(doc.table.scaling ? ["", "## Scaling", "", SCALING_INTRO, "", doc.table.scaling] : []),
    ...(doc.targets ? ["", "## Targets", "", doc.targets] : []),
    ...(notes ? ["", "## Notes", "", ...notes.split("\n").map((line) => `- ${line}`)] : []),
    "",
  ].join("\n");
}
