/**
 * `cli.ts dashboard` on Deno and Bun: serves on 127.0.0.1 (a free port here), takes its
 * settings from flags or DOCKET_DASHBOARD_* variables, and stops on SIGTERM.
 */

import assert from "node:assert/strict";
import { Docket } from "../../mod.ts";
import { redisUrl, uniqueName } from "../_harness.ts";
import { CliProcess, runCli, RUNTIMES } from "./_cli.ts";

for (const runtime of RUNTIMES) {
  Deno.test(`dashboard serves the docket on 127.0.0.1 and stops on SIGTERM [${runtime}]`, async () => {
    const url = await redisUrl();
    const name = uniqueName("dash");
    await using docket = await Docket.connect({ url, name });
    await docket.add("trace", { key: "seen-by-cli", when: Date.now() + 3_600_000 })({
      message: "x",
    });
    await using cli = new CliProcess(
      runtime,
      ["dashboard", "--url", url, "--docket", name, "--read-only"],
      { DOCKET_DASHBOARD_PORT: "0", DOCKET_DASHBOARD_TOKEN: "cli-token" },
    );
    const { line } = await cli.waitForLine((l) => l.startsWith("Dashboard of docket"), 0, 60_000);
    const address = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
    assert.ok(address, line);
    assert.match(line, /read-only/);
    const refused = await fetch(address);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const page = await fetch(`${address}scheduled`, {
      headers: { authorization: "Bearer cli-token" },
    });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /seen-by-cli/);
    cli.kill("SIGTERM");
    assert.equal((await cli.finished()).code, 0);
  });
}

Deno.test("dashboard refuses memory:// and a bad port, saying why", async () => {
  const memory = await runCli("deno", ["dashboard", "--url", "memory://"]);
  assert.equal(memory.code, 2);
  assert.match(memory.stderr, /memory/);
  const port = await runCli("deno", ["dashboard", "--url", await redisUrl(), "--port", "99999"]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port/);
});
