/**
 * The shape of the source tree, checked: no import cycles, nothing importing upward across the
 * layers (types and codecs → storage → client → worker → command line), and no source file
 * longer than a reader holds in mind at once.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "../cli/_cli.ts";

const MAX_LINES = 500;

/** Every TypeScript file under `dir`, relative to the repository root. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** The relative modules a file imports or re-exports, statically or dynamically. */
function relativeImports(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file)).replace(/^\s*\*.*$|\/\/.*$/gm, "");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    found.add(normalize(join(dirname(file), match[1])));
  }
  return [...found];
}

/**
 * The layer a file belongs to; a file may import its own layer and those below. Modules at the
 * top of `src/` (types, codecs, tasks, behaviours, strikes, logging) are the ground floor.
 */
function layer(file: string): { rank: number; name: string } {
  const path = relative("src", file);
  if (/^(cli|dashboard)\//.test(path)) return { rank: 5, name: "command line and dashboard" };
  if (path.startsWith("worker/")) return { rank: 4, name: "worker" };
  if (
    /^(docket[^/]*\.ts|execution\.ts|agenda[^/]*\.ts|task(_types)?\.ts|dead_letter\/|telemetry\/)/
      .test(path)
  ) {
    return { rank: 3, name: "client" };
  }
  if (/^(storage|strikes)\//.test(path)) return { rank: 2, name: "storage" };
  return { rank: 1, name: "types, codecs and task definitions" };
}

const files = sourceFiles("src");
const graph = new Map(files.map((file) => [file, relativeImports(file)]));

Deno.test("architecture: no source module imports from a layer above its own", () => {
  const upward: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      const [from, to] = [layer(file), layer(target)];
      if (to.rank > from.rank) upward.push(`${file} (${from.name}) imports ${target} (${to.name})`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("architecture: the source modules import one another without cycles", () => {
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "visiting");
    path.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) visit(file);
  assert.deepEqual(cycles, []);
});

Deno.test("architecture: no source or test file is longer than 500 lines", () => {
  const long = [...files, ...sourceFiles("tests"), ...sourceFiles("bench")]
    .map((file) => ({
      file,
      lines: Deno.readTextFileSync(join(ROOT, file)).split("\n").length - 1,
    }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${file}: ${lines} lines`);
  assert.deepEqual(long, []);
});

Deno.test("architecture: bench-only packages stay out of the library's import map and lock", () => {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const lock = Deno.readTextFileSync(join(ROOT, "deno.lock"));
  for (const name of ["bullmq", "ioredis"]) {
    assert.equal(config.imports[name], undefined, `${name} in deno.json's imports`);
    // Installing the library would fetch it (and, for BullMQ, a native build it cannot run).
    assert.ok(!lock.includes(`"npm:${name}@`), `${name} in deno.lock: run the bench by its task`);
  }
});
