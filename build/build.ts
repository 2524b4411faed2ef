/**
 * Builds the npm package (for Node and Bun) from the same sources JSR publishes: `tsc` writes
 * ESM JavaScript and `.d.ts` files to `dist/`, rewriting `.ts` import extensions to `.js`.
 *
 * `deno task build` runs it. It first checks that package.json is in step with deno.json
 * (name, version, exports, dependency ranges), installs the pinned compiler from
 * build/tools/package.json when it is not there yet, and afterwards checks that the output
 * imports exactly the packages package.json depends on. Then `npm pack` makes the tarball.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtImportProblems, manifestProblems, readManifests } from "./manifest.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOOLS = join(ROOT, "build", "tools");
const DIST = join(ROOT, "dist");

function fail(message: string): never {
  console.error(`build: ${message}`);
  Deno.exit(1);
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: "inherit" });
  if (result.error) fail(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(" ")} exited ${result.status}`);
}

/** Installs build/tools from its lockfile unless the pinned versions are already there. */
function ensureTools(): string {
  const lock = JSON.parse(readFileSync(join(TOOLS, "package-lock.json"), "utf8"));
  const installed = (name: string) => {
    const file = join(TOOLS, "node_modules", name, "package.json");
    return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
  };
  const pinned = Object.entries(lock.packages[""].devDependencies as Record<string, string>);
  if (pinned.some(([name, version]) => installed(name) !== version)) {
    run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TOOLS);
  }
  return join(TOOLS, "node_modules", "typescript", "bin", "tsc");
}

/** The bare specifiers the built JavaScript imports (statically or dynamically). */
function builtImports(dir: string): Set<string> {
  const found = new Set<string>();
  const statement = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;
  const dynamic = /\bimport\(\s*"([^"]+)"\s*\)/g;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    // Comments hold examples that import the package itself; only code counts.
    const code = readFileSync(join(entry.parentPath, entry.name), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const match of code.matchAll(statement)) found.add(match[1] ?? match[2]);
    for (const match of code.matchAll(dynamic)) found.add(match[1]);
  }
  return new Set([...found].filter((s) => !s.startsWith(".") && !s.startsWith("/")));
}

/** Makes a bin entry runnable on its own: a node shebang and the executable bit. */
function makeExecutable(file: string): void {
  const code = readFileSync(file, "utf8");
  if (!code.startsWith("#!")) writeFileSync(file, `#!/usr/bin/env node\n${code}`);
  chmodSync(file, 0o755);
}

const started = performance.now();
const { deno, npm, versionConstant } = readManifests(ROOT);
const drift = manifestProblems(deno, npm, versionConstant);
if (drift.length > 0) fail(`package.json is out of step:\n  ${drift.join("\n  ")}`);
if (!existsSync(join(ROOT, "node_modules", "redis"))) {
  fail("node_modules is missing: run `deno install` first (`deno task build` does)");
}

const tsc = ensureTools();
rmSync(DIST, { recursive: true, force: true });
run("node", [tsc, "-p", join(ROOT, "build", "tsconfig.json")], ROOT);

for (const bin of Object.values(npm.bin ?? {})) makeExecutable(join(ROOT, bin));
const missing = Object.values(npm.exports).flatMap((entry) => [entry.types, entry.default])
  .filter((path): path is string => path !== undefined && !existsSync(join(ROOT, path)));
if (missing.length > 0) fail(`the build did not produce ${missing.join(", ")}`);
const imports = builtImportProblems(npm, builtImports(DIST));
if (imports.length > 0) fail(`package.json dependencies are wrong:\n  ${imports.join("\n  ")}`);

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`built ${npm.name}@${npm.version} into dist/ in ${seconds}s; next: npm pack`);
