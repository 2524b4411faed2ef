/**
 * The npm package's manifest (package.json) kept in step with deno.json: the same name and
 * version, an export for each of deno.json's exports, and the runtime dependencies deno.json
 * imports from npm at the same version ranges. The build refuses to run when they differ, and a
 * test checks the same without building.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The fields of deno.json the package follows. */
export interface DenoConfig {
  name: string;
  version: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** The fields of package.json this checks. */
export interface PackageManifest {
  name: string;
  version: string;
  type?: string;
  exports: Record<string, { types?: string; default?: string }>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Reads deno.json, package.json and the VERSION constant of the repository at `root`. */
export function readManifests(root: string): {
  deno: DenoConfig;
  npm: PackageManifest;
  versionConstant: string | undefined;
} {
  const read = (file: string) => readFileSync(join(root, file), "utf8");
  const versionSource = read("src/version.ts");
  return {
    deno: JSON.parse(read("deno.json")),
    npm: JSON.parse(read("package.json")),
    versionConstant: versionSource.match(/export const VERSION = "([^"]+)"/)?.[1],
  };
}

/** `./mod.ts` → `./dist/mod.js` (and `.d.ts` for types): where tsc writes a source's output. */
export function builtPath(source: string, extension: ".js" | ".d.ts"): string {
  return source.replace(/^\.\//, "./dist/").replace(/\.ts$/, extension);
}

/** Every way package.json has drifted from deno.json (none: an empty list). */
export function manifestProblems(
  deno: DenoConfig,
  npm: PackageManifest,
  versionConstant: string | undefined,
): string[] {
  const problems: string[] = [];
  if (npm.name !== deno.name) {
    problems.push(`package.json name is ${npm.name}, deno.json's is ${deno.name}`);
  }
  if (npm.version !== deno.version) {
    problems.push(`package.json version is ${npm.version}, deno.json's is ${deno.version}`);
  }
  if (versionConstant !== deno.version) {
    problems.push(`src/version.ts says ${versionConstant}, deno.json's version is ${deno.version}`);
  }
  if (npm.type !== "module") problems.push(`package.json type must be "module" (ESM output)`);
  problems.push(...exportProblems(deno, npm));
  problems.push(...dependencyProblems(deno, npm));
  return problems;
}

function exportProblems(deno: DenoConfig, npm: PackageManifest): string[] {
  const problems: string[] = [];
  const denoKeys = Object.keys(deno.exports).sort();
  const npmKeys = Object.keys(npm.exports ?? {}).sort();
  if (denoKeys.join() !== npmKeys.join()) {
    problems.push(`package.json exports ${npmKeys.join(", ")}; deno.json exports ${denoKeys}`);
  }
  for (const [key, source] of Object.entries(deno.exports)) {
    const entry = npm.exports?.[key];
    if (!entry) continue;
    const expected = { types: builtPath(source, ".d.ts"), default: builtPath(source, ".js") };
    if (entry.types !== expected.types || entry.default !== expected.default) {
      problems.push(
        `package.json exports["${key}"] must be ${JSON.stringify(expected)} (built from ${source})`,
      );
    }
  }
  return problems;
}

/** The npm packages deno.json imports: `{ redis: "^6.3.1", … }`. */
export function npmImports(deno: DenoConfig): Record<string, string> {
  const found: Record<string, string> = {};
  for (const target of Object.values(deno.imports ?? {})) {
    const match = target.match(/^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)$/);
    if (match) found[match[1]] = match[2];
  }
  return found;
}

function dependencyProblems(deno: DenoConfig, npm: PackageManifest): string[] {
  const problems: string[] = [];
  const imported = npmImports(deno);
  for (const [name, range] of Object.entries(npm.dependencies ?? {})) {
    if (imported[name] === undefined) {
      problems.push(`package.json depends on ${name}, which deno.json does not import`);
    } else if (imported[name] !== range) {
      problems.push(
        `package.json wants ${name}@${range}, deno.json imports ${name}@${imported[name]}`,
      );
    }
  }
  if (npm.devDependencies && Object.keys(npm.devDependencies).length > 0) {
    problems.push(
      "package.json has devDependencies: the build tools live in build/tools/package.json",
    );
  }
  return problems;
}

/**
 * Checks that the built code imports exactly the packages package.json depends on: `imports`
 * are the bare specifiers found in the output (node: built-ins left out).
 */
export function builtImportProblems(npm: PackageManifest, imports: Iterable<string>): string[] {
  const needed = new Set<string>();
  for (const specifier of imports) {
    if (specifier.startsWith("node:")) continue;
    needed.add(specifier.match(/^(@[^/]+\/[^/]+|[^/]+)/)![1]);
  }
  const declared = new Set(Object.keys(npm.dependencies ?? {}));
  const problems: string[] = [];
  for (const name of needed) {
    if (!declared.has(name)) {
      problems.push(`the built code imports ${name}: add it to dependencies`);
    }
  }
  for (const name of declared) {
    if (!needed.has(name)) {
      problems.push(`package.json depends on ${name}, which the built code never imports`);
    }
  }
  return problems;
}
