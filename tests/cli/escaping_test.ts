/**
 * Keys, task, worker and docket names and errors are whatever a producer wrote: every command
 * prints their control characters escaped, so none acts on the terminal (an `ESC[2J` in a key
 * must not clear the screen of whoever runs `snapshot`).
 */

import assert from "node:assert/strict";
import { Docket, task, Worker } from "../../mod.ts";
import { printable } from "../../src/logging/printable.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { FAST, LogCapture, redisUrl, uniqueName, waitUntil } from "../_harness.ts";
import { type CliResult, runCli, RUNTIMES } from "./_cli.ts";

const CLEAR = "\x1b[2J\x1b[H";

/** Nothing a terminal would act on: no C0 control but newlines, no DEL, no C1. */
function assertInert(result: CliResult, what: string): void {
  for (const [stream, text] of [["stdout", result.stdout], ["stderr", result.stderr]]) {
    // deno-lint-ignore no-control-regex
    const raw = text.replace(/\n/g, "").match(/[\x00-\x1f\x7f\x80-\x9f]/);
    assert.equal(raw, null, `${what}: raw control character in ${stream}: ${JSON.stringify(text)}`);
  }
}

Deno.test("printable escapes control characters and leaves other text alone", () => {
  assert.equal(printable("plain ünïcode ✓"), "plain ünïcode ✓");
  assert.equal(printable(`k${CLEAR}`), "k\\x1b[2J\\x1b[H");
  assert.equal(printable("a\tb\nc\rd\x7f\x9b"), "a\\tb\\nc\\rd\\x7f\\u009b");
  assert.equal(printable("right\u202eleft"), "right\\u202eleft");
});

Deno.test("the pretty log format escapes control characters in messages", () => {
  const lines: string[] = [];
  const logger = createLogger({
    format: "pretty",
    destination: { write: (line: string) => lines.push(line) },
  });
  logger.info(`task k${CLEAR} ran`);
  assert.equal(lines.length, 1);
  assert.ok(lines[0].includes("task k\\x1b[2J\\x1b[H ran"), lines[0]);
  assert.ok(!lines[0].includes("\x1b"));
});

Deno.test("every command prints keys, names and errors escaped", async () => {
  const name = `${uniqueName("cli-esc")}${CLEAR}`;
  const url = await redisUrl();
  await using docket = await Docket.connect({ name, url, logger: new LogCapture().logger });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const hold = task({ name: `hold${CLEAR}`, run: () => held });
  const boom = task({
    name: "boom",
    run() {
      throw new Error(`bad${CLEAR}thing`);
    },
  });
  docket.register(hold);
  docket.register(boom);
  const worker = new Worker(docket, { ...FAST, name: `w\x1b]0;title\x07` });
  const running = worker.runForever();
  try {
    const failed = await docket.add(boom, { key: `fail${CLEAR}` })({});
    await waitUntil(async () => (await failed.sync(), failed.state === "failed"), 20_000);
    await docket.add(hold, { key: `k${CLEAR}\r` })({});
    await waitUntil(async () => (await docket.snapshot()).running.length === 1, 20_000);

    for (const runtime of RUNTIMES) {
      const common = ["--url", url, "--docket", name];
      const results: [string, CliResult][] = await Promise.all([
        ["snapshot", runCli(runtime, ["snapshot", "--stats", ...common])],
        ["workers ls", runCli(runtime, ["workers", "ls", ...common])],
        ["workers for-task", runCli(runtime, ["workers", "for-task", `hold${CLEAR}`, ...common])],
        ["watch", runCli(runtime, ["watch", `fail${CLEAR}`, ...common])],
        ["watch missing", runCli(runtime, ["watch", `gone${CLEAR}`, ...common])],
        ["strike", runCli(runtime, ["strike", `other${CLEAR}`, ...common])],
        ["clear", runCli(runtime, ["clear", ...common])],
      ].map(async ([what, result]) => [what as string, await result] as [string, CliResult]));
      for (const [what, result] of results) assertInert(result, `${runtime} ${what}`);
      const [snapshot, workers, forTask, watch, missing, strike] = results.map(([, r]) => r);
      assert.equal(snapshot.code, 0, snapshot.stderr);
      assert.ok(snapshot.stdout.includes("k\\x1b[2J\\x1b[H\\r"), snapshot.stdout);
      assert.ok(snapshot.stdout.includes("hold\\x1b[2J\\x1b[H"), snapshot.stdout);
      assert.ok(snapshot.stdout.includes("w\\x1b]0;title\\x07"), snapshot.stdout);
      assert.ok(snapshot.stdout.includes("cli-esc"), snapshot.stdout);
      assert.equal(workers.code, 0, workers.stderr);
      assert.ok(workers.stdout.includes("w\\x1b]0;title\\x07"), workers.stdout);
      assert.equal(forTask.code, 0, forTask.stderr);
      assert.ok(forTask.stdout.includes("serving 'hold\\x1b[2J\\x1b[H'"), forTask.stdout);
      assert.equal(watch.code, 1, watch.stderr);
      assert.ok(watch.stdout.includes("bad\\x1b[2J\\x1b[Hthing"), watch.stdout);
      assert.equal(missing.code, 1);
      assert.ok(missing.stderr.includes("gone\\x1b[2J\\x1b[H"), missing.stderr);
      assert.equal(strike.code, 0, strike.stderr);
      assert.ok(strike.stdout.includes("other\\x1b[2J\\x1b[H"), strike.stdout);
    }
  } finally {
    release();
    await worker.stop();
    await running;
  }
});
