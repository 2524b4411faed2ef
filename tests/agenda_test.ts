/**
 * `Agenda` through real dockets (and workers), on every backend: the seed's "Task Scattering with
 * Agenda" examples as written, the scatter times against the formula, validation before anything
 * is written, idempotent re-scatters, and a store failing part-way.
 */

import assert from "node:assert/strict";
import {
  Agenda,
  type Docket,
  type Execution,
  ScheduleError,
  task,
  UnknownTaskError,
  Worker,
} from "../mod.ts";
import type { ScheduleRequest } from "../src/storage/backend.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";

const MINUTE = 60_000;

/** Where task i of n goes: both ends included; a single task in the middle. */
function expectedTimes(n: number, start: number, over: number): number[] {
  return Array.from(
    { length: n },
    (_, i) => Math.round(n === 1 ? start + over / 2 : start + (i * over) / (n - 1)),
  );
}

const times = (executions: Execution[]) => executions.map((e) => e.when.getTime());

/** The scheduled tasks as the store has them, by key. */
async function stored(docket: Docket): Promise<Map<string, Execution>> {
  const { future } = await docket.snapshot();
  return new Map(future.map((e) => [e.key, e]));
}

function itemTasks() {
  const ran: { task: string; payload: Record<string, unknown>; at: number }[] = [];
  const record = (name: string) =>
    task({
      name,
      run(payload: Record<string, unknown>) {
        ran.push({ task: name, payload, at: Date.now() });
      },
    });
  return {
    ran,
    processItem: record("process_item"),
    sendEmail: record("send_email"),
    updateAnalytics: record("update_analytics"),
    cleanupTempFiles: record("cleanup_temp_files"),
    compressOldLogs: record("compress_old_logs"),
    updateMetrics: record("update_metrics"),
    validTask: record("valid_task"),
  };
}

for (const kind of BACKENDS) {
  Deno.test(`${kind}: seed, basic scattering`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();

    // Build an agenda of tasks
    const agenda = new Agenda();
    for (let itemId = 1; itemId <= 100; itemId++) { // 100 items to process
      agenda.add(processItem)({ itemId });
    }

    // Scatter them evenly over 50 minutes to avoid overwhelming the system
    const before = Date.now();
    const executions = await agenda.scatter(docket, { over: { minutes: 50 } });
    const after = Date.now();
    assert.equal(executions.length, 100); // Scheduled 100 tasks over 50 minutes

    const first = executions[0].when.getTime();
    assert.ok(first >= before && first <= after, "the window starts now");
    assert.deepEqual(times(executions), expectedTimes(100, first, 50 * MINUTE));
    // "approximately 30 seconds apart": 50 minutes / 99 gaps.
    const gaps = times(executions).slice(1).map((t, i) => t - times(executions)[i]);
    assert.ok(gaps.every((gap) => Math.abs(gap - 30_303) <= 1), String(gaps));
    assert.deepEqual(
      executions.map((e) => e.payload.itemId),
      [...Array(100).keys()].map((i) => i + 1),
    );
    assert.ok(executions.every((e) => e.disposition === "scheduled"));

    // What the store holds matches.
    const inStore = await stored(docket);
    assert.equal(inStore.size, 100);
    for (const execution of executions) {
      const saved = inStore.get(execution.key)!;
      assert.equal(saved.when.getTime(), execution.when.getTime());
      assert.deepEqual(saved.payload, execution.payload);
      assert.equal(saved.taskName, "process_item");
    }
    await docket.clear();
  });

  Deno.test(`${kind}: scatter times follow the formula from a fixed start`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const start = Date.UTC(2030, 0, 1, 12, 0, 0);
    for (const n of [2, 3, 7, 100]) {
      const agenda = new Agenda();
      for (let i = 0; i < n; i++) agenda.add(processItem)({ i });
      const executions = await agenda.scatter(docket, { start, over: { minutes: 60 } });
      assert.deepEqual(times(executions), expectedTimes(n, start, 60 * MINUTE), `n = ${n}`);
      assert.equal(times(executions)[0], start);
      assert.equal(times(executions).at(-1), start + 60 * MINUTE);
    }
    // upstream's case: 3 tasks over 60 s at start, +30 s, +60 s.
    const three = new Agenda();
    for (let i = 0; i < 3; i++) three.add(processItem)({ i });
    const executions = await three.scatter(docket, { start: new Date(start), over: 60_000 });
    assert.deepEqual(times(executions), [start, start + 30_000, start + 60_000]);
    await docket.clear();
  });

  Deno.test(`${kind}: seed, jitter for thundering herd prevention`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const agenda = new Agenda();
    for (let itemId = 1; itemId <= 100; itemId++) agenda.add(processItem)({ itemId });

    // Scatter with ±30 second jitter around each scheduled time
    const start = Date.now();
    const executions = await agenda.scatter(docket, {
      start,
      over: { minutes: 50 },
      jitter: { seconds: 30 },
    });
    const base = expectedTimes(100, start, 50 * MINUTE);
    executions.forEach((execution, i) => {
      const when = execution.when.getTime();
      assert.ok(Math.abs(when - base[i]) <= 30_000 + 1, `task ${i} moved ${when - base[i]} ms`);
      assert.ok(when >= start, `task ${i} is before the start`);
    });
    assert.ok(times(executions).some((t, i) => t !== base[i]), "jitter moved something");

    // Jitter larger than the window still never goes before the start.
    const wide = new Agenda();
    for (let i = 0; i < 20; i++) wide.add(processItem)({ i });
    const spread = await wide.scatter(docket, { start, over: 1_000, jitter: { minutes: 5 } });
    assert.ok(times(spread).every((t) => t >= start));
    await docket.clear();
  });

  Deno.test(`${kind}: seed, future scatter windows`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const agenda = new Agenda();
    for (let itemId = 1; itemId <= 10; itemId++) agenda.add(processItem)({ itemId });

    // Start scattering in 2 hours, spread over 30 minutes
    const startTime = new Date(Date.now() + 2 * 60 * MINUTE);
    const executions = await agenda.scatter(docket, { start: startTime, over: { minutes: 30 } });
    assert.deepEqual(times(executions), expectedTimes(10, startTime.getTime(), 30 * MINUTE));
    assert.ok(executions.every((e) => e.state === "scheduled"));
    assert.equal((await stored(docket)).size, 10);
    await docket.clear();
  });

  Deno.test(`${kind}: seed, mixed task types keep their order`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem, sendEmail, updateAnalytics } = itemTasks();
    docket.register(sendEmail);

    // Create a mixed agenda
    const agenda = new Agenda();
    agenda.add(processItem)({ itemId: 1001 });
    agenda.add(sendEmail)({ userId: "user123", template: "welcome" });
    agenda.add(updateAnalytics)({ eventData: { event: "signup", user: "user123" } });
    agenda.add(processItem)({ itemId: 1002 });

    // All tasks will be scattered in the order they were added
    const start = Date.now();
    const executions = await agenda.scatter(docket, { start, over: { minutes: 10 } });
    assert.deepEqual(
      executions.map((e) => e.taskName),
      ["process_item", "send_email", "update_analytics", "process_item"],
    );
    assert.deepEqual(times(executions), [start, start + 200_000, start + 400_000, start + 600_000]);
    assert.deepEqual(executions[2].payload, { eventData: { event: "signup", user: "user123" } });
    // Tasks given as functions were registered on the way.
    assert.ok(docket.tasks.has("process_item") && docket.tasks.has("update_analytics"));
    await docket.clear();
  });

  Deno.test(`${kind}: seed, single task positioning`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const agenda = new Agenda();
    agenda.add(processItem)({ itemId: 42 });

    // This task will be scheduled 5 minutes from now (middle of 10-minute window)
    const before = Date.now();
    const [execution] = await agenda.scatter(docket, { over: { minutes: 10 } });
    const after = Date.now();
    const when = execution.when.getTime();
    assert.ok(when >= before + 5 * MINUTE && when <= after + 5 * MINUTE);

    const start = Date.now() + MINUTE;
    const again = new Agenda();
    again.add(processItem)({ itemId: 43 });
    const [fixed] = await again.scatter(docket, { start, over: { minutes: 10 } });
    assert.equal(fixed.when.getTime(), start + 5 * MINUTE);
    await docket.clear();
  });

  Deno.test(`${kind}: seed, agenda reusability`, async () => {
    await using docket = await connectDocket(kind);
    const { cleanupTempFiles, compressOldLogs, updateMetrics } = itemTasks();

    // Create a reusable template
    const dailyCleanupAgenda = new Agenda();
    dailyCleanupAgenda.add(cleanupTempFiles)();
    dailyCleanupAgenda.add(compressOldLogs)();
    dailyCleanupAgenda.add(updateMetrics)();

    // Use it multiple times with different timing
    const today = await dailyCleanupAgenda.scatter(docket, { over: { hours: 1 } });

    // Later, scatter the same tasks over a different window
    const tomorrow = new Date(Date.now() + 24 * 60 * MINUTE);
    const later = await dailyCleanupAgenda.scatter(docket, {
      start: tomorrow,
      over: { minutes: 30 },
    });

    assert.equal(dailyCleanupAgenda.size, 3, "scattering leaves the agenda as it was");
    assert.deepEqual(
      times(later),
      [0, 15, 30].map((m) => tomorrow.getTime() + m * MINUTE),
    );
    const first = today[0].when.getTime();
    assert.deepEqual(times(today), [first, first + 30 * MINUTE, first + 60 * MINUTE]);
    for (const batch of [today, later]) {
      assert.deepEqual(
        batch.map((e) => e.taskName),
        ["cleanup_temp_files", "compress_old_logs", "update_metrics"],
      );
      assert.ok(batch.every((e) => e.disposition === "scheduled"));
    }
    // Without explicit keys, each scatter is new work.
    assert.equal(new Set([...today, ...later].map((e) => e.key)).size, 6);
    assert.equal((await stored(docket)).size, 6);
    await docket.clear();
  });

  Deno.test(`${kind}: seed, failure behavior: an unknown name schedules nothing`, async () => {
    await using docket = await connectDocket(kind);
    const { validTask } = itemTasks();

    const agenda = new Agenda();
    agenda.add(validTask)({ arg: "arg1" });
    agenda.add(validTask)({ arg: "arg2" });
    agenda.add("nonexistent_task")({ arg: "arg3" }); // This will cause an error
    agenda.add(validTask)({ arg: "arg4" });

    // The seed expects the first two to be scheduled; as upstream, every name is checked
    // before anything is written, so none is.
    await assert.rejects(
      agenda.scatter(docket, { over: { minutes: 10 } }),
      (error: Error) =>
        error instanceof UnknownTaskError && error.taskName === "nonexistent_task" &&
        /not registered/.test(error.message),
    );
    assert.equal((await docket.snapshot()).totalTasks, 0);
    assert.equal(docket.tasks.has("valid_task"), false, "nothing was even registered");
  });

  Deno.test(`${kind}: over must be positive; nothing is scheduled otherwise`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const agenda = new Agenda();
    agenda.add(processItem)({ itemId: 1 });
    for (const over of [0, -1_000, { minutes: 0 }, { seconds: -5 }]) {
      await assert.rejects(
        agenda.scatter(docket, { over }),
        (error: Error) =>
          error instanceof RangeError && /over must be a positive/.test(error.message),
      );
    }
    await assert.rejects(agenda.scatter(docket, { over: 1_000, jitter: -1 }), RangeError);
    await assert.rejects(
      agenda.scatter(docket, {} as unknown as { over: number }),
      TypeError,
    );
    assert.equal((await docket.snapshot()).totalTasks, 0);
  });

  Deno.test(`${kind}: explicit keys make a re-scatter idempotent`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem, sendEmail } = itemTasks();
    docket.register(sendEmail);
    const agenda = new Agenda();
    agenda.add("send_email", { key: "welcome-u1" })({ userId: "u1", template: "welcome" });
    agenda.add(processItem, { key: "item-7" })({ itemId: 7 });
    agenda.add(processItem)({ itemId: 8 });

    const start = Date.now() + MINUTE;
    const first = await agenda.scatter(docket, { start, over: { minutes: 10 } });
    assert.deepEqual(first.map((e) => e.disposition), ["scheduled", "scheduled", "scheduled"]);
    assert.deepEqual(first.slice(0, 2).map((e) => e.key), ["welcome-u1", "item-7"]);

    const second = await agenda.scatter(docket, { start: start + MINUTE, over: { minutes: 20 } });
    assert.deepEqual(
      second.map((e) => e.disposition),
      ["already_scheduled", "already_scheduled", "scheduled"],
    );
    const inStore = await stored(docket);
    assert.equal(inStore.size, 4);
    // The first scatter's times stand.
    assert.equal(inStore.get("welcome-u1")!.when.getTime(), start);
    assert.equal(inStore.get("item-7")!.when.getTime(), start + 5 * MINUTE);
    await docket.clear();
  });

  Deno.test(`${kind}: size, iteration and clear`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const agenda = new Agenda();
    assert.equal(agenda.size, 0);
    assert.deepEqual(await agenda.scatter(docket, { over: 1_000 }), []);
    agenda.add(processItem)({ itemId: 1 }).add("send_email", { key: "k" })({ userId: "u" });
    agenda.add(processItem)();
    assert.equal(agenda.size, 3);
    assert.deepEqual([...agenda], [
      { task: processItem, payload: { itemId: 1 } },
      { task: "send_email", payload: { userId: "u" }, key: "k" },
      { task: processItem, payload: {} },
    ]);
    assert.throws(() => agenda.add(processItem, { key: "" }), TypeError);
    assert.throws(
      () => agenda.add(processItem)([] as unknown as Record<string, unknown>),
      TypeError,
    );
    assert.throws(() => agenda.add(42 as unknown as string), TypeError);
    assert.equal(agenda.size, 3);
    agenda.clear();
    assert.equal(agenda.size, 0);
    assert.deepEqual([...agenda], []);
    assert.deepEqual(await agenda.scatter(docket, { over: 1_000 }), []);
    assert.equal((await docket.snapshot()).totalTasks, 0);
  });

  Deno.test(`${kind}: struck tasks in a scatter are struck; the rest are scheduled`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    await docket.strike(processItem, "itemId", "between", [2, 3]);
    const agenda = new Agenda();
    for (let itemId = 1; itemId <= 4; itemId++) agenda.add(processItem)({ itemId });
    const executions = await agenda.scatter(docket, { start: Date.now() + MINUTE, over: MINUTE });
    assert.deepEqual(
      executions.map((e) => e.disposition),
      ["scheduled", "struck", "struck", "scheduled"],
    );
    assert.equal((await stored(docket)).size, 2);
    await docket.clear();
  });

  Deno.test(`${kind}: a store failing part-way says how many were scheduled`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem } = itemTasks();
    const backend = docket.backend;
    const original = backend.schedule.bind(backend);
    let seen = 0;
    // deno-lint-ignore no-explicit-any
    (backend as any).schedule = (requests: ScheduleRequest[], now: number) => {
      const accepted = requests.filter(() => ++seen <= 2);
      if (accepted.length < requests.length) {
        return Promise.reject(new Error("connection lost"));
      }
      return original(accepted, now);
    };
    try {
      const agenda = new Agenda();
      for (let itemId = 1; itemId <= 4; itemId++) agenda.add(processItem)({ itemId });
      const error = await agenda.scatter(docket, { start: Date.now() + MINUTE, over: MINUTE })
        .then(() => undefined, (e) => e);
      assert.ok(error instanceof ScheduleError, String(error));
      assert.match(error.message, /2 of 4 tasks were scheduled/);
      assert.match(error.message, /connection lost/);
      assert.equal(error.scheduled, 2);
      assert.deepEqual(error.executions.map((e) => e.payload.itemId), [1, 2]);
      assert.deepEqual(error.unconfirmed.map((e) => e.payload.itemId), [3, 4]);
      assert.equal((error.cause as Error).message, "connection lost");
    } finally {
      // deno-lint-ignore no-explicit-any
      delete (backend as any).schedule;
    }
    // The earlier tasks stay scheduled.
    const inStore = [...(await stored(docket)).values()].map((e) => e.payload.itemId).sort();
    assert.deepEqual(inStore, [1, 2]);
    await docket.clear();
  });

  Deno.test(`${kind}: docket.schedule writes tasks of different names, keys and times`, async () => {
    await using docket = await connectDocket(kind);
    const { processItem, sendEmail } = itemTasks();
    docket.register(sendEmail);
    const later = Date.now() + MINUTE;
    const executions = await docket.schedule([
      { task: processItem, payload: { itemId: 1 } },
      { task: "send_email", payload: { userId: "u1" }, when: later, key: "welcome-u1" },
      { task: "send_email", payload: { userId: "u1" }, key: "welcome-u1" },
      { task: processItem },
    ]);
    assert.deepEqual(
      executions.map((e) => [e.taskName, e.disposition, e.state]),
      [
        ["process_item", "scheduled", "queued"],
        ["send_email", "scheduled", "scheduled"],
        ["send_email", "already_scheduled", "queued"],
        ["process_item", "scheduled", "queued"],
      ],
    );
    assert.equal(executions[1].when.getTime(), later);
    assert.deepEqual(executions[3].payload, {});
    assert.equal((await docket.snapshot()).totalTasks, 3);

    // Anything wrong with one entry writes nothing at all.
    for (
      const bad of [
        { task: "nope" },
        { task: processItem, key: "" },
        { task: processItem, when: Number.NaN },
        { task: processItem, payload: { callback: () => 1 } },
      ]
    ) {
      await assert.rejects(docket.schedule([{ task: processItem, payload: { ok: 1 } }, bad]));
    }
    assert.equal((await docket.snapshot()).totalTasks, 3);
    await docket.clear();
  });

  Deno.test(`${kind}: a worker runs scattered tasks in order, each at or after its time`, async () => {
    await using docket = await connectDocket(kind);
    const { ran, processItem, sendEmail } = itemTasks();
    docket.register(sendEmail);
    const agenda = new Agenda();
    agenda.add(processItem)({ itemId: 1 });
    agenda.add("send_email")({ userId: "u1" });
    agenda.add(processItem)({ itemId: 2 });
    agenda.add(processItem)({ itemId: 3 });
    agenda.add(processItem)({ itemId: 4 });
    const start = Date.now() + 100;
    const executions = await agenda.scatter(docket, { start, over: 600 });
    assert.deepEqual(times(executions), expectedTimes(5, start, 600));

    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    assert.deepEqual(ran.map((r) => r.payload), [
      { itemId: 1 },
      { userId: "u1" },
      { itemId: 2 },
      { itemId: 3 },
      { itemId: 4 },
    ]);
    ran.forEach((run, i) => assert.ok(run.at >= times(executions)[i], `task ${i} ran early`));
    for (const execution of executions) {
      assert.equal((await docket.getExecution(execution.key))?.state, "completed");
    }
  });
}
