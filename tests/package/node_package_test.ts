/**
 * The npm package as a Node or Bun user gets it: built by `build/build.ts`, packed by
 * `npm pack`, installed from the tarball into a throwaway project (with npm, and with Bun), and
 * used from there: a process adds a task, a worker started from the package's bin completes it,
 * `getResult` returns the value; SIGTERM lets a running task finish and the worker exits 0; the
 * CLI bin runs; the declarations type-check a TypeScript consumer.
 *
 * Only the package's own dependencies come from the npm registry (npm's cache makes later runs
 * quick); everything else is local.
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunCommand, NO_RESOLVE, redisUrl, uniqueName } from "../_harness.ts";
import { startWorkerProcess, type WorkerProcess } from "../_processes.ts";
import { ROOT } from "../cli/_cli.ts";

const FIXTURES = join(ROOT, "tests", "fixtures", "package_project");
const PROJECT_FILES = ["tasks.js", "client.js", "consumer.ts", "tasks.ts"];

/** Runs a command to completion; throws with its output unless it exits 0. */
function mustRun(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Runs a command to completion without blocking; rejects with its output unless it exits 0. */
function run(command: string, args: string[], cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once(
      "close",
      (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`)),
    );
  });
}

/** A throwaway project holding the package's files and the fixture modules. */
function makeProject(dir: string): void {
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "docket-package-check", private: true, type: "module" }),
  );
  for (const file of PROJECT_FILES) copyFileSync(join(FIXTURES, file), join(dir, file));
}

interface Installed {
  root: string;
  tarball: string;
  /** Installed with npm; run with Node. */
  npmProject: string;
  /** Installed with `bun add`; run with Bun. */
  bunProject: string;
}

/** Builds, packs and installs once for every test of this file. */
const installed: Promise<Installed> = (async () => {
  const root = mkdtempSync(join(tmpdir(), "docket-package-"));
  await run(Deno.execPath(), ["run", "-A", ...NO_RESOLVE, "build/build.ts"], ROOT);
  await run("npm", ["pack", "--silent", "--pack-destination", root], ROOT);
  const tarball = join(root, readdirSync(root).find((name) => name.endsWith(".tgz"))!);
  const npmProject = join(root, "npm-project");
  const bunProject = join(root, "bun-project");
  for (const dir of [npmProject, bunProject]) {
    Deno.mkdirSync(dir);
    makeProject(dir);
  }
  const [bun, ...bunArgs] = bunCommand();
  await Promise.all([
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], npmProject),
    run(bun, [...bunArgs, "add", tarball], bunProject),
  ]);
  return { root, tarball, npmProject, bunProject };
})();

globalThis.addEventListener("unload", () => {
  installed.then(({ root }) => rmSync(root, { recursive: true, force: true }), () => {});
});

type Runtime = "node" | "bun";

/** The command that runs a file with a runtime (for Node, the file's own shebang). */
function runWith(runtime: Runtime, file: string): string[] {
  return runtime === "node" ? ["node", file] : [...bunCommand(), file];
}

function projectOf(runtime: Runtime, at: Installed): string {
  return runtime === "node" ? at.npmProject : at.bunProject;
}

/** A worker started from the installed package's `docket-worker` bin. */
function startPackageWorker(
  runtime: Runtime,
  at: Installed,
  docket: { url: string; name: string },
  args: string[] = [],
): WorkerProcess {
  const project = projectOf(runtime, at);
  const bin = join(project, "node_modules", ".bin", "docket-worker");
  return startWorkerProcess({
    docket,
    tasks: "./tasks.js",
    name: `${runtime}-worker`,
    command: runtime === "node" ? [bin] : runWith("bun", bin),
    cwd: project,
    args,
  });
}

/** Starts `client.js` (adds a task, prints its result); resolves with what it printed. */
function runClient(
  runtime: Runtime,
  at: Installed,
  docket: { url: string; name: string },
  task: string,
  payload: unknown,
): Promise<{ code: number | null; value: unknown; type: string; output: string }> {
  const [command, ...args] = runWith(runtime, "client.js");
  const child = spawn(command, [...args, docket.url, docket.name, task, JSON.stringify(payload)], {
    cwd: projectOf(runtime, at),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const line = output.split("\n").find((l) => l.startsWith("RESULT "));
      if (!line) return reject(new Error(`client exited ${code} with no result:\n${output}`));
      const { value, type } = JSON.parse(line.slice("RESULT ".length));
      resolve({ code, value, type, output });
    });
  });
}

async function target(): Promise<{ url: string; name: string }> {
  return { url: await redisUrl(), name: uniqueName("package") };
}

for (const runtime of ["node", "bun"] as const) {
  Deno.test(`${runtime}: a worker from the package's bin completes what a ${runtime} process adds`, async () => {
    const at = await installed;
    const docket = await target();
    const worker = startPackageWorker(runtime, at, docket);
    try {
      await worker.logged(/^Starting worker/);
      const result = await runClient(runtime, at, docket, "double", { n: 21 });
      assert.equal(result.code, 0, result.output);
      assert.deepEqual({ value: result.value, type: result.type }, { value: 42, type: "number" });
      const done = await worker.logged(/double\(/);
      assert.equal(done.worker, `${runtime}-worker`);
    } finally {
      assert.equal(await worker.stop(), 0, worker.output());
    }
  });
}

Deno.test("node: SIGTERM lets the running task finish, then the worker exits 0", async () => {
  const at = await installed;
  const docket = await target();
  const release = join(at.root, `release-${docket.name}`);
  const worker = startPackageWorker("node", at, docket);
  try {
    await worker.logged(/^Starting worker/);
    const client = runClient("node", at, docket, "gated", { release });
    await worker.logged(/^↪.*gated\(/);
    worker.kill("SIGTERM");
    await worker.logged(/^Received SIGTERM/);
    // The task is still running (it waits for this file); the worker must wait for it.
    writeFileSync(release, "");
    assert.equal(await worker.exited, 0, worker.output());
    const result = await client;
    assert.equal(result.value, "drained", result.output);
    assert.match(worker.output(), /"outcome":"completed"/);
  } finally {
    await worker.stop("SIGKILL");
  }
});

Deno.test("node: the docket bin runs from the package", async () => {
  const at = await installed;
  const bin = join(at.npmProject, "node_modules", ".bin", "docket");
  const { version } = JSON.parse(Deno.readTextFileSync(join(ROOT, "package.json")));
  assert.equal(mustRun(bin, ["version"], at.npmProject).trim(), version);
  const docket = await target();
  const snapshot = mustRun(
    bin,
    ["snapshot", "--url", docket.url, "--docket", docket.name],
    at.npmProject,
  );
  assert.match(snapshot, new RegExp(`Docket '${docket.name}'[^]*0 workers`));
});

Deno.test("node: the package's declarations type-check a TypeScript consumer", async () => {
  const at = await installed;
  const tsc = join(ROOT, "build", "tools", "node_modules", "typescript", "bin", "tsc");
  mustRun("node", [
    tsc,
    "--noEmit",
    "--strict",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--skipLibCheck",
    "consumer.ts",
  ], at.npmProject);
});

Deno.test("node: a TypeScript task module on Node 20 is refused with a way out", async () => {
  const at = await installed;
  const [major, minor] = mustRun("node", ["-p", "process.versions.node"], ROOT).split(".").map(
    Number,
  );
  const stripsTypes = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  const docket = await target();
  const worker = startWorkerProcess({
    docket,
    tasks: "./tasks.ts",
    command: [join(at.npmProject, "node_modules", ".bin", "docket-worker")],
    cwd: at.npmProject,
    args: ["--until-finished"],
  });
  const code = await worker.exited;
  if (!stripsTypes) {
    assert.equal(code, 2, worker.output());
    assert.match(
      worker.output(),
      /cannot load task module \.\/tasks\.ts: .*compile the task module to \.js/,
    );
  } else {
    // Newer Node strips types itself: the module loads and the worker finishes.
    assert.equal(code, 0, worker.output());
  }
});
