/**
 * `createDashboard`: the dashboard as a standard `fetch` handler, routed with Hono.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { Docket } from "../docket.ts";
import { APP_CSS, APP_JS } from "./assets.ts";
import { ActionError, runAction } from "./actions.ts";
import { eventStream } from "./events.ts";
import { html, type Markup, page, type PageFrame } from "./html.ts";
import {
  AUTH_COOKIE,
  bearerToken,
  cookie,
  sameText,
  SECURITY_HEADERS,
  SESSION_COOKIE,
  SessionSigner,
} from "./security.ts";
import {
  flowView,
  overviewView,
  strikesView,
  type ViewContext,
  workersView,
} from "./views_overview.ts";
import { executionsView, executionView, failedView, scheduledView } from "./views_executions.ts";

/** Options of {@linkcode createDashboard}. */
export interface DashboardOptions {
  /** Hide every action and refuse every POST (403). */
  readOnly?: boolean;
  /** Require this token: as `Authorization: Bearer …`, or through the login form's cookie. */
  token?: string;
  /** Where the dashboard is mounted (e.g. `/docket`); default the root. */
  basePath?: string;
}

/** A standard fetch handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

type Session = { sid: string; csrf: string; authed: boolean };
type Env = { Variables: { session: Session } };

/** The views with their paths and titles. */
const VIEWS: [string, string, (ctx: ViewContext) => Promise<Markup>][] = [
  ["/", "Overview", overviewView],
  ["/executions", "Executions", executionsView],
  ["/failed", "Failed", failedView],
  ["/scheduled", "Scheduled", scheduledView],
  ["/strikes", "Strikes", strikesView],
  ["/workers", "Workers", workersView],
  ["/flow", "Flow control", flowView],
];

/**
 * The dashboard of a docket as a `fetch` handler, for `Deno.serve`, `Bun.serve`, Node's
 * adapters or another Hono app. It binds nothing itself: `cli.ts dashboard` serves it on
 * 127.0.0.1 unless told otherwise.
 *
 * @example
 * ```ts ignore
 * import { createDashboard } from "@docket/core/dashboard";
 * Deno.serve({ hostname: "127.0.0.1", port: 8765 }, createDashboard(docket, { readOnly: true }));
 * ```
 */
export function createDashboard(docket: Docket, options: DashboardOptions = {}): FetchHandler {
  const base = (options.basePath ?? "").replace(/\/+$/, "");
  const readOnly = options.readOnly === true;
  const token = options.token || undefined;
  const signer = new SessionSigner();
  const app = new Hono<Env>().basePath(base || "/");
  const frameOf = (c: Context<Env>): PageFrame => ({
    docket: docket.name,
    path: c.req.path.slice(base.length) || "/",
    csrf: c.get("session").csrf,
    readOnly,
    base,
  });
  const render = (c: Context<Env>, title: string, body: Markup, status = 200) =>
    c.html(page(frameOf(c), title, body).text, status as 200);

  app.use("*", async (c, next) => {
    let sid = getCookie(c, SESSION_COOKIE);
    if (!sid || !/^[0-9a-f]{36}$/.test(sid)) {
      sid = SessionSigner.newSessionId();
      c.header("Set-Cookie", cookie(SESSION_COOKIE, sid, base || "/"), { append: true });
    }
    const authed = !token ||
      sameText(bearerToken(c.req.header("authorization")) ?? "", token) ||
      await signer.checkLogin(sid, getCookie(c, AUTH_COOKIE));
    c.set("session", { sid, csrf: await signer.csrf(sid), authed });
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });

  app.get("/assets/app.css", (c) => c.body(APP_CSS, 200, { "Content-Type": "text/css" }));
  app.get("/login", (c) => c.html(loginPage(base, c.get("session").csrf, "").text));
  app.post("/login", async (c) => {
    const session = c.get("session");
    const form = await c.req.parseBody();
    if (!await signer.checkCsrf(session.sid, String(form._csrf ?? ""))) {
      return c.text("refused: the form's CSRF token is missing or wrong", 403);
    }
    if (!token || !sameText(String(form.token ?? ""), token)) {
      return c.html(loginPage(base, session.csrf, "That token is not right.").text, 401);
    }
    c.header("Set-Cookie", cookie(AUTH_COOKIE, await signer.loginProof(session.sid), base || "/"), {
      append: true,
    });
    return c.redirect(`${base}/`, 303);
  });

  app.use("*", async (c, next) => {
    if (c.get("session").authed) return await next();
    if (c.req.method === "GET" && (c.req.header("accept") ?? "").includes("text/html")) {
      return c.html(loginPage(base, c.get("session").csrf, "").text, 401);
    }
    return c.text("refused: this dashboard needs its token", 401);
  });

  app.post("*", async (c) => {
    if (readOnly) return c.text("refused: this dashboard is read-only", 403);
    const session = c.get("session");
    const form = await c.req.parseBody();
    const csrf = String(form._csrf ?? c.req.header("x-csrf-token") ?? "");
    if (!await signer.checkCsrf(session.sid, csrf)) {
      return c.text("refused: the form's CSRF token is missing or wrong", 403);
    }
    const fields = Object.fromEntries(
      Object.entries(form).map(([name, value]) => [name, String(value)]),
    );
    try {
      const next = await runAction(docket, c.req.path.slice(base.length), fields);
      return c.redirect(`${base}${next}`, 303);
    } catch (error) {
      const status = error instanceof ActionError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      return render(
        c,
        "Refused",
        html`
          <h1>Not done</h1>
          <p class="error">${message}</p>
        `,
        status,
      );
    }
  });

  app.get("/assets/app.js", (c) => c.body(APP_JS, 200, { "Content-Type": "text/javascript" }));
  app.get("/events", () => eventStream(docket));
  for (const [path, title, view] of VIEWS) {
    app.get(path, async (c) => {
      const body = await view({ docket, frame: frameOf(c), query: queryOf(c) });
      return render(c, title, body);
    });
  }
  app.get("/executions/:key", async (c) => {
    const key = c.req.param("key");
    const context = { docket, frame: frameOf(c), query: queryOf(c) };
    const body = await executionView(context, key);
    if (!body) return render(c, "Not found", html`<h1>No execution has the key ${key}</h1>`, 404);
    return render(c, `Execution ${key}`, body);
  });
  app.onError((error, c) =>
    c.html(
      html`
        <!doctype html>
        <title>Error</title>
        <h1>Something went wrong</h1>
        <pre>${error instanceof Error ? error.message : String(error)}</pre>
      `.text,
      500,
    )
  );
  return (request) => app.fetch(request);
}

function queryOf(c: Context): URLSearchParams {
  return new URL(c.req.url).searchParams;
}

function loginPage(base: string, csrf: string, problem: string): Markup {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <title>Sign in · docket</title>
        <link rel="stylesheet" href="${base}/assets/app.css">
      </head>
      <body>
        <div class="login">
    <h1>docket dashboard</h1>${problem ? html`<p class="error">${problem}</p>` : ""}
    <form method="post" action="${base}/login"><input type="hidden" name="_csrf" value="${csrf}">
    <label>Token <input type="password" name="token" autocomplete="current-password" required></label>
    <button type="submit">Sign in</button></form></div>
      </body>
    </html>
  `;
}
