/**
 * HTML building for the dashboard: a tagged template that escapes every interpolated value
 * unless it is already markup, so a payload, key, name or error can never become markup.
 *
 * @module
 */

/** Markup that is already safe (built by {@linkcode html}); interpolated as is. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/**
 * Escapes text for use in element content and quoted attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * escapeHtml('"><img onerror=alert(1)>'); // "&quot;&gt;&lt;img onerror=alert(1)&gt;"
 * ```
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** A value as markup: `Markup` as is, arrays joined, `null`/`undefined`/`false` as nothing. */
function render(value: unknown): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(value);
}

/**
 * The tagged template: `html\`<td>${key}</td>\`` escapes `key`.
 *
 * @example
 * ```ts
 * import { html } from "./html.ts";
 * html`<b>${"<script>"}</b>`.text; // "<b>&lt;script&gt;</b>"
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Markup(out);
}

/** Trusted markup (only for strings this module's callers built themselves). */
export function raw(text: string): Markup {
  return new Markup(text);
}

/** A value as readable text: JSON for data, with dates, bytes and big integers spelled out. */
export function formatValue(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => {
      if (typeof v === "bigint") return `${v}n`;
      if (v instanceof Uint8Array) return `<${v.length} bytes>`;
      return v;
    }, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A time as ISO text, or "-". */
export function formatTime(when: Date | number | undefined): string {
  if (when === undefined) return "-";
  const date = typeof when === "number" ? new Date(when) : when;
  return Number.isNaN(date.getTime()) ? "-" : date.toISOString().replace("T", " ").slice(0, 19);
}

/** The navigation links, in order. */
const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/executions", "Executions"],
  ["/failed", "Failed"],
  ["/scheduled", "Scheduled"],
  ["/strikes", "Strikes"],
  ["/workers", "Workers"],
  ["/flow", "Flow control"],
];

/** What every page needs to render its frame. */
export interface PageFrame {
  /** The docket's name. */
  docket: string;
  /** The page's path, to mark the current link. */
  path: string;
  /** The session's CSRF token (placed in a meta tag and in every form). */
  csrf: string;
  /** True when actions are hidden. */
  readOnly: boolean;
  /** The mount prefix ("" at the root). */
  base: string;
}

/** A whole page: the frame, the navigation and the view's content. */
export function page(frame: PageFrame, title: string, body: Markup): Markup {
  const b = frame.base;
  const nav = NAV.map(([href, label]) =>
    html`
      <a href="${b}${href}" ${raw(frame.path === href ? ' aria-current="page"' : "")}>${label}</a>
    `
  );
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="csrf-token" content="${frame.csrf}">
        <meta name="base" content="${b}">
        <title>${title} · ${frame.docket} · docket</title>
        <link rel="stylesheet" href="${b}/assets/app.css">
        <script src="${b}/assets/app.js" defer></script>
      </head>
      <body>
        <header><strong>docket</strong> <span class="docket">${frame.docket}</span>
    ${frame.readOnly ? html`<span class="badge">read-only</span>` : ""}
    <nav>${nav}</nav><span id="live" class="live">connecting…</span></header>
        <main id="main" data-live-refresh>${body}</main>
      </body>
    </html>
  `;
}

/** A form posting one action, with the CSRF token; nothing in read-only mode. */
export function actionForm(
  frame: PageFrame,
  action: string,
  label: string,
  fields: Record<string, string> = {},
  extra: Markup = raw(""),
): Markup {
  if (frame.readOnly) return raw("");
  const hidden = Object.entries(fields).map(([name, value]) =>
    html`<input type="hidden" name="${name}" value="${value}">`
  );
  return html`<form method="post" action="${frame.base}${action}" class="action">
<input type="hidden" name="_csrf" value="${frame.csrf}">${hidden}${extra}<button type="submit">${label}</button></form>`;
}

/** A table from a header and rows of markup. */
export function table(header: string[], rows: Markup[][], empty = "Nothing here."): Markup {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`
    <table>
      <thead>
        <tr>${header.map((h) => html`<th>${h}</th>`)}</tr>
      </thead>
      <tbody>${rows.map((row) =>
        html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`
      )}</tbody>
    </table>
  `;
}
