/**
 * The README's TypeScript examples: every block type-checks against the library, and the first
 * example runs end to end and prints what the README says it prints.
 *
 * Blocks are fragments of one story, so each is checked as its own module with two things added
 * in front of it: an import of the library names it uses and does not import itself, and
 * declarations of what the README assumes the reader already has (a connected `docket`, the
 * application's own helpers like `cleanupOldRecords`), unless the block defines them itself.
 */

import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as library from "../mod.ts";
import { NO_RESOLVE, redisUrl } from "./_harness.ts";
import { ROOT } from "./cli/_cli.ts";

/** What the README's fragments take as given, by name. */
const ASSUMED: Record<string, string> = {
  docket: "declare const docket: Docket;",
  execution: "declare const execution: Execution;",
  records: "declare const records: string[];",
  checkDeploymentStatus: "declare function checkDeploymentStatus(id: string): Promise<string>;",
  cleanupOldRecords: "declare function cleanupOldRecords(): Promise<void>;",
  connectPool: "declare function connectPool(): Promise<Queryable>;",
  beginTransaction: "declare function beginTransaction(): Promise<Queryable>;",
  database: "declare const database: { fetchPendingOrders(): Promise<{ id: string }[]> };",
  splitDatasetIntoChunks: "declare function splitDatasetIntoChunks(id: string): Promise<string[]>;",
  // Tasks defined in other blocks, or left to the reader's imagination.
  importRecords: "declare const importRecords: any;",
  processOrder: "declare const processOrder: any;",
  processPayment: "declare const processPayment: any;",
  processSingleOrder: "declare const processSingleOrder: any;",
  processChunk: "declare const processChunk: any;",
  finalizeDataset: "declare const finalizeDataset: any;",
  processItem: "declare const processItem: any;",
  validTask: "declare const validTask: any;",
  updateAnalytics: "declare const updateAnalytics: any;",
};
const SUPPORT =
  "interface Queryable { query(sql: string, args: unknown[]): Promise<unknown>; }\nexport {};\n";

interface Block {
  line: number;
  code: string;
}

function typeScriptBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    while (++i < lines.length && lines[i].trim() !== "```");
    blocks.push({ line: start + 1, code: lines.slice(start, i).join("\n") });
  }
  return blocks;
}

const uses = (code: string, name: string) => new RegExp(`(?<![\\w.$])${name}\\b`).test(code);
const defines = (code: string, name: string) =>
  new RegExp(`\\b(const|let|var|using|function|class)\\s+${name}\\b`).test(code) ||
  new RegExp(`import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`).test(code);

/** The block as a module that can be checked on its own. */
function asModule(code: string): string {
  const needed = ["Docket", "Execution", ...Object.keys(library)].filter((name, i, all) =>
    all.indexOf(name) === i && !defines(code, name) &&
    (uses(code, name) || (name === "Docket" && uses(code, "docket")) ||
      (name === "Execution" && uses(code, "execution")))
  );
  const assumed = Object.entries(ASSUMED)
    .filter(([name]) => uses(code, name) && !defines(code, name))
    .map(([, declaration]) => declaration);
  const header = needed.length > 0 ? `import { ${needed.join(", ")} } from "@docket/core";\n` : "";
  return `// deno-lint-ignore-file\n${header}${SUPPORT}${assumed.join("\n")}\n${code}\n`;
}

/**
 * Packages an example imports that the application brings itself (an OpenTelemetry exporter, say):
 * declared as untyped modules, so the library calls around them are still checked.
 */
function applicationPackages(all: Block[]): string {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const known = (specifier: string) =>
    specifier.startsWith("@docket/core") || /^(node|npm|jsr|https?):/.test(specifier) ||
    Object.keys(config.imports ?? {}).some((name) =>
      specifier === name || specifier.startsWith(`${name}/`)
    );
  const specifiers = new Set<string>();
  for (const block of all) {
    for (const match of block.code.matchAll(/from\s+"([^".][^"]*)"/g)) {
      if (!known(match[1])) specifiers.add(match[1]);
    }
  }
  return [...specifiers].map((specifier) => `declare module "${specifier}";`).join("\n") + "\n";
}

const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
const blocks = typeScriptBlocks(readme);

Deno.test("README: there are TypeScript examples to check", () => {
  assert.ok(blocks.length >= 10, `found ${blocks.length}`);
});

Deno.test("README: every TypeScript example type-checks against the library", async () => {
  const dir = join(ROOT, "tests", ".readme-blocks");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, "elsewhere.d.ts"), applicationPackages(blocks));
    const files = blocks.map((block) => {
      const file = join(dir, `line_${block.line}.ts`);
      writeFileSync(file, `/// <reference path="./elsewhere.d.ts" />\n${asModule(block.code)}`);
      return file;
    });
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", ...files],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(output.stderr).replaceAll(dir, "README.md at");
    assert.equal(output.code, 0, `README examples do not type-check:\n${report}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("README: the first example runs as written and prints its result", async () => {
  const first = blocks[0];
  assert.match(first.code, /Docket\.connect/);
  const url = await redisUrl();
  const dir = join(ROOT, "tests", ".readme-first");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, "first_example.ts");
    // The same code, on the test's own throwaway Redis instead of the reader's.
    writeFileSync(file, first.code.replace("redis://localhost:6379/0", url));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...NO_RESOLVE, file],
      cwd: ROOT,
      env: { DOCKET_LOG_LEVEL: "warn" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const expected = /console\.log\(.*\); \/\/ (.*)$/m.exec(first.code)![1];
    assert.equal(stdout.trim().split("\n").at(-1), expected, stdout + stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
