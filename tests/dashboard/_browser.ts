/**
 * Browser tests' support: Debian's headless Chromium driven by playwright-core, and a dashboard
 * served on a free local port.
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Docket } from "../../mod.ts";
import { createDashboard, type DashboardOptions } from "../../dashboard.ts";

/** Where Debian's package puts Chromium. */
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Waits are generous: they end on the awaited event, never by measuring speed. */
export const WAIT = { timeout: 30_000 };

/** A dashboard served over HTTP on 127.0.0.1. */
export interface ServedDashboard extends AsyncDisposable {
  url: string;
}

/** Serves `createDashboard(docket, options)` on a free port of 127.0.0.1. */
export function serveDashboard(
  docket: Docket,
  options: DashboardOptions = {},
): Promise<ServedDashboard> {
  const controller = new AbortController();
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}`,
          async [Symbol.asyncDispose]() {
            controller.abort();
            await server.finished;
          },
        }),
    }, createDashboard(docket, options));
  });
}

/** A fresh browser profile and page; disposing closes the browser and removes the profile. */
export interface BrowserSession extends AsyncDisposable {
  context: BrowserContext;
  page: Page;
}

/** Launches Chromium with a fresh user-data-dir. */
export async function openBrowser(): Promise<BrowserSession> {
  const profile = await Deno.makeTempDir({ prefix: "docket-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 800 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Saves a screenshot for the README when DOCKET_SCREENSHOTS names a folder (`docs`), so an
 * ordinary test run leaves the work tree alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = Deno.env.get("DOCKET_SCREENSHOTS");
  if (!folder) return;
  await page.screenshot({ path: `${folder}/${name}.png`, fullPage: false });
}

export type { Page };
