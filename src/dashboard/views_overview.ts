/**
 * The overview, workers, strikes and flow-control views.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import { STRIKE_OPERATORS } from "../strikes/strike_set.ts";
import { describeStrike } from "../strikes/instruction.ts";
import {
  actionForm,
  formatTime,
  formatValue,
  html,
  type Markup,
  type PageFrame,
  table,
} from "./html.ts";
import { overviewCharts } from "./charts.ts";
import { allExecutions, countsByTask, declaredControls, flowRows, lastHour } from "./data.ts";

/** What every view gets. */
export interface ViewContext {
  docket: Docket;
  frame: PageFrame;
  query: URLSearchParams;
}

/** The overview: counts per task, workers, strikes, and the last hour's charts. */
export async function overviewView({ docket, frame }: ViewContext): Promise<Markup> {
  const snapshot = await docket.snapshot();
  const counts = await countsByTask(snapshot, docket);
  const points = await lastHour(docket, snapshot.taken.getTime());
  const strikes = docket.strikeList.strikes.entries();
  const b = frame.base;
  const link = (state: string, task: string, n: number) =>
    html`
      <a href="${b}/executions?state=${state}&amp;task=${encodeURIComponent(task)}"
        data-count="${state}">${n}</a>
    `;
  const rows = counts.map((c) => [
    html`<span data-task="${c.task}">${c.task}</span>`,
    link("scheduled", c.task, c.scheduled),
    link("queued", c.task, c.queued),
    link("running", c.task, c.running),
    link("held", c.task, c.held),
    html`<a href="${b}/failed?task=${
      encodeURIComponent(c.task)
    }" data-count="failed">${c.failed}</a>`,
  ]);
  return html`
    <h1>Overview</h1>
    <section class="tiles">
      <div class="tile"><span class="n" id="workers-live">${snapshot.workers
        .length}</span> workers live</div>
      <div class="tile"><span class="n">${snapshot.running.length}</span> running</div>
      <div class="tile"><span class="n">${snapshot.totalTasks}</span> waiting and running</div>
      <div class="tile"><span class="n" id="strikes-count">${strikes
        .length}</span> strikes in effect</div>
    </section>
    <h2>Tasks</h2>
    <div id="task-counts">${table(
      ["Task", "Scheduled", "Queued", "Running", "Held", "Failed"],
      rows,
      "No tasks.",
    )}</div>
    <h2>Last hour</h2>
    ${overviewCharts(points)}
  `;
}

/** Workers: name, last seen, tasks served, running now; warns of tasks no live worker serves. */
export async function workersView({ docket }: ViewContext): Promise<Markup> {
  const snapshot = await docket.snapshot();
  const running = new Map<string, number>();
  for (const execution of snapshot.running) {
    const name = execution.worker ?? "?";
    running.set(name, (running.get(name) ?? 0) + 1);
  }
  const served = new Set(snapshot.workers.flatMap((w) => w.tasks));
  const wanted = new Set(allExecutions(snapshot).map((e) => e.taskName));
  const unserved = [...wanted].filter((task) => !served.has(task)).sort();
  const rows = snapshot.workers.map((w) => [
    html`${w.name}`,
    html`${formatTime(w.lastSeen)}`,
    html`${w.tasks.length}`,
    html`${w.tasks.join(", ")}`,
    html`${running.get(w.name) ?? 0}`,
  ]);
  return html`<h1>Workers</h1>
${
    unserved.map((task) =>
      html`
        <p class="warning"
          data-unserved="${task}">No live worker serves ${task}: its tasks wait.</p>
      `
    )
  }
${
    table(
      ["Name", "Last seen", "Tasks served", "Task names", "Running now"],
      rows,
      "No live workers.",
    )
  }`;
}

/** Strikes in effect, with a form to add one and a restore button for each. */
export function strikesView({ docket, frame }: ViewContext): Promise<Markup> {
  const strikes = docket.strikeList.strikes.entries();
  const rows = strikes.map((s) => [
    html`<span class="strike">${describeStrike(s)}</span>`,
    html`${s.task ?? "(any task)"}`,
    html`${s.param ?? "-"}`,
    html`${s.param ? s.op : "-"}`,
    html`${s.value === undefined ? "-" : formatValue(s.value)}`,
    actionForm(frame, "/strikes/restore", "Restore", {
      task: s.task ?? "",
      param: s.param ?? "",
      op: s.param ? s.op : "",
      value: s.value === undefined ? "" : JSON.stringify(s.value),
    }),
  ]);
  const ops = STRIKE_OPERATORS.map((op) => html`<option value="${op}">${op}</option>`);
  const form = actionForm(
    frame,
    "/strikes",
    "Strike",
    {},
    html`<label>Task <input name="task" placeholder="any task"></label>
<label>Parameter <input name="param" placeholder="whole task"></label>
<label>Operator <select name="op">${ops}</select></label>
<label>Value (JSON) <input name="value" placeholder='"1001" or 500'></label>`,
  );
  return Promise.resolve(html`<h1>Strikes</h1>
${table(["Strike", "Task", "Parameter", "Operator", "Value", ""], rows, "No strikes in effect.")}
${frame.readOnly ? "" : html`<h2>Add a strike</h2>${form}`}`);
}

/** Flow control: concurrency slots in use and waiters per limit, and the other windows. */
export async function flowView({ docket }: ViewContext): Promise<Markup> {
  const snapshot = await docket.snapshot();
  const rows = flowRows(docket, snapshot).map((r) => [
    html`${r.task}`,
    html`${r.kind}`,
    html`<code>${r.name}</code>`,
    html`${r.rule}`,
    html`${r.kind === "concurrency" ? r.inUse : "-"}`,
    html`${r.waiting}`,
  ]);
  const declared = declaredControls(docket).map((
    c,
  ) => [html`${c.task}`, html`${c.kind}`, html`${c.rule}`]);
  return html`<h1>Flow control</h1>
<h2>Limits in use</h2>
${table(["Task", "Kind", "Limit", "Rule", "Slots in use", "Waiting"], rows, "No limit is in use.")}
<h2>Declared controls</h2>
${
    table(
      ["Task", "Kind", "Rule"],
      declared,
      "No registered task has flow controls (start the dashboard with --tasks to know them).",
    )
  }`;
}
