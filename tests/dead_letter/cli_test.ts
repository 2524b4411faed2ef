/**
 * The dead-letter commands of cli.ts (`failed ls|show|retry|purge`, `retry KEY`, `cancel KEY`,
 * `snapshot --stats`), run as subprocesses under Deno and Bun against the test Redis.
 */

import assert from "node:assert/strict";
import { Docket, ExecutionState } from "../../mod.ts";
import { LogCapture, redisUrl, uniqueName } from "../_harness.ts";
import { type CliResult, runCli, RUNTIMES } from "../cli/_cli.ts";
import { boom, drain, fizzle, flakiness, flaky } from "./_support.ts";

function assertOneErrorLine(result: CliResult, code: number, includes: string): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.ok(lines[0].includes(includes), `"${lines[0]}" should include "${includes}"`);
}

/** A docket on the test Redis with failed tasks f-1 (boom), f-2 (fizzle) and f-3 (flaky). */
async function docketWithFailures(): Promise<{ docket: Docket; common: string[] }> {
  const name = uniqueName("cli-failed");
  const url = await redisUrl();
  const docket = await Docket.connect({ name, url, logger: new LogCapture().logger });
  for (const job of [boom, fizzle, flaky]) docket.register(job);
  flakiness.failing = true;
  await docket.add(boom, { key: "f-1" })({ n: 1 });
  await docket.add(fizzle, { key: "f-2" })({ n: 2 });
  await docket.add(flaky, { key: "f-3" })({ n: 3 });
  await drain(docket, "cli-worker");
  return { docket, common: ["--url", url, "--docket", name] };
}

for (const runtime of RUNTIMES) {
  const name = (text: string) => `cli [${runtime}]: ${text}`;

  Deno.test(
    name("failed, retry and cancel have --help and appear in the command list"),
    async () => {
      const [top, failed, retry, cancel] = await Promise.all([
        runCli(runtime, ["--help"]),
        runCli(runtime, ["failed", "--help"]),
        runCli(runtime, ["retry", "--help"]),
        runCli(runtime, ["cancel", "-h"]),
      ]);
      for (const command of ["failed ls|show|retry|purge", "retry <KEY>", "cancel <KEY>"]) {
        assert.ok(top.stdout.includes(`  ${command}`), command);
      }
      assert.match(failed.stdout, /^Usage: failed ls \[--task <TASK>\] \[--limit <N>\]/);
      assert.match(failed.stdout, /failed purge \[--task <TASK>\] \[--older-than <DURATION>\]/);
      assert.match(retry.stdout, /^Usage: retry <KEY>/);
      assert.match(cancel.stdout, /^Usage: cancel <KEY>/);
      for (const result of [failed, retry, cancel]) assert.equal(result.code, 0, result.stderr);
    },
  );

  Deno.test(name("failed ls and show, and snapshot --stats counts them"), async () => {
    const { docket, common } = await docketWithFailures();
    await using _ = docket;
    const [all, boomOnly, one, show, stats] = await Promise.all([
      runCli(runtime, ["failed", "ls", ...common]),
      runCli(runtime, ["failed", "ls", "--task", "boom", ...common]),
      runCli(runtime, ["failed", "ls", "--limit", "1", ...common]),
      runCli(runtime, ["failed", "show", "f-1", ...common]),
      runCli(runtime, ["snapshot", "--stats", ...common]),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^3 failed tasks\n\nFailed +Task +Key +Attempts +Worker +Error\n/);
    for (const key of ["f-1", "f-2", "f-3"]) assert.ok(all.stdout.includes(key), key);
    assert.match(all.stdout, /boom +f-1 +1 +cli-worker +RangeError: boom 1/);
    assert.match(boomOnly.stdout, /^1 failed task of 'boom'\n/);
    assert.ok(!boomOnly.stdout.includes("f-2"));
    assert.match(one.stdout, /^1 failed task \(the newest 1; raise --limit for more\)/);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^Key: +f-1\nTask: +boom\nPayload: +\{"n":1\}\nAttempts: +1\n/m);
    assert.match(show.stdout, /Error: +RangeError: boom 1\n\nRangeError: boom 1\n +at /);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /3 failed tasks kept \(see "failed ls"\)/);
  });

  Deno.test(name("retry, failed retry --all, failed purge and cancel"), async () => {
    const { docket, common } = await docketWithFailures();
    await using _ = docket;
    const one = await runCli(runtime, ["retry", "f-3", ...common]);
    assert.deepEqual(one, { code: 0, stdout: "Retried f-3 (flaky): queued\n", stderr: "" });
    const byTask = await runCli(runtime, [
      "failed",
      "retry",
      "--all",
      "--task",
      "fizzle",
      ...common,
    ]);
    assert.equal(byTask.stdout, `Retried 1 failed task of 'fizzle' on docket '${docket.name}'\n`);
    const keys = (await docket.failed()).items.map((item) => item.key);
    assert.deepEqual(keys, ["f-1"]);
    const young = await runCli(runtime, ["failed", "purge", "--older-than", "1h", ...common]);
    assert.equal(young.stdout, `Purged 0 failed tasks from docket '${docket.name}'\n`);
    const purged = await runCli(runtime, ["failed", "purge", "--task", "boom", ...common]);
    assert.equal(purged.stdout, `Purged 1 failed task of 'boom' from docket '${docket.name}'\n`);
    assert.deepEqual(await docket.failed(), { items: [] });

    await docket.add(boom, { key: "later", when: Date.now() + 60_000 })({ n: 9 });
    const cancel = await runCli(runtime, ["cancel", "later", ...common]);
    assert.deepEqual(cancel, {
      code: 0,
      stdout: `Cancelled later on docket '${docket.name}'\n`,
      stderr: "",
    });
    assert.equal((await docket.getExecution("later"))!.state, ExecutionState.CANCELLED);
  });

  Deno.test(name("dead-letter mistakes are one line and a non-zero exit"), async () => {
    const url = await redisUrl();
    const common = ["--url", url, "--docket", uniqueName("cli-failed")];
    const cases: [string[], number, string][] = [
      [["failed", ...common], 2, "failed needs a subcommand"],
      [["failed", "peek", ...common], 2, 'unknown failed subcommand "peek"'],
      [["failed", "retry", ...common], 2, "needs a KEY or --all"],
      [["failed", "retry", "k", "--all", ...common], 2, "needs a KEY or --all"],
      [["failed", "ls", "--limit", "0", ...common], 2, "--limit"],
      [["failed", "show", ...common], 2, "failed show needs a KEY"],
      [["failed", "purge", "--older-than", "soon", ...common], 2, "not a duration"],
      [["cancel", ...common], 2, "cancel needs a KEY"],
      [["retry", "a", "b", ...common], 2, 'unexpected argument "b"'],
      [["failed", "ls", "--url", "memory://x"], 2, "a memory store lives inside one process"],
      [["failed", "show", "nope", ...common], 1, '"nope" is not in the failed set'],
      [["retry", "nope", ...common], 1, '"nope" is not in the failed set'],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(runtime, args)));
    for (const [i, result] of results.entries()) {
      const [args, code, includes] = cases[i];
      assert.equal(result.stdout, "", args.join(" "));
      assertOneErrorLine(result, code, includes);
    }
  });
}
