/**
 * Cron: successor times follow the expression in its time zone (DST included), the first run of
 * an automatic cron is the next match, and the behaviour plugs into the worker like Perpetual.
 */

import assert from "node:assert/strict";
import { Cron, type CronBehaviour, Perpetual, task, Worker } from "../../mod.ts";
import type { RunHandle } from "../../src/hooks.ts";
import type { WorkerInternalOptions } from "../../src/worker/worker.ts";
import { connectDocket, FAST, LogCapture, waitUntil } from "../_harness.ts";
import { eachBackend, record, signal, waitingCopies, within } from "./_support.ts";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

/** Runs `fn` with `Date.now()` returning `now` (a fixed clock). */
function atInstant<T>(now: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => now;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

/** A run as the worker hands it to hooks, due at `when`. */
function runDueAt(when: number, startedAt = when): RunHandle {
  const controller = new AbortController();
  return {
    taskName: "cron_task",
    key: "cron_task",
    payload: {},
    attempt: 1,
    startedAt,
    context: { execution: { when: new Date(when) } },
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
  };
}

/**
 * Follows a cron chain through the behaviour's own hooks with a fixed clock: seeds it at
 * `seededAt`, then for each run, ends it `lag` ms after it was due and takes the successor.
 */
function chain(cron: CronBehaviour, seededAt: string, count: number, lag = 2_000): string[] {
  let due = cron.automatic!.firstRun(at(seededAt));
  const out = [iso(due)];
  while (out.length < count) {
    const run = runDueAt(due, due + 5);
    atInstant(due + 5, () => cron.attach!(run));
    const successor = atInstant(
      due + lag,
      () => cron.onSettled!(run, { kind: "completed", result: 1 }),
    );
    assert.ok(successor, "a cron run always has a successor");
    assert.ok(successor.when > due, `${iso(successor.when)} is not after ${iso(due)}`);
    due = successor.when;
    out.push(iso(due));
  }
  return out;
}

Deno.test("cron successors across DST in Europe/Paris follow the schedule", () => {
  const nightly = Cron("30 2 * * *", { tz: "Europe/Paris" });
  // Spring forward (29 March 2026, 02:00 CET -> 03:00 CEST): 02:30 does not exist that night,
  // so it runs at 03:00 CEST, then at 02:30 CEST again.
  assert.deepEqual(chain(nightly, "2026-03-28T12:00:00Z", 3), [
    "2026-03-29T01:00:00.000Z",
    "2026-03-30T00:30:00.000Z",
    "2026-03-31T00:30:00.000Z",
  ]);
  // Fall back (25 October 2026, 03:00 CEST -> 02:00 CET): 02:30 happens twice; it runs once.
  assert.deepEqual(chain(nightly, "2026-10-23T12:00:00Z", 3), [
    "2026-10-24T00:30:00.000Z",
    "2026-10-25T00:30:00.000Z",
    "2026-10-26T01:30:00.000Z",
  ]);
  // An hourly job runs every real hour through the repeated hour.
  const hourly = Cron("0 * * * *", { tz: "Europe/Paris" });
  assert.deepEqual(chain(hourly, "2026-10-24T23:30:00Z", 4), [
    "2026-10-25T00:00:00.000Z",
    "2026-10-25T01:00:00.000Z",
    "2026-10-25T02:00:00.000Z",
    "2026-10-25T03:00:00.000Z",
  ]);
});

Deno.test("cron successors across DST in America/New_York follow the schedule", () => {
  // Spring forward (8 March 2026, 02:00 EST -> 03:00 EDT).
  assert.deepEqual(
    chain(Cron("30 2 * * *", { tz: "America/New_York" }), "2026-03-06T12:00:00Z", 3),
    [
      "2026-03-07T07:30:00.000Z",
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
    ],
  );
  // Fall back (1 November 2026, 02:00 EDT -> 01:00 EST): 01:30 runs once, on summer time.
  assert.deepEqual(
    chain(Cron("30 1 * * *", { tz: "America/New_York" }), "2026-10-30T12:00:00Z", 3),
    [
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ],
  );
  // Weekdays at 09:00 skip the weekend and move with the clocks.
  assert.deepEqual(
    chain(Cron("0 9 * * 1-5", { tz: "America/New_York" }), "2026-03-06T15:00:00Z", 3),
    [
      "2026-03-09T13:00:00.000Z",
      "2026-03-10T13:00:00.000Z",
      "2026-03-11T13:00:00.000Z",
    ],
  );
});

Deno.test("a late run skips missed matches; an early clock never repeats a match", () => {
  const hourly = Cron("0 * * * *");
  const due = at("2026-05-13T10:00:00Z");
  const run = runDueAt(due);
  cron(hourly, run);
  // Ended 90 minutes late: the 11:00 match is skipped, not caught up.
  const late = atInstant(at("2026-05-13T11:30:00Z"), () => hourly.onSettled!(run, ok));
  assert.equal(iso(late!.when), "2026-05-13T12:00:00.000Z");
  // A worker whose clock is behind the one that made the run due: still the next match.
  const early = atInstant(due - 100, () => hourly.onSettled!(run, ok));
  assert.equal(iso(early!.when), "2026-05-13T11:00:00.000Z");
  // A failure is followed the same way.
  const failed = atInstant(due + 10, () => hourly.onSettled!(run, { kind: "failed", error: 1 }));
  assert.equal(iso(failed!.when), "2026-05-13T11:00:00.000Z");
});

const ok = { kind: "completed", result: undefined } as const;
function cron(behaviour: CronBehaviour, run: RunHandle): void {
  behaviour.attach!(run);
}

Deno.test("Cron: keywords, defaults, validation and ctx.perpetual on cron tasks", () => {
  const daily = Cron("@daily");
  assert.equal(daily.kind, "cron");
  assert.equal(daily.tz, "UTC");
  assert.equal(daily.expression, "@daily");
  assert.equal(daily.isAutomatic, true, "automatic by default");
  assert.equal(Cron("@daily", { automatic: false }).automatic, undefined);
  assert.equal(iso(daily.next(at("2026-05-13T10:00:00Z"))), "2026-05-14T00:00:00.000Z");
  assert.throws(() => Cron("61 * * * *"), RangeError);
  assert.throws(() => Cron("* * * *"), /expected 5 fields/);
  assert.throws(() => Cron("@daily", { tz: "Mars/Olympus" }), /Unknown time zone "Mars\/Olympus"/);
  assert.throws(
    () => task({ name: "both", cron: daily, perpetual: Perpetual({ every: 1_000 }), run() {} }),
    /cannot be both perpetual and cron/,
  );

  const run = runDueAt(at("2026-05-13T00:00:00Z"));
  daily.attach!(run);
  const control = run.context.perpetual as { every: number };
  assert.equal(control.every, 0);
  assert.throws(() => (control.every = 1_000), /cannot be set on a cron task \(@daily\)/);
  // after() and at() move the next run; cancel() ends the chain.
  const moved = atInstant(at("2026-05-13T00:00:01Z"), () => {
    (run.context.perpetual as { after(ms: number): void }).after(60_000);
    return daily.onSettled!(run, ok);
  });
  assert.equal(iso(moved!.when), "2026-05-13T00:01:01.000Z");
  const next = runDueAt(at("2026-05-14T00:00:00Z"));
  daily.attach!(next);
  (next.context.perpetual as { cancel(): void }).cancel();
  assert.equal(daily.onSettled!(next, ok), undefined);
});

/**
 * Runs `fn` with the whole process's clock shifted so that it reads `startIso` now (it keeps
 * ticking). Workers, the store scripts and the cron hook all read `Date.now()`.
 */
async function inShiftedTime<T>(startIso: string, fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  const offset = at(startIso) - real();
  Date.now = () => real() + offset;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

/**
 * An instant a few seconds before `iso`: room for connecting and starting a worker on a busy
 * machine before the match the test is about, so that it is still ahead when the task is seeded.
 */
function secondsBefore(iso: string): string {
  return new Date(at(iso) - 4_000).toISOString();
}

eachBackend(
  "an automatic cron runs first at the next match, then follows DST (Paris)",
  (kind) =>
    inShiftedTime(secondsBefore("2026-03-29T01:00:00Z"), async () => {
      await using docket = await connectDocket(kind);
      const ran = signal<{ when: number; started: number }>();
      const nightly = task({
        name: "nightly",
        cron: Cron("30 2 * * *", { tz: "Europe/Paris" }),
        run(_payload: Record<string, never>, ctx) {
          ran.resolve({ when: ctx.execution.when.getTime(), started: Date.now() });
        },
      });
      docket.register(nightly);
      const worker = new Worker(docket, FAST);
      const running = worker.runForever();
      const seeded = Date.now();
      const first = await within(ran.promise, 60_000, "the first cron run");
      // Not at start-up: at 03:00 CEST, the first instant after the skipped 02:30.
      assert.equal(iso(first.when), "2026-03-29T01:00:00.000Z");
      assert.ok(first.started >= first.when && first.when > seeded);
      await waitUntil(async () => (await record(docket, "nightly"))?.state === "scheduled");
      await worker.stop();
      await running;
      const next = await record(docket, "nightly");
      assert.equal(iso(next!.when!), "2026-03-30T00:30:00.000Z");
      assert.equal(await waitingCopies(docket, "nightly"), 1);
    }),
);

eachBackend(
  "an hourly cron runs through the repeated hour (New York)",
  (kind) =>
    inShiftedTime(secondsBefore("2026-11-01T06:00:00Z"), async () => {
      await using docket = await connectDocket(kind);
      const whens: number[] = [];
      const ran = signal();
      const hourly = task({
        name: "hourly_report",
        cron: Cron("0 * * * *", { tz: "America/New_York", automatic: false }),
        run(_payload: Record<string, never>, ctx) {
          whens.push(ctx.execution.when.getTime());
          ran.resolve();
        },
      });
      docket.register(hourly);
      // Not automatic: added by hand, it runs now and then on the matches.
      await docket.add(hourly, { key: "hourly" })({});
      const worker = new Worker(docket, FAST);
      const running = worker.runForever();
      await within(ran.promise, 60_000, "the first run");
      // 01:00 EST, the second 01:00 of the night, is the next match.
      await waitUntil(async () => (await record(docket, "hourly"))?.state !== "running");
      const next = await record(docket, "hourly");
      assert.equal(iso(next!.when!), "2026-11-01T06:00:00.000Z");
      // Let it run: the one after is 02:00 EST.
      await waitUntil(() => whens.length === 2, 60_000, "the 01:00 EST run");
      await waitUntil(async () => (await record(docket, "hourly"))?.state === "scheduled");
      await worker.stop();
      await running;
      assert.equal(iso(whens[1]), "2026-11-01T06:00:00.000Z");
      assert.equal(iso((await record(docket, "hourly"))!.when!), "2026-11-01T07:00:00.000Z");
      assert.equal(await record(docket, "hourly_report"), undefined, "not seeded: not automatic");
    }),
);

eachBackend("a healthy automatic cron is not re-seeded; a severed one is", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const yearly = task({
    name: "yearly",
    cron: Cron("@yearly"),
    run() {},
  });
  docket.register(yearly);
  const worker = new Worker(docket, { ...FAST, reseedInterval: 20 } as WorkerInternalOptions);
  const running = worker.runForever();
  await waitUntil(async () => (await record(docket, "yearly"))?.state === "scheduled");
  const seeded = await record(docket, "yearly");
  await new Promise((resolve) => setTimeout(resolve, 150)); // several re-seed rounds
  assert.equal((await record(docket, "yearly"))?.generation, seeded?.generation, "left alone");
  await docket.cancel("yearly");
  await waitUntil(async () => (await record(docket, "yearly"))?.state === "scheduled");
  await worker.stop();
  await running;
  const healed = await record(docket, "yearly");
  assert.equal(healed?.when, seeded?.when, "re-seeded for the same next match");
  assert.ok(healed!.generation! > seeded!.generation!);
  assert.equal(await waitingCopies(docket, "yearly"), 1);
});
