/** Loading `--tasks` modules by path or URL. */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { importModule, loadTasks } from "../../src/cli/task_modules.ts";
import { UsageError } from "../../src/cli/parsing.ts";
import { ROOT } from "./_cli.ts";

const TASK_MODULE = `export const answer = 42;\nexport default [];\n`;

Deno.test("a task module loads by path, and by file: URL, even with spaces and # in its name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "docket tasks #1 "));
  try {
    const file = join(dir, "my tasks.js");
    writeFileSync(file, TASK_MODULE);
    assert.equal((await importModule(file)).answer, 42);
    assert.equal((await importModule(pathToFileURL(file).href)).answer, 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a relative path is resolved against the working directory", async () => {
  const previous = Deno.cwd();
  Deno.chdir(ROOT);
  try {
    const tasks = await loadTasks(["./examples/tasks.ts"]);
    assert.ok(tasks.some((task) => task.name === "add"), tasks.map((t) => t.name).join());
  } finally {
    Deno.chdir(previous);
  }
});

Deno.test("a scheme other than file:, http: and https: is refused by name", async () => {
  for (const specifier of ["jsr:@acme/tasks", "npm:acme-tasks", "data:text/javascript,1"]) {
    await assert.rejects(
      importModule(specifier),
      (error: Error) =>
        error instanceof UsageError &&
        error.message ===
          `cannot load task module ${specifier}: give a path or a file:, http: or https: URL`,
    );
  }
});

Deno.test("a module that cannot be loaded is a usage error naming it", async () => {
  await assert.rejects(
    importModule("./no/such/tasks.js"),
    (error: Error) =>
      error instanceof UsageError &&
      error.message.startsWith("cannot load task module ./no/such/tasks.js: "),
  );
});
