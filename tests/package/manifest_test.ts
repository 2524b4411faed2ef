/** package.json stays in step with deno.json: name, version, exports and dependency ranges. */

import assert from "node:assert/strict";
import {
  builtImportProblems,
  manifestProblems,
  type PackageManifest,
  readManifests,
} from "../../build/manifest.ts";
import { ROOT } from "../cli/_cli.ts";

Deno.test("package.json is in step with deno.json and src/version.ts", () => {
  const { deno, npm, versionConstant } = readManifests(ROOT);
  assert.deepEqual(manifestProblems(deno, npm, versionConstant), []);
  assert.equal(npm.version, deno.version);
});

Deno.test("a version, export or dependency that drifts is named", () => {
  const { deno, npm, versionConstant } = readManifests(ROOT);
  const drifted: PackageManifest = structuredClone(npm);
  drifted.version = "9.9.9";
  drifted.exports["./testing"] = { types: "./dist/testing.d.ts", default: "./testing.js" };
  drifted.dependencies = { ...npm.dependencies, "left-pad": "^1.3.0", redis: "^5.0.0" };
  drifted.devDependencies = { typescript: "5.9.3" };
  const problems = manifestProblems(deno, drifted, versionConstant).join("\n");
  assert.match(
    problems,
    new RegExp(`package.json version is 9\\.9\\.9, deno.json's is ${deno.version}`),
  );
  assert.match(problems, /exports\["\.\/testing"\] must be .*"default":"\.\/dist\/testing\.js"/);
  assert.match(problems, /depends on left-pad, which deno.json does not import/);
  assert.match(problems, /wants redis@\^5\.0\.0, deno.json imports redis@\^6/);
  assert.match(problems, /devDependencies/);
  assert.match(
    manifestProblems(deno, npm, "0.0.0").join("\n"),
    /src\/version\.ts says 0\.0\.0/,
  );
});

Deno.test("the built code's imports must be exactly the dependencies", () => {
  const npm = { dependencies: { redis: "^6", pino: "^10" } } as unknown as PackageManifest;
  assert.deepEqual(builtImportProblems(npm, ["redis", "pino/file", "node:fs"]), []);
  assert.deepEqual(builtImportProblems(npm, ["redis", "@msgpack/msgpack/x"]), [
    "the built code imports @msgpack/msgpack: add it to dependencies",
    "package.json depends on pino, which the built code never imports",
  ]);
});
