/** src/version.ts keeps the version of deno.json, so it is known without reading deno.json. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../../mod.ts";
import { ROOT } from "./_cli.ts";

Deno.test("VERSION is the version in deno.json", () => {
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  assert.equal(
    VERSION,
    config.version,
    `src/version.ts says ${VERSION}, deno.json says ${config.version}: update src/version.ts`,
  );
});
