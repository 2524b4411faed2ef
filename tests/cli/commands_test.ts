/**
 * Every command of cli.ts, run as a subprocess under Deno and Bun against the test Redis, with
 * its output and exit code checked.
 */

import assert from "node:assert/strict";
import { Docket, task, Worker } from "../../mod.ts";
import { formatRelative } from "../../src/cli/common.ts";
import { VERSION } from "../../src/version.ts";
import { FAST, LogCapture, redisUrl, uniqueName, waitUntil } from "../_harness.ts";
import { type CliResult, runCli, RUNTIMES } from "./_cli.ts";

const COMMANDS = [
  ["worker"],
  ["strike"],
  ["restore"],
  ["clear"],
  ["snapshot"],
  ["watch"],
  ["workers"],
  ["tasks"],
  ["version"],
  ["cancel"],
  ["retry"],
  ["failed"],
];

/** One line on stderr, saying what went wrong. */
function assertOneErrorLine(result: CliResult, code: number, includes: string): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.ok(lines[0].includes(includes), `"${lines[0]}" should include "${includes}"`);
}

async function connect(name: string): Promise<Docket> {
  return await Docket.connect({ name, url: await redisUrl(), logger: new LogCapture().logger });
}

for (const runtime of RUNTIMES) {
  const name = (text: string) => `cli [${runtime}]: ${text}`;

  Deno.test(name("--help on the top level and on every command"), async () => {
    const top = await runCli(runtime, ["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Usage: cli\.ts <command>/);
    for (const [command] of COMMANDS) assert.ok(top.stdout.includes(`  ${command}`), command);
    const bare = await runCli(runtime, []);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /^Usage: cli\.ts <command>/);
    const results = await Promise.all([
      ...COMMANDS.map((command) => runCli(runtime, [...command, "--help"])),
      runCli(runtime, ["help", "watch"]),
      runCli(runtime, ["workers", "ls", "-h"]),
    ]);
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 0, `${COMMANDS[i] ?? "help"}: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: /);
      assert.equal(result.stderr, "");
    }
    assert.match(results[5].stdout, /^Usage: watch <KEY>/);
    assert.match(results[5].stdout, /3 it was cancelled/);
    assert.equal(results.at(-2)!.stdout, results[5].stdout);
  });

  Deno.test(name("version prints the package version"), async () => {
    for (const args of [["version"], ["--version"]]) {
      const result = await runCli(runtime, args);
      assert.deepEqual(result, { code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });

  Deno.test(name("mistakes and failures are one line and a non-zero exit"), async () => {
    const url = await redisUrl();
    const cases: [string[], number, string][] = [
      [["launch"], 2, 'unknown command "launch"'],
      [["snapshot", "--bogus", "--url", url], 2, "--bogus"],
      [["strike", "--url", url], 2, "needs a TASK, a PARAMETER or both"],
      [["strike", "*", "*", "--url", url], 2, "needs a TASK, a PARAMETER or both"],
      [["strike", "t", "amount", "~", "5", "--url", url], 2, "unknown strike operator"],
      [["strike", "t", "amount", ">", "--url", url], 2, "needs a value"],
      [["strike", "t", "amount", "between", "5", "--url", url], 2, "[lo, hi]"],
      [["watch", "--url", url], 2, "watch needs the KEY"],
      [["watch", "a", "b", "--url", url], 2, "one KEY"],
      [["workers", "--url", url], 2, "ls or for-task"],
      [["workers", "for-task", "--url", url], 2, "needs a TASK"],
      [["tasks", "nap", "--url", url], 2, 'unknown built-in task "nap"'],
      [["tasks", "sleep", "soon", "--url", url], 2, "SECONDS must be a number"],
      [["tasks", "trace", "--delay", "1 day", "--url", url], 2, "not a duration"],
      [["snapshot", "--url", "http://localhost"], 2, "unsupported URL scheme"],
      [["snapshot", "--url", "redis://127.0.0.1:1/0"], 1, "cannot reach Redis"],
      [["watch", "missing-key", "--url", url, "--docket", uniqueName()], 1, "no task with key"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(runtime, args)));
    for (const [i, result] of results.entries()) {
      const [args, code, includes] = cases[i];
      assert.equal(result.stdout, "", args.join(" "));
      assertOneErrorLine(result, code, includes);
    }
  });

  Deno.test(name("memory:// is refused by every command but worker"), async () => {
    const refused = [
      ["strike", "trace"],
      ["restore", "trace"],
      ["clear"],
      ["snapshot"],
      ["watch", "some-key"],
      ["workers", "ls"],
      ["workers", "for-task", "trace"],
      ["tasks", "trace"],
      ["tasks", "sleep", "1"],
    ];
    const results = await Promise.all([
      ...refused.map((args) => runCli(runtime, [...args, "--url", "memory://cli"])),
      runCli(runtime, ["snapshot"], { DOCKET_URL: "memory://from-env" }),
    ]);
    for (const result of results) {
      assertOneErrorLine(result, 2, "a memory store lives inside one process");
    }
    assert.ok(results.at(-1)!.stderr.includes("memory://from-env"));
    const worker = await runCli(runtime, [
      "worker",
      "--url",
      "memory://cli-worker",
      "--until-finished",
      "--log-level",
      "warn",
    ]);
    assert.equal(worker.code, 0, worker.stderr);
  });

  Deno.test(name("tasks, snapshot and clear"), async () => {
    const url = await redisUrl();
    const docketName = uniqueName("cli");
    const common = ["--url", url, "--docket", docketName];
    const trace = await runCli(runtime, ["tasks", "trace", "hello", "--key", "tr-1", ...common]);
    assert.deepEqual(trace, {
      code: 0,
      stdout: `Added trace task 'tr-1' to the docket '${docketName}'\n`,
      stderr: "",
    });
    const before = Date.now();
    const sleep = await runCli(runtime, ["tasks", "sleep", "2.5", "--delay", "1m", ...common]);
    const after = Date.now();
    assert.equal(sleep.code, 0, sleep.stderr);
    assert.match(
      sleep.stdout,
      /^Added sleep task '([0-9a-f-]{36})' to the docket '.*' \(due .*Z\)\n$/,
    );
    const sleepKey = /'([0-9a-f-]{36})'/.exec(sleep.stdout)![1];
    // The environment supplies --url and --docket too.
    const fail = await runCli(runtime, ["tasks", "fail", "--key", "f-1"], {
      DOCKET_URL: url,
      DOCKET_NAME: docketName,
    });
    assert.equal(fail.code, 0, fail.stderr);
    const again = await runCli(runtime, ["tasks", "trace", "--key", "tr-1", ...common]);
    assert.deepEqual(again, {
      code: 0,
      stdout: `Task 'tr-1' is already scheduled on the docket '${docketName}'; nothing was added\n`,
      stderr: "",
    });

    await using docket = await connect(docketName);
    const traced = (await docket.getExecution("tr-1"))!;
    assert.deepEqual([traced.taskName, traced.payload, traced.state], [
      "trace",
      { message: "hello" },
      "queued",
    ]);
    const slept = (await docket.getExecution(sleepKey))!;
    assert.deepEqual([slept.taskName, slept.payload, slept.state], [
      "sleep",
      { seconds: 2.5 },
      "scheduled",
    ]);
    // A minute from whenever the command ran.
    assert.ok(slept.when.getTime() >= before + 60_000 && slept.when.getTime() <= after + 60_000);
    assert.deepEqual((await docket.getExecution("f-1"))!.payload, { message: "Howdy!" });

    const snapshot = await runCli(runtime, ["snapshot", ...common]);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    const lines = snapshot.stdout.trimEnd().split("\n");
    assert.match(lines[0], new RegExp(`^Docket '${docketName}' as of \\d{4}-.*Z$`));
    assert.equal(lines[1], "0 workers, 0/3 running");
    assert.match(lines[3], /^State\s+When\s+Task\s+Key\s+Worker\s+Started$/);
    const rows = lines.slice(4).map((line) => line.split(/\s{2,}/));
    assert.deepEqual(rows.map((row) => [row[0], row[2], row[3]]), [
      ["queued", "trace", "tr-1"],
      ["queued", "fail", "f-1"],
      ["scheduled", "sleep", sleepKey],
    ]);
    // The snapshot says how far off the task is from the instant it names in its first line,
    // however long the CLI process took to start.
    const takenAt = Date.parse(/ as of (\S+)$/.exec(lines[0])![1]);
    assert.equal(rows[2][1], formatRelative(slept.when, takenAt));

    const stats = await runCli(runtime, ["snapshot", "--stats", ...common]);
    assert.equal(stats.code, 0, stats.stderr);
    const statLines = stats.stdout.trimEnd().split("\n");
    const statRows = statLines.slice(statLines.findIndex((line) => line.startsWith("Task ")))
      .map((line) => line.split(/\s{2,}/));
    assert.deepEqual(statRows[0], ["Task", "Total", "Running", "Waiting", "Next due", "Last due"]);
    assert.deepEqual(statRows.slice(1).map((row) => row.slice(0, 4)), [
      ["fail", "1", "0", "1"],
      ["sleep", "1", "0", "1"],
      ["trace", "1", "0", "1"],
    ]);

    const clear = await runCli(runtime, ["clear", ...common]);
    assert.deepEqual(clear, {
      code: 0,
      stdout: `Cleared 3 tasks from docket '${docketName}'\n`,
      stderr: "",
    });
    const empty = await runCli(runtime, ["snapshot", ...common]);
    assert.ok(empty.stdout.includes("Nothing is scheduled, queued or running."), empty.stdout);
    assert.ok(empty.stdout.includes("0 workers, 0/0 running"));
  });

  Deno.test(name("snapshot and workers show who runs what"), async () => {
    const url = await redisUrl();
    const docketName = uniqueName("cli");
    const common = ["--url", url, "--docket", docketName];
    await using docket = await connect(docketName);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const hold = task({
      name: "hold",
      async run() {
        started();
        await released;
      },
    });
    docket.register(hold);
    await docket.add(hold, { key: "hold-1" })({});
    await using worker = new Worker(docket, { ...FAST, name: "cli-test-worker" });
    const finished = worker.runUntilFinished();
    await running;
    await waitUntil(async () => (await docket.workers()).length > 0, 10_000, "a heartbeat");

    const snapshot = await runCli(runtime, ["snapshot", ...common]);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    assert.ok(snapshot.stdout.includes("1 worker, 1/1 running"), snapshot.stdout);
    const row = snapshot.stdout.trimEnd().split("\n").at(-1)!.split(/\s{2,}/);
    assert.deepEqual([row[0], row[2], row[3], row[4]], [
      "running",
      "hold",
      "hold-1",
      "cli-test-worker",
    ]);
    assert.match(row[5], /ago$|^now$/);

    const ls = await runCli(runtime, ["workers", "ls", ...common]);
    assert.equal(ls.code, 0, ls.stderr);
    const [heading, , header, workerRow] = ls.stdout.trimEnd().split("\n");
    assert.equal(heading, `1 live worker on docket '${docketName}'`);
    assert.match(header, /^Name\s+Last seen\s+Tasks$/);
    const cells = workerRow.split(/\s{2,}/);
    assert.equal(cells[0], "cli-test-worker");
    assert.match(cells[1], /ago$|^now$/);
    assert.deepEqual(cells[2].split(", ").sort(), ["fail", "hold", "sleep", "trace"]);

    const forTask = await runCli(runtime, ["workers", "for-task", "hold", ...common]);
    assert.equal(forTask.code, 0, forTask.stderr);
    assert.ok(
      forTask.stdout.startsWith(`1 live worker serving 'hold' on docket '${docketName}'`),
      forTask.stdout,
    );
    assert.ok(forTask.stdout.includes("cli-test-worker"));
    const nobody = await runCli(runtime, ["workers", "for-task", "nothing", ...common]);
    assert.deepEqual(nobody, {
      code: 0,
      stdout: `No live workers serving 'nothing' on docket '${docketName}'\n`,
      stderr: "",
    });
    release();
    await finished;
    await worker.stop();
    const none = await runCli(runtime, ["workers", "ls", ...common]);
    assert.equal(none.stdout, `No live workers on docket '${docketName}'\n`);
  });

  Deno.test(name("strike and restore, with typed values and wildcards"), async () => {
    const url = await redisUrl();
    const docketName = uniqueName("cli");
    const common = ["--url", url, "--docket", docketName];
    const run = (args: string[]) => runCli(runtime, [...args, ...common]);
    const struck = await Promise.all([
      run(["strike", "process_order", "customerId", "==", '"1001"']),
      run(["strike", "*", "amount", "between", "[1000, 5000]"]),
      run(["strike", "sleep"]),
      run(["strike", "", "region", "!=", "eu"]),
    ]);
    assert.deepEqual(struck.map((r) => [r.code, r.stdout, r.stderr]), [
      [0, `Struck process_order(customerId == '1001') on docket '${docketName}'\n`, ""],
      [0, `Struck *(amount between [1000, 5000]) on docket '${docketName}'\n`, ""],
      [0, `Struck sleep on docket '${docketName}'\n`, ""],
      [0, `Struck *(region != 'eu') on docket '${docketName}'\n`, ""],
    ]);
    {
      await using docket = await connect(docketName);
      const isStruck = (task: string, payload: Record<string, unknown>) =>
        docket.isStruck(task, "k", payload);
      assert.equal(isStruck("process_order", { customerId: "1001", region: "eu" }), true);
      assert.equal(isStruck("process_order", { customerId: 1001, region: "eu" }), false);
      assert.equal(isStruck("anything", { amount: 2000, region: "eu" }), true);
      assert.equal(isStruck("anything", { amount: 999, region: "eu" }), false);
      assert.equal(isStruck("anything", { region: "us" }), true);
      assert.equal(isStruck("sleep", { seconds: 1, region: "eu" }), true);
    }
    const restored = await Promise.all([
      run(["restore", "process_order", "customerId", "==", '"1001"']),
      run(["restore", "*", "amount", "between", "[1000, 5000]"]),
      run(["restore", "sleep"]),
      run(["restore", "*", "region", "!=", "eu"]),
    ]);
    assert.deepEqual(restored.map((r) => r.code), [0, 0, 0, 0]);
    assert.equal(restored[2].stdout, `Restored sleep on docket '${docketName}'\n`);
    {
      await using docket = await connect(docketName);
      assert.equal(docket.isStruck("process_order", "k", { customerId: "1001" }), false);
      assert.equal(docket.isStruck("sleep", "k", {}), false);
      assert.equal(docket.isStruck("x", "k", { amount: 2000, region: "us" }), false);
    }
    // A struck built-in: nothing is added, exit 1.
    await run(["strike", "trace"]);
    const refused = await run(["tasks", "trace", "--key", "t-struck"]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.ok(refused.stderr.includes("is struck"), refused.stderr);
  });

  Deno.test(name("worker runs what the other commands added"), async () => {
    const url = await redisUrl();
    const docketName = uniqueName("cli");
    const common = ["--url", url, "--docket", docketName];
    const added = await runCli(runtime, [
      "tasks",
      "trace",
      "from the cli",
      "--key",
      "w-1",
      ...common,
    ]);
    assert.equal(added.code, 0, added.stderr);
    const worker = await runCli(runtime, [
      "worker",
      "--until-finished",
      "--log-format",
      "json",
      "--minimum-check-interval",
      "10ms",
      ...common,
    ]);
    assert.equal(worker.code, 0, worker.stderr);
    assert.ok(worker.stdout.includes("from the cli: w-1 added to docket"), worker.stdout);
    await using docket = await connect(docketName);
    assert.equal((await docket.getExecution("w-1"))!.state, "completed");
  });
}
