/**
 * The overview's charts, drawn on the server as inline SVG from the per-minute counters: no
 * chart script to ship or serve, nothing for the Content-Security-Policy to allow, and the same
 * output on every runtime and in a published package.
 *
 * @module
 */

import type { MinutePoint } from "../stats/minute_stats.ts";
import { html, type Markup, raw } from "./html.ts";

const WIDTH = 360;
const HEIGHT = 110;
const PAD = 22;

/** One line of a chart. */
interface Series {
  label: string;
  colour: string;
  values: (number | undefined)[];
}

/** A small line chart of one or more series over the last hour. */
function lineChart(title: string, unit: string, series: Series[]): Markup {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const max = Math.max(1, ...all);
  const n = Math.max(1, ...series.map((s) => s.values.length)) - 1 || 1;
  const x = (i: number) => PAD + (i / n) * (WIDTH - 2 * PAD);
  const y = (v: number) => HEIGHT - PAD - (v / max) * (HEIGHT - 2 * PAD);
  const paths = series.map((s) => {
    let d = "";
    s.values.forEach((v, i) => {
      if (v === undefined) return;
      d += `${d === "" || s.values[i - 1] === undefined ? "M" : "L"}${x(i).toFixed(1)},${
        y(v).toFixed(1)
      } `;
    });
    // A lone point (a minute between two empty ones) gets a dot: a path of one point draws
    // nothing.
    const dots = s.values.map((v, i) =>
      v !== undefined && s.values[i - 1] === undefined && s.values[i + 1] === undefined
        ? html`<circle cx="${x(i).toFixed(1)}" cy="${
          y(v).toFixed(1)
        }" r="2.5" fill="${s.colour}" />`
        : ""
    );
    return html`<path d="${d.trim()}" fill="none" stroke="${s.colour}" stroke-width="1.8" />${dots}`;
  });
  const legend = series.map((s, i) => {
    const right = WIDTH - PAD - (series.length - 1 - i) * 60;
    return html`<text x="${right}" y="12" font-size="10" text-anchor="end" fill="${s.colour}">${s.label}</text>`;
  });
  return html`
    <figure class="chart">
      <figcaption>${title}</figcaption>
      <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img"
        aria-label="${title}">
    <line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}" stroke="#bbb"/>
    <line x1="${PAD}" y1="${PAD}" x2="${WIDTH - PAD}" y2="${PAD}" stroke="#eee"/>
    <text x="2" y="${PAD + 4}" font-size="10" fill="#666">${formatMax(max)}${unit}</text>
    <text x="2" y="${HEIGHT - PAD + 4}" font-size="10" fill="#666">0</text>
    <text x="${WIDTH - PAD}" y="${HEIGHT -
      4}" font-size="10" fill="#666" text-anchor="end">now</text>
    <text x="${WIDTH / 2}" y="${HEIGHT - 4}" font-size="10" fill="#666">-30 min</text>
    ${paths}${legend}</svg>
    </figure>
  `;
}

function formatMax(max: number): string {
  return max >= 10_000 ? `${Math.round(max / 1000)}k` : String(Math.round(max));
}

/**
 * The four overview charts: throughput, failures, duration p50/p95, and queue depth.
 *
 * @example
 * ```ts ignore
 * const markup = overviewCharts(await lastHour(docket, Date.now()));
 * ```
 */
export function overviewCharts(points: MinutePoint[]): Markup {
  return html`<div class="charts">
${
    lineChart("Throughput (runs ended per minute)", "", [
      { label: "completed", colour: "#2b7a3d", values: points.map((p) => p.completed) },
    ])
  }
${
    lineChart("Failures per minute", "", [
      { label: "failed", colour: "#b3261e", values: points.map((p) => p.failed) },
      { label: "cancelled", colour: "#8a6d00", values: points.map((p) => p.cancelled) },
    ])
  }
${
    lineChart("Duration", " ms", [
      { label: "p50", colour: "#1f5fa8", values: points.map((p) => p.p50) },
      { label: "p95", colour: "#7b3fa0", values: points.map((p) => p.p95) },
    ])
  }
${
    lineChart("Queue depth (stream)", "", [
      { label: "depth", colour: "#444", values: points.map((p) => p.depth) },
    ])
  }
</div>${raw("")}`;
}
