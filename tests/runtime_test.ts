/** src/runtime.ts: process access that behaves the same on Deno, Bun and Node. */

import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { hostName, processId, readEnv, runtimeName } from "../src/runtime.ts";
import { defaultWorkerName } from "../src/worker/defaults.ts";
import { bunCommand, NO_RESOLVE } from "./_harness.ts";
import { ROOT } from "./cli/_cli.ts";

const PROBE = `
import { hostName, readEnv, runtimeName } from ${JSON.stringify(join(ROOT, "src", "runtime.ts"))};
console.log(JSON.stringify({ runtime: runtimeName(), env: readEnv("DOCKET_PROBE") ?? null,
  host: hostName() ?? null }));
`;

async function probe(command: string[], env: Record<string, string> = {}) {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, {
    args,
    env: { DOCKET_PROBE: "set", ...env },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text + new TextDecoder().decode(output.stderr));
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

Deno.test("readEnv reads a variable and gives undefined for an unset one", () => {
  Deno.env.set("DOCKET_RUNTIME_TEST", "yes");
  assert.equal(readEnv("DOCKET_RUNTIME_TEST"), "yes");
  Deno.env.delete("DOCKET_RUNTIME_TEST");
  assert.equal(readEnv("DOCKET_RUNTIME_TEST"), undefined);
});

Deno.test("a worker's default name is the host name and the pid", () => {
  assert.equal(runtimeName(), "deno");
  assert.equal(processId(), Deno.pid);
  assert.equal(hostName(), hostname());
  assert.equal(defaultWorkerName(), `${hostname()}#${Deno.pid}`);
});

Deno.test("on Deno without permissions, the environment and host name read as absent", async () => {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, PROBE);
    const denied = await probe([Deno.execPath(), "run", "--no-prompt", ...NO_RESOLVE, file]);
    assert.deepEqual(denied, { runtime: "deno", env: null, host: null });
    const allowed = await probe([Deno.execPath(), "run", "-A", ...NO_RESOLVE, file]);
    assert.deepEqual(allowed, { runtime: "deno", env: "set", host: hostname() });
    const bun = await probe([...bunCommand(), file]);
    assert.deepEqual(bun, { runtime: "bun", env: "set", host: hostname() });
  } finally {
    await Deno.remove(file);
  }
});
