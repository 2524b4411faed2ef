/**
 * The dashboard's stylesheet and script, served by the dashboard itself (no CDN, no build
 * step): plain text constants, so they ship inside the package on every runtime.
 *
 * The script follows `/events` (Server-Sent Events): progress events move progress bars in
 * place, and state events update the state shown and refresh the page's content once the burst
 * is over, so lists follow the docket without re-reading it on a timer.
 *
 * @module
 */

/** The stylesheet (`/assets/app.css`). */
export const APP_CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.8em;padding:.6em 1.2em;background:#1d2330;color:#fff}
header .docket{font-family:ui-monospace,monospace;background:#333c4e;padding:.1em .5em;border-radius:4px}
header nav{display:flex;gap:.9em;flex-wrap:wrap}
header nav a{color:#c8d3ea;text-decoration:none}
header nav a[aria-current=page]{color:#fff;border-bottom:2px solid #7fb1ff}
.live{margin-left:auto;font-size:12px;color:#9fb0c8}
.live.on{color:#7ee29a}
.badge{background:#8a6d00;color:#fff;border-radius:4px;padding:0 .5em;font-size:12px}
main{padding:1em 1.4em;max-width:1200px}
h1{font-size:20px;margin:.2em 0 .6em}
h2{font-size:15px;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff;width:100%;border:1px solid #e1e4ea}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:12px;text-transform:uppercase;color:#566}
.key,code{font-family:ui-monospace,monospace;font-size:13px}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px ui-monospace,monospace}
pre.hidden{color:#999}
pre.error,.error{color:#b3261e}
pre.stack{color:#555;background:#fff;border:1px solid #eee;padding:.5em}
.tiles{display:flex;gap:.8em;flex-wrap:wrap}
.tile{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:.5em .9em;min-width:140px}
.tile .n{font-size:22px;font-weight:600;display:block}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));gap:.8em}
.chart{background:#fff;border:1px solid #e1e4ea;border-radius:6px;margin:0;padding:.4em}
.chart figcaption{font-size:12px;color:#566}
.actions{display:flex;gap:.5em;flex-wrap:wrap;align-items:center}
form.action{display:inline-flex;gap:.4em;align-items:center;margin:0}
form.action label,.filters label{display:inline-flex;flex-direction:column;font-size:12px;color:#566}
.filters{display:flex;gap:.6em;align-items:end;margin-bottom:.6em}
button{background:#1f5fa8;color:#fff;border:0;border-radius:4px;padding:.35em .8em;cursor:pointer}
input,select{padding:.25em .4em;border:1px solid #c9ced8;border-radius:4px}
.warning{background:#fff4d6;border:1px solid #e8c85a;padding:.4em .7em;border-radius:4px}
.note{background:#eef3fb;border:1px solid #c9d8ef;padding:.4em .7em;border-radius:4px}
.empty{color:#778}
.facts{display:grid;grid-template-columns:8em 1fr;gap:.2em .8em}
.facts dt{color:#566}.facts dd{margin:0}
.progress{display:flex;gap:.8em;align-items:center}
progress{width:320px;height:14px}
.timeline{margin:0;padding-left:1.2em}
.login{max-width:360px;margin:4em auto;background:#fff;border:1px solid #e1e4ea;padding:1.2em;border-radius:6px}
.login form{display:flex;flex-direction:column;gap:.6em}
`;

/** The script (`/assets/app.js`). */
export const APP_JS = `"use strict";
(() => {
  const base = document.querySelector('meta[name="base"]')?.content ?? "";
  const live = document.getElementById("live");
  const source = new EventSource(base + "/events");
  let refresh;
  source.onopen = () => { if (live) { live.textContent = "live"; live.classList.add("on"); } };
  source.onerror = () => { if (live) { live.textContent = "reconnecting…"; live.classList.remove("on"); } };
  const each = (attr, key, fn) => {
    for (const el of document.querySelectorAll("[" + attr + "]")) {
      if (el.getAttribute(attr) === key) fn(el);
    }
  };
  source.addEventListener("progress", (message) => {
    const event = JSON.parse(message.data);
    each("data-progress-key", event.key, (box) => {
      const bar = box.querySelector("progress");
      if (bar) {
        if (typeof event.total === "number") bar.max = event.total;
        bar.value = event.current ?? 0;
      }
      const text = box.querySelector(".progress-text");
      if (text) text.textContent = (event.current ?? 0) + (event.total ? " / " + event.total : "");
      const note = box.querySelector(".progress-message");
      if (note && event.message !== undefined) note.textContent = event.message;
    });
  });
  const refreshMain = async () => {
    const main = document.getElementById("main");
    const active = document.activeElement;
    if (!main || (active && main.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName))) return;
    const reply = await fetch(location.href, { headers: { "accept": "text/html" } });
    if (!reply.ok) return;
    const doc = new DOMParser().parseFromString(await reply.text(), "text/html");
    const fresh = doc.getElementById("main");
    if (fresh) main.replaceChildren(...fresh.childNodes);
    document.dispatchEvent(new CustomEvent("docket:refreshed"));
  };
  // The server's subscription dropped and is back: what happened meanwhile is read afresh.
  source.addEventListener("resync", () => refreshMain());
  source.addEventListener("state", (message) => {
    const event = JSON.parse(message.data);
    each("data-state-key", event.key, (el) => { el.textContent = event.state; });
    each("data-timeline-key", event.key, (list) => {
      const item = document.createElement("li");
      const label = document.createElement("b");
      label.textContent = event.state;
      item.append(label, " " + new Date().toISOString().replace("T", " ").slice(0, 19));
      list.append(item);
    });
    clearTimeout(refresh);
    refresh = setTimeout(refreshMain, 300);
  });
})();
`;
