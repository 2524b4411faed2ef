/**
 * `cli.ts watch <key>` end to end: run as a subprocess under Deno and Bun (stdout a pipe: one
 * line per change) and in a real terminal (tmux: redrawn in place), against a task in an
 * in-process worker that advances only when the test says so.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Docket, type Execution, task, Worker } from "../../mod.ts";
import { FAST, LogCapture, redisUrl, uniqueName, waitUntil } from "../_harness.ts";
import { watchExecution } from "../../src/cli/watch_command.ts";
import { cliCommand, CliProcess, ROOT, type Runtime, RUNTIMES, shellQuote } from "./_cli.ts";

/** Steps of a task that the test opens one at a time, and learns when the task reaches. */
class Steps {
  #reached = new Map<number, PromiseWithResolvers<void>>();
  #gates = new Map<number, PromiseWithResolvers<void>>();
  #get(map: Map<number, PromiseWithResolvers<void>>, step: number) {
    if (!map.has(step)) map.set(step, Promise.withResolvers<void>());
    return map.get(step)!;
  }
  /** Called by the task: reports the step reached, then waits for the test to open it. */
  async at(step: number): Promise<void> {
    this.#get(this.#reached, step).resolve();
    await this.#get(this.#gates, step).promise;
  }
  reached(step: number): Promise<void> {
    return this.#get(this.#reached, step).promise;
  }
  open(step: number): void {
    this.#get(this.#gates, step).resolve();
  }
  openAll(): void {
    for (const step of [1, 2, 3]) this.open(step);
  }
}

/** A docket with a `stepper` task: 1/4 "step 1", 2/4 "step 2", then 4/4 and its outcome. */
async function stepperDocket(steps: Steps): Promise<Docket> {
  const docket = await Docket.connect({
    name: uniqueName("watch"),
    url: await redisUrl(),
    logger: new LogCapture().logger,
  });
  const stepper = task({
    name: "stepper",
    async run({ outcome }: { outcome: "complete" | "fail" }, ctx) {
      await ctx.progress.setTotal(4);
      await ctx.progress.increment();
      await ctx.progress.setMessage("step 1");
      await steps.at(1);
      await ctx.progress.increment();
      await ctx.progress.setMessage("step 2");
      await steps.at(2);
      await ctx.progress.increment(2);
      if (outcome === "fail") throw new Error("boom");
      return "ok";
    },
  });
  docket.register(stepper);
  return docket;
}

function watchArgs(docket: Docket, key: string): string[] {
  return ["watch", key, "--url", docket.url, "--docket", docket.name];
}

const progressLine = (text: string) => (line: string) =>
  line.startsWith("progress: ") && line.includes(text);

Deno.test("watch notices the end of a task even when its pub/sub message is lost", async () => {
  // The subscription yields the current state, then stays silent: the end message was lost.
  const silent = {
    key: "lost",
    taskName: "sleep",
    state: "running",
    when: new Date(),
    async *subscribe() {
      yield { type: "state", key: "lost", state: "running", worker: "w1" };
      await new Promise(() => {});
    },
  };
  const ended = { ...silent, state: "failed", error: "Error: boom", completedAt: new Date() };
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    const state = await watchExecution(
      { name: "d", getExecution: () => Promise.resolve(ended as unknown as Execution) },
      silent as unknown as Execution,
      { terminal: false, fallbackCheckMs: 20 },
    );
    assert.equal(state, "failed");
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, [
    "watching sleep task 'lost' on docket 'd'",
    "state: RUNNING on worker w1",
    "state: FAILED: Error: boom",
  ]);
});

for (const runtime of RUNTIMES) {
  const name = (text: string) => `watch [${runtime}]: ${text}`;

  Deno.test(name("follows a task from queued to completed, one line per change"), async () => {
    const steps = new Steps();
    await using docket = await stepperDocket(steps);
    await docket.add("stepper", { key: "watch-ok" })({ outcome: "complete" });
    await using watch = new CliProcess(runtime, watchArgs(docket, "watch-ok"));
    await watch.waitForLine((line) => line.startsWith("state: QUEUED (due "));

    await using worker = new Worker(docket, { ...FAST, name: "watch-worker" });
    const running = worker.runUntilFinished();
    try {
      await watch.waitForLine(progressLine("] 1/4 (25.0%) step 1"));
      steps.open(1);
      await watch.waitForLine(progressLine("] 2/4 (50.0%) step 2"));
      steps.open(2);
      const result = await watch.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const lines = watch.lines;
      assert.equal(lines[0], `watching stepper task 'watch-ok' on docket '${docket.name}'`);
      assert.match(lines[1], /^state: QUEUED \(due \d{4}-.*Z\)$/);
      assert.match(lines[2], /^state: RUNNING on worker watch-worker \(started \d{4}-.*Z\)$/);
      assert.match(lines.at(-1)!, /^state: COMPLETED after \d/);
      const progress = lines.filter((line) => line.startsWith("progress: "));
      assert.deepEqual(progress, [
        "progress: [....................] 0/4 (0.0%)",
        "progress: [#####...............] 1/4 (25.0%)",
        "progress: [#####...............] 1/4 (25.0%) step 1",
        "progress: [##########..........] 2/4 (50.0%) step 1",
        "progress: [##########..........] 2/4 (50.0%) step 2",
        "progress: [####################] 4/4 (100.0%) step 2",
      ]);
    } finally {
      steps.openAll();
      await running;
    }
  });

  Deno.test(name("a failed task exits 1, a cancelled one 3"), async () => {
    const steps = new Steps();
    await using docket = await stepperDocket(steps);
    await docket.add("stepper", { key: "watch-fail" })({ outcome: "fail" });
    await docket.add("stepper", { key: "watch-cancel" })({ outcome: "complete" });
    await using worker = new Worker(docket, { ...FAST, concurrency: 2 });
    const running = worker.runUntilFinished();
    try {
      await steps.reached(1);
      await using failing = new CliProcess(runtime, watchArgs(docket, "watch-fail"));
      await using cancelled = new CliProcess(runtime, watchArgs(docket, "watch-cancel"));
      await failing.waitForLine(progressLine("1/4 (25.0%) step 1"));
      await cancelled.waitForLine(progressLine("1/4 (25.0%) step 1"));
      await docket.cancel("watch-cancel");
      const cancelledResult = await cancelled.finished();
      assert.equal(cancelledResult.code, 3, cancelledResult.stderr);
      assert.match(cancelledResult.stdout.split("\n").at(-1)!, /^state: CANCELLED/);
      steps.open(1);
      steps.open(2);
      const failedResult = await failing.finished();
      assert.equal(failedResult.code, 1, failedResult.stderr);
      assert.match(
        failedResult.stdout.split("\n").at(-1)!,
        /^state: FAILED after .*: Error: boom$/,
      );
    } finally {
      steps.openAll();
      await running;
    }
  });

  Deno.test(name("a task that already ended is reported at once"), async () => {
    const steps = new Steps();
    steps.openAll();
    await using docket = await stepperDocket(steps);
    await docket.add("stepper", { key: "watch-done" })({ outcome: "complete" });
    await using worker = new Worker(docket, FAST);
    await worker.runUntilFinished();
    await using watch = new CliProcess(runtime, watchArgs(docket, "watch-done"));
    const result = await watch.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(watch.lines.length, 2, result.stdout);
    assert.match(watch.lines[1], /^state: COMPLETED after \d/);
  });

  Deno.test({
    name: name("in a terminal the display is redrawn in place, with a live progress bar"),
    // CI installs tmux and never skips this; elsewhere it runs when tmux is there.
    ignore: !Deno.env.get("CI") && !hasTmux(),
  }, async () => {
    const steps = new Steps();
    await using docket = await stepperDocket(steps);
    await docket.add("stepper", { key: "watch-tty" })({ outcome: "complete" });
    await using worker = new Worker(docket, { ...FAST, name: "tty-worker" });
    const running = worker.runUntilFinished();
    await using terminal = await Terminal.start(runtime, watchArgs(docket, "watch-tty"));
    try {
      await steps.reached(1);
      const first = await terminal.waitForScreen((screen) => screen.includes("1/4 (25.0%)"));
      assert.match(first, /^State\s+RUNNING on worker tty-worker$/m);
      assert.match(first, /^Progress\s+\[█{8}░{22}\] 1\/4 \(25\.0%\)$/m);
      assert.match(first, /^Message\s+step 1$/m);
      assert.match(
        first,
        /^Timing\s+running for [\d.]+m?s, started [\d:.]+Z, due [\d:.]+Z \(.*\)$/m,
      );

      steps.open(1);
      const second = await terminal.waitForScreen((screen) =>
        screen.includes("2/4 (50.0%)") && screen.includes("step 2")
      );
      assert.match(second, /^Progress\s+\[█{15}░{15}\] 2\/4 \(50\.0%\)$/m);
      // Redrawn in place: the earlier bar is gone and the panel appears once.
      assert.ok(!second.includes("1/4"), second);
      assert.equal(second.match(/^Task /gm)?.length, 1, second);

      steps.open(2);
      const status = await terminal.waitForExit();
      const last = await terminal.screen();
      assert.equal(status, 0, last);
      assert.match(last, /^State\s+COMPLETED on worker tty-worker$/m);
      assert.match(last, /^Progress\s+\[█{30}\] 4\/4 \(100\.0%\)$/m);
      assert.match(last, /^Timing\s+took [\d.]+m?s, started [\d:.]+Z, ended [\d:.]+Z, due /m);
      assert.equal(last.match(/^Task /gm)?.length, 1, last);
    } finally {
      steps.openAll();
      await running;
    }
  });
}

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    console.warn("tmux is not installed: the terminal test of watch is not run (install tmux)");
    return false;
  }
}

/** A command running in a detached tmux session of a private tmux server. */
class Terminal {
  readonly #socket: string;
  readonly #dir: string;
  private constructor(socket: string, dir: string) {
    this.#socket = socket;
    this.#dir = dir;
  }

  static async start(runtime: Runtime, args: string[]): Promise<Terminal> {
    const dir = mkdtempSync(join(tmpdir(), "docket-tmux-"));
    const terminal = new Terminal(`docket-${uniqueName("tty")}`, dir);
    // The exit status goes to a file; the pane then stays as the command left it until the
    // server is killed.
    const command = cliCommand(runtime, args).map(shellQuote).join(" ") +
      `; echo $? > ${shellQuote(join(dir, "status"))}; exec sleep 600`;
    await terminal.#tmux([
      "new-session",
      "-d",
      "-s",
      "watch",
      "-x",
      "100",
      "-y",
      "24",
      "-c",
      ROOT,
      command,
    ]);
    return terminal;
  }

  async #tmux(args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, "-f", "/dev/null", ...args],
      env: { LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    if (!output.success) throw new Error(`tmux ${args[0]}: ${text.decode(output.stderr)}`);
    return text.decode(output.stdout);
  }

  /** What the pane shows now, trailing blank lines removed. */
  async screen(): Promise<string> {
    return (await this.#tmux(["capture-pane", "-p", "-t", "watch"])).trimEnd();
  }

  /** Polls the pane (an outside process: no event to wait on) until `check` accepts it. */
  async waitForScreen(check: (screen: string) => boolean): Promise<string> {
    let screen = "";
    try {
      await waitUntil(async () => check(screen = await this.screen()), 20_000, "the screen");
    } catch (error) {
      throw new Error(`${(error as Error).message}; the screen shows:\n${screen}`);
    }
    return screen;
  }

  /** Waits for the command to exit; resolves with its exit status. */
  async waitForExit(): Promise<number> {
    const file = join(this.#dir, "status");
    let status = "";
    await waitUntil(
      () => {
        try {
          status = readFileSync(file, "utf8");
        } catch {
          return false;
        }
        return status.endsWith("\n");
      },
      20_000,
      "watch to exit",
    );
    return Number(status.trim());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#tmux(["kill-server"]);
    } catch {
      // already gone
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
