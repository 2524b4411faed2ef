/**
 * The dashboard's handler over plain HTTP requests on both backends: headers, CSRF, read-only,
 * the token, escaping, live events, and the per-minute counters behind the charts.
 */

import assert from "node:assert/strict";
import { Worker } from "../../mod.ts";
import { createDashboard } from "../../dashboard.ts";
import { BACKENDS, connectDocket, FAST, withDroppableSubscribers } from "../_harness.ts";

const LATER = () => Date.now() + 3_600_000;
const html = { accept: "text/html" };

/** The session cookie and CSRF token a first GET hands out. */
async function session(handler: (r: Request) => Response | Promise<Response>) {
  const response = await handler(new Request("http://dash/", { headers: html }));
  const text = await response.text();
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0];
  const csrf = /name="csrf-token" content="([0-9a-f]+)"/.exec(text)?.[1] ?? "";
  return { cookie, csrf, response };
}

function post(path: string, cookie: string, fields: Record<string, string>): Request {
  return new Request(`http://dash${path}`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
}

for (const kind of BACKENDS) {
  Deno.test(`every page is served with a strict CSP and escapes what it shows [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const key = `<script>alert(1)</script>`;
    await docket.add("trace", { key, when: LATER() })({ message: `"><img onerror=alert(1)>` });
    const handler = createDashboard(docket);
    for (
      const path of [
        "/",
        "/executions",
        "/failed",
        "/scheduled",
        "/strikes",
        "/workers",
        "/flow",
        `/executions/${encodeURIComponent(key)}`,
      ]
    ) {
      const response = await handler(new Request(`http://dash${path}`, { headers: html }));
      assert.equal(response.status, 200, path);
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      const text = await response.text();
      assert.equal(text.includes("<script>alert"), false, path);
      assert.equal(text.includes("<img onerror"), false, path);
    }
  });

  Deno.test(`an action needs the session's CSRF token [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    await docket.add("trace", { key: "victim", when: LATER() })({ message: "x" });
    const handler = createDashboard(docket);
    const { cookie, csrf } = await session(handler);
    assert.ok(cookie.startsWith("docket_session=") && csrf);
    const forged = await handler(post("/actions/cancel", cookie, { key: "victim", _csrf: "0" }));
    assert.equal(forged.status, 403);
    const other = await session(handler);
    const stolen = await handler(
      post("/actions/cancel", cookie, { key: "victim", _csrf: other.csrf }),
    );
    assert.equal(stolen.status, 403, "another session's token does not count");
    assert.equal((await docket.getExecution("victim"))?.state, "scheduled");
    const real = await handler(post("/actions/cancel", cookie, { key: "victim", _csrf: csrf }));
    assert.equal(real.status, 303);
    assert.equal((await docket.getExecution("victim"))?.state, "cancelled");
  });

  Deno.test(`read-only refuses every POST, even with a valid CSRF token [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    await docket.add("trace", { key: "kept", when: LATER() })({ message: "x" });
    const handler = createDashboard(docket, { readOnly: true });
    const { cookie, csrf, response } = await session(handler);
    assert.equal(response.status, 200);
    for (const path of ["/actions/cancel", "/actions/run-now", "/strikes", "/actions/retry"]) {
      const refused = await handler(
        post(path, cookie, { key: "kept", task: "trace", _csrf: csrf }),
      );
      assert.equal(refused.status, 403, path);
    }
    assert.equal((await docket.getExecution("kept"))?.state, "scheduled");
    assert.equal(docket.strikeList.strikes.size, 0);
  });

  Deno.test(`with a token, requests without it are refused [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const handler = createDashboard(docket, { token: "t0ken" });
    for (const path of ["/", "/events", "/executions", "/assets/app.js"]) {
      const response = await handler(new Request(`http://dash${path}`));
      assert.equal(response.status, 401, path);
    }
    const wrong = await handler(
      new Request("http://dash/", { headers: { authorization: "Bearer nope" } }),
    );
    assert.equal(wrong.status, 401);
    const right = await handler(
      new Request("http://dash/", { headers: { authorization: "Bearer t0ken" } }),
    );
    assert.equal(right.status, 200);
  });

  Deno.test(`/events relays state and progress events from the docket's pub/sub [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const handler = createDashboard(docket);
    const response = await handler(new Request("http://dash/events"));
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read(); // the greeting: the subscription is in place
    await docket.add("trace", { key: "evented", when: LATER() })({ message: "x" });
    let seen = "";
    while (!/event: state\ndata: \{[^\n]*"evented"/.test(seen)) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      seen += value;
    }
    await reader.cancel();
  });

  Deno.test(`finished runs are counted per minute, in the finish write [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    for (let i = 0; i < 3; i++) await docket.add("trace")({ message: "ok" });
    await docket.add("fail")({ message: "no" });
    const before = Math.floor(Date.now() / 60_000);
    await new Worker(docket, FAST).runUntilFinished();
    const after = Math.floor(Date.now() / 60_000);
    const minutes = Array.from({ length: after - before + 1 }, (_, i) => before + i);
    const records = await docket.backend.readStats(minutes);
    const sum = (field: string) => records.reduce((n, r) => n + (r[field] ?? 0), 0);
    assert.equal(sum("completed"), 3);
    assert.equal(sum("failed"), 1);
    const durations = records.flatMap((r) => Object.keys(r).filter((f) => /^d\d+$/.test(f)));
    assert.ok(durations.length > 0, "durations are bucketed");
    const runs = records.reduce(
      (n, r) =>
        n + Object.entries(r).filter(([f]) => /^d\d+$/.test(f)).reduce((m, [, c]) => m + c, 0),
      0,
    );
    assert.equal(runs, 4);
    if (kind === "redis") {
      const redis = await docket.redis();
      const ttl = Number(await redis.sendCommand(["PTTL", docket.keys.stats(after)]));
      assert.ok(ttl > 60 * 60_000 && ttl <= 2 * 60 * 60_000, `stats TTL ${ttl}`);
    }
  });
}

Deno.test("/events says resync once the server's subscription is back after a drop [redis]", async () => {
  await withDroppableSubscribers(async (url, dropSubscribers) => {
    await using docket = await connectDocket("redis", { url });
    const response = await createDashboard(docket)(new Request("http://dash/events"));
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read(); // the greeting: the subscription is in place
    // Events published while the subscriber is reconnecting are lost: the page must reread.
    await dropSubscribers();
    // Bounds a wait for the event, not a speed: without it the stream stays silent for good.
    const silent = setTimeout(() => reader.cancel(), 30_000);
    let seen = "";
    while (!seen.includes("event: resync\n")) {
      const { value, done } = await reader.read();
      assert.equal(done, false, "the stream ended without a resync event");
      seen += value;
    }
    clearTimeout(silent);
    await reader.cancel();
  });
});
