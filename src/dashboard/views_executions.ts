/**
 * The executions list, one execution, the failed (dead-letter) list and the scheduled view.
 *
 * @module
 */

import type { Execution } from "../execution.ts";
import { TERMINAL_STATES } from "../types.ts";
import { actionForm, formatTime, formatValue, html, type Markup, table } from "./html.ts";
import { allExecutions, LISTED_STATES, listedState, redactPayload } from "./data.ts";
import type { ViewContext } from "./views_overview.ts";

/** Rows per page of a list. */
const PAGE_SIZE = 50;

/** A task key's link to its own view. */
function keyLink(base: string, key: string): Markup {
  return html`<a href="${base}/executions/${encodeURIComponent(key)}" class="key">${key}</a>`;
}

/** Executions by state, filtered by task and key (a substring), paginated. */
export async function executionsView({ docket, frame, query }: ViewContext): Promise<Markup> {
  const snapshot = await docket.snapshot();
  const now = snapshot.taken.getTime();
  const state = query.get("state") ?? "";
  const task = query.get("task") ?? "";
  const key = query.get("key") ?? "";
  const pageNumber = Math.max(1, Number(query.get("page")) || 1);
  const matching = allExecutions(snapshot).filter((e) =>
    (!state || listedState(e, now) === state) && (!task || e.taskName === task) &&
    (!key || e.key.includes(key))
  );
  const shown = matching.slice((pageNumber - 1) * PAGE_SIZE, pageNumber * PAGE_SIZE);
  const b = frame.base;
  const rows = shown.map((e) => [
    html`<span data-state-key="${e.key}">${listedState(e, now)}</span>`,
    html`${e.taskName}`,
    keyLink(b, e.key),
    html`${formatTime(e.when)}`,
    html`${e.attempt}`,
    html`${e.worker ?? "-"}`,
  ]);
  const states = ["", ...LISTED_STATES].map((s) =>
    html`
      <option value="${s}" ${s === state
        ? html`
          selected
        `
        : ""}>${s || "any state"}</option>
    `
  );
  const pageLink = (n: number, label: string) => {
    const params = new URLSearchParams({ state, task, key, page: String(n) });
    return html`<a href="${b}/executions?${params.toString()}" rel="${label}">${label}</a>`;
  };
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  return html`
    <h1>Executions</h1>
    <form method="get" action="${b}/executions" class="filters">
    <label>State <select name="state">${states}</select></label>
    <label>Task <input name="task" value="${task}"></label>
    <label>Key contains <input name="key" value="${key}"></label>
    <button type="submit">Filter</button></form>
    <p
      class="count"><span id="matching">${matching
        .length}</span> executions (page ${pageNumber} of ${pages}).
    Finished executions are found by key; failed ones on the <a href="${b}/failed">Failed</a> page.</p>
    ${table(["State", "Task", "Key", "Due", "Attempt", "Worker"], rows, "No executions match.")}
    <p class="pager">${pageNumber > 1 ? pageLink(pageNumber - 1, "prev") : ""} ${pageNumber < pages
      ? pageLink(pageNumber + 1, "next")
      : ""}</p>
  `;
}

/** The result or error of a finished execution. */
async function outcomeOf(execution: Execution): Promise<Markup> {
  if (!TERMINAL_STATES.has(execution.state)) return html``;
  try {
    const result = await execution.getResult({ timeout: 5_000 });
    return html`
      <h2>Result</h2>
      <pre class="result">${formatValue(result)}</pre>
    `;
  } catch (error) {
    const e = error as Error;
    return html`<h2>Error</h2><pre class="error">${e?.name}: ${e?.message}</pre>
${
      e?.stack
        ? html`
          <details open>
            <summary>Stack</summary>
            <pre class="stack">${e.stack}</pre>
          </details>
        `
        : ""
    }`;
  }
}

/** One execution: payload (redacted), timeline, live progress, outcome, attempts, actions. */
export async function executionView(
  { docket, frame }: ViewContext,
  key: string,
): Promise<Markup | undefined> {
  const execution = await docket.getExecution(key);
  if (!execution) return undefined;
  const fields = redactPayload(docket, execution.taskName, execution.payload).map((f) => [
    html`${f.name}`,
    html`<pre class="${f.hidden ? "hidden" : "value"}">${f.shown}</pre>`,
  ]);
  const p = execution.progress;
  const timeline = [
    ["due", execution.when],
    ["started", execution.startedAt],
    [execution.state, TERMINAL_STATES.has(execution.state) ? execution.completedAt : undefined],
  ].filter(([, at]) => at) as [string, Date][];
  const k = { key };
  const done = TERMINAL_STATES.has(execution.state);
  const actions = [
    done ? "" : actionForm(frame, "/actions/cancel", "Cancel", k),
    actionForm(frame, "/actions/run-now", "Run now", k),
    done ? "" : actionForm(
      frame,
      "/actions/reschedule",
      "Reschedule",
      k,
      html`<input type="datetime-local" name="when" required aria-label="new due time (UTC)">`,
    ),
    execution.state === "failed" ? actionForm(frame, "/actions/retry", "Retry", k) : "",
  ];
  return html`
    <h1>Execution <span class="key">${key}</span></h1>
    <dl class="facts">
      <dt>Task</dt>
      <dd>${execution.taskName}</dd>
      <dt>State</dt>
      <dd><span class="state" data-state-key="${key}" id="state">${execution.state}</span></dd>
      <dt>Attempt</dt>
      <dd>${execution.attempt}</dd>
      <dt>Worker</dt>
      <dd>${execution.worker ?? "-"}</dd>
    </dl>
    <h2>Progress</h2>
    <div class="progress" data-progress-key="${key}">
    <progress id="progress" max="${p.total ?? 100}" value="${p.current}"></progress>
    <span class="progress-text" id="progress-text">${p.current}${p.total
      ? ` / ${p.total}`
      : ""}</span>
    <span class="progress-message" id="progress-message">${p.message ?? ""}</span></div>
    <h2>Timeline</h2>
    <ol class="timeline" id="timeline" data-timeline-key="${key}">${timeline.map(([label, at]) =>
      html`<li><b>${label}</b> ${formatTime(at)}</li>`
    )}</ol>
    <h2>Payload</h2>
    ${table(["Field", "Value"], fields, "No payload.")}
    ${await outcomeOf(execution)}
    ${frame.readOnly ? "" : html`
      <h2>Actions</h2>
      <div class="actions">${actions}</div>
    `}
  `;
}

/** The dead-letter set: failed executions, newest first, with retry and purge. */
export async function failedView({ docket, frame, query }: ViewContext): Promise<Markup> {
  const task = query.get("task") || undefined;
  const cursor = query.get("cursor") || undefined;
  const page = await docket.failed({ task, limit: PAGE_SIZE, cursor });
  const b = frame.base;
  const rows = page.items.map((f) => [
    html`${f.task}`,
    keyLink(b, f.key),
    html`<span class="error">${f.error.name}: ${f.error.message}</span>`,
    html`${formatTime(f.failedAt)}`,
    html`${f.attempts}`,
    actionForm(frame, "/actions/retry", "Retry", { key: f.key }),
  ]);
  const next = page.cursor
    ? html`<a rel="next" href="${b}/failed?${
      new URLSearchParams({ task: task ?? "", cursor: page.cursor }).toString()
    }">next</a>`
    : "";
  return html`<h1>Failed${
    task
      ? html`
        · ${task}
      `
      : ""
  }</h1>
${table(["Task", "Key", "Error", "Failed at", "Attempt", ""], rows, "Nothing has failed.")}
<p class="pager">${next}</p>
${
    frame.readOnly ? "" : html`<div class="actions">
${
      actionForm(frame, "/actions/retry-failed", task ? `Retry all of ${task}` : "Retry all", {
        task: task ?? "",
      })
    }
${
      actionForm(frame, "/actions/purge-failed", task ? `Purge ${task}` : "Purge all", {
        task: task ?? "",
      })
    }
</div>`
  }`;
}

/** Scheduled work: future tasks, perpetual and cron ones marked, with cancel and run now. */
export async function scheduledView({ docket, frame }: ViewContext): Promise<Markup> {
  const snapshot = await docket.snapshot();
  const now = snapshot.taken.getTime();
  const scheduled = snapshot.future.filter((e) => listedState(e, now) === "scheduled");
  const kindOf = (task: string) => {
    const hooks = docket.tasks.get(task)?.hooks ?? [];
    return hooks.find((h) => h.kind === "cron")
      ? "cron"
      : hooks.find((h) => h.kind === "perpetual")
      ? "perpetual"
      : "once";
  };
  const rows = scheduled.map((e) => [
    html`${e.taskName}`,
    keyLink(frame.base, e.key),
    html`${kindOf(e.taskName)}`,
    html`${formatTime(e.when)}`,
    html`<div class="actions">${actionForm(frame, "/actions/cancel", "Cancel", { key: e.key })}${
      actionForm(frame, "/actions/run-now", "Run now", { key: e.key })
    }</div>`,
  ]);
  return html`<h1>Scheduled</h1>
${table(["Task", "Key", "Kind", "Next run", ""], rows, "Nothing is scheduled.")}`;
}
