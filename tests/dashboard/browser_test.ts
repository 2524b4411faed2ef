/**
 * The dashboard in a real browser (headless Chromium): counts, live progress, a resync after the
 * server's subscription dropped, retrying a failure, strikes, cancelling, read-only mode, the
 * token, and escaping.
 */

import assert from "node:assert/strict";
import { type Docket, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST, withDroppableSubscribers } from "../_harness.ts";
import { openBrowser, screenshot, serveDashboard, WAIT } from "./_browser.ts";

const LATER = () => Date.now() + 3_600_000;

/** A gate a task waits on, opened by the test one step at a time. */
function stepper() {
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => release = r);
  return {
    wait: () => gate,
    open() {
      const previous = release;
      gate = new Promise<void>((r) => release = r);
      previous();
    },
  };
}

for (const kind of BACKENDS) {
  Deno.test(`the overview's counts match the docket [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const worker = new Worker(docket, { ...FAST, name: "overview-worker" });
    for (let i = 0; i < 4; i++) await docket.add("trace")({ message: `done ${i}` });
    await worker.runUntilFinished();
    for (let i = 0; i < 3; i++) await docket.add("trace", { when: LATER() })({ message: "later" });
    for (let i = 0; i < 2; i++) await docket.add("sleep", { when: LATER() })({ seconds: 1 });
    // A worker stays up, so the page lists one live.
    const live = new Worker(docket, { ...FAST, name: "live-worker" });
    const serving = live.runForever();
    try {
      await using served = await serveDashboard(docket);
      await using browser = await openBrowser();
      const { page } = browser;
      await page.goto(`${served.url}/`);
      const cell = (taskName: string, state: string) =>
        page.locator(`tr:has([data-task="${taskName}"]) [data-count="${state}"]`);
      assert.equal(await cell("trace", "scheduled").textContent(WAIT), "3");
      assert.equal(await cell("sleep", "scheduled").textContent(WAIT), "2");
      assert.equal(await cell("trace", "running").textContent(WAIT), "0");
      const snapshot = await docket.snapshot();
      assert.equal(snapshot.future.length, 5);
      // The throughput chart is drawn from the counters the finish write kept: 4 completed.
      assert.equal(await completedLately(docket), 4);
      assert.equal(await page.locator("figure.chart svg path").count() >= 4, true);
      if (kind === "redis") await screenshot(page, "dashboard-overview");
      await page.goto(`${served.url}/workers`);
      await page.waitForSelector('td:text("live-worker")', WAIT);
      if (kind === "redis") await screenshot(page, "dashboard-workers");
    } finally {
      await live.stop();
      await serving;
    }
  });
}

/** Runs completed in the last three minutes, from the per-minute counters. */
async function completedLately(docket: Docket): Promise<number> {
  const now = Math.floor(Date.now() / 60_000);
  const records = await docket.backend.readStats([now - 2, now - 1, now]);
  return records.reduce((sum, record) => sum + (record.completed ?? 0), 0);
}

Deno.test("a running task's progress bar advances without a reload", async () => {
  await using docket = await connectDocket("redis");
  const steps = stepper();
  const started = Promise.withResolvers<void>();
  const stepped = task({
    name: "stepped",
    logged: { label: true },
    async run(_payload: { label: string }, ctx) {
      await ctx.progress.setTotal(3);
      await ctx.progress.setMessage("warming up");
      started.resolve();
      for (let i = 0; i < 3; i++) {
        await steps.wait();
        await ctx.progress.increment();
        await ctx.progress.setMessage(`step ${i + 1}`);
      }
      return { steps: 3 };
    },
  });
  docket.register(stepped);
  const worker = new Worker(docket, { ...FAST, name: "progress-worker" });
  const running = worker.runForever();
  try {
    await docket.add(stepped, { key: "stepped-1" })({ label: "nightly" });
    await started.promise;
    await using served = await serveDashboard(docket);
    await using browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${served.url}/executions/stepped-1`);
    await page.waitForSelector("#live.on", WAIT);
    await page.evaluate(() => (globalThis as any).notReloaded = true);
    assert.equal(await page.locator("#progress").getAttribute("value"), "0");
    steps.open();
    await page.waitForSelector('#progress-message:text("step 1")', WAIT);
    assert.equal(await page.locator("#progress").evaluate((el: any) => el.value), 1);
    steps.open();
    await page.waitForSelector('#progress-message:text("step 2")', WAIT);
    assert.equal(await page.locator("#progress").evaluate((el: any) => el.value), 2);
    await screenshot(page, "dashboard-execution");
    steps.open();
    await page.waitForSelector('#state:text("completed")', WAIT);
    assert.equal(await page.evaluate(() => (globalThis as any).notReloaded), true);
    await page.waitForSelector('pre.result:has-text("steps")', WAIT);
  } finally {
    await worker.stop();
    await running;
  }
});

Deno.test("the page reads its view again once the server's subscription is back after a drop", async () => {
  await withDroppableSubscribers(async (url, dropSubscribers) => {
    await using docket = await connectDocket("redis", { url });
    await using served = await serveDashboard(docket);
    await using browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${served.url}/`);
    await page.waitForSelector("#live.on", WAIT);
    await page.evaluate(() => {
      (globalThis as any).document.addEventListener(
        "docket:refreshed",
        () => (globalThis as any).refreshed = true,
      );
    });
    // Events published while the server reconnects are lost; no state event comes to refresh it.
    await dropSubscribers();
    await page.waitForFunction(() => (globalThis as any).refreshed === true, undefined, WAIT);
  });
});

Deno.test({
  name: "retrying a failed task from the Failed view runs it to completion",
  async fn() {
    await using docket = await connectDocket("redis");
    let runs = 0;
    const flaky = task({
      name: "flaky",
      run() {
        runs++;
        if (runs === 1) throw new Error("first run fails");
        return "fine";
      },
    });
    docket.register(flaky);
    await docket.add(flaky, { key: "flaky-1" })({});
    const worker = new Worker(docket, { ...FAST, name: "retry-worker" });
    await worker.runUntilFinished();
    await using served = await serveDashboard(docket);
    await using browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${served.url}/failed`);
    await page.waitForSelector('a.key:text("flaky-1")', WAIT);
    await screenshot(page, "dashboard-failed");
    const running = worker.runForever();
    try {
      await page.locator('tr:has(a.key:text("flaky-1")) button:text("Retry")').click();
      await page.waitForSelector('#state:text("completed")', WAIT);
      assert.equal(runs, 2);
    } finally {
      await worker.stop();
      await running;
    }
  },
});

Deno.test("a strike made in the browser strikes new adds, and restoring lifts it", async () => {
  await using docket = await connectDocket("redis");
  await using served = await serveDashboard(docket);
  await using browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${served.url}/strikes`);
  await page.fill('input[name="task"]', "trace");
  await page.fill('input[name="param"]', "message");
  await page.selectOption('select[name="op"]', "==");
  await page.fill('input[name="value"]', '"blocked"');
  await page.click('button:text("Strike")');
  await page.waitForSelector(`span.strike:text("trace(message == 'blocked')")`, WAIT);
  assert.equal((await docket.add("trace")({ message: "blocked" })).disposition, "struck");
  assert.equal((await docket.add("trace")({ message: "fine" })).disposition, "scheduled");
  await screenshot(page, "dashboard-strikes");
  await page.click('button:text("Restore")');
  await page.waitForSelector("text=No strikes in effect.", WAIT);
  assert.equal((await docket.add("trace")({ message: "blocked" })).disposition, "scheduled");
});

Deno.test("cancelling a scheduled task from the Scheduled view", async () => {
  await using docket = await connectDocket("redis");
  await docket.add("trace", { key: "cancel-me", when: LATER() })({ message: "x" });
  await using served = await serveDashboard(docket);
  await using browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${served.url}/scheduled`);
  await page.locator('tr:has(a.key:text("cancel-me")) button:text("Cancel")').click();
  await page.waitForSelector('#state:text("cancelled")', WAIT);
  assert.equal((await docket.getExecution("cancel-me"))?.state, "cancelled");
});

Deno.test("read-only mode shows no action and refuses a forged POST", async () => {
  await using docket = await connectDocket("redis");
  await docket.add("trace", { key: "keep-me", when: LATER() })({ message: "x" });
  await using served = await serveDashboard(docket, { readOnly: true });
  await using browser = await openBrowser();
  const { page } = browser;
  for (const path of ["/", "/scheduled", "/strikes", "/executions/keep-me", "/failed"]) {
    await page.goto(`${served.url}${path}`);
    assert.equal(await page.locator("form.action, button").count(), 0, path);
  }
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  assert.ok(csrf);
  const status = await page.evaluate(async (token) => {
    const body = new URLSearchParams({ _csrf: token, key: "keep-me" });
    return (await fetch("/actions/cancel", { method: "POST", body })).status;
  }, csrf);
  assert.equal(status, 403);
  assert.equal((await docket.getExecution("keep-me"))?.state, "scheduled");
});

Deno.test("with a token, a request without it is refused; the login form lets one in", async () => {
  await using docket = await connectDocket("redis");
  await using served = await serveDashboard(docket, { token: "open-sesame" });
  const bare = await fetch(`${served.url}/`);
  assert.equal(bare.status, 401);
  await bare.body?.cancel();
  const bearer = await fetch(`${served.url}/workers`, {
    headers: { authorization: "Bearer open-sesame" },
  });
  assert.equal(bearer.status, 200);
  await bearer.body?.cancel();
  await using browser = await openBrowser();
  const { page } = browser;
  const first = await page.goto(`${served.url}/`);
  assert.equal(first?.status(), 401);
  await page.fill('input[name="token"]', "wrong");
  await page.click('button:text("Sign in")');
  await page.waitForSelector("text=That token is not right.", WAIT);
  await page.fill('input[name="token"]', "open-sesame");
  await page.click('button:text("Sign in")');
  await page.waitForSelector('h1:text("Overview")', WAIT);
});

Deno.test("an XSS payload, key and error render as text", async () => {
  await using docket = await connectDocket("redis");
  const echo = task({ name: "echo", logged: { note: true }, run: () => undefined });
  docket.register(echo);
  const key = `"><img src=x onerror="window.pwned=1">`;
  const note = `<script>window.pwned=2</script>"><img src=x onerror=window.pwned=3>`;
  await docket.add(echo, { key, when: LATER() })({ note, secret: "hunter2" });
  await using served = await serveDashboard(docket);
  await using browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${served.url}/executions?task=echo`);
  assert.equal(await page.locator("a.key").first().textContent(WAIT), key);
  await page.goto(`${served.url}/executions/${encodeURIComponent(key)}`);
  const shown = await page.locator("pre.value").first().textContent(WAIT);
  assert.equal(shown, JSON.stringify(note));
  // A field the task does not log is shown as "…", never its value.
  assert.equal(await page.locator("pre.hidden").first().textContent(), "…");
  assert.equal(await page.content().then((c) => c.includes("hunter2")), false);
  assert.equal(await page.locator("main img, main script").count(), 0);
  assert.equal(await page.evaluate(() => (globalThis as any).pwned), undefined);
});
