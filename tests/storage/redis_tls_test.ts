/**
 * TLS with client certificates: a CA, server and client certificates made with openssl, and a
 * TLS-only redis-server with `tls-auth-clients yes`. The docket, a worker, `getResult`,
 * `subscribe` and the command line connect with the TLS options; a wrong CA or a missing client
 * certificate fails with a clear error.
 */

import assert from "node:assert/strict";
import { ConnectionError, Docket, task, Worker } from "../../mod.ts";
import { FAST, LogCapture, uniqueName } from "../_harness.ts";
import { type Certificates, makeCertificates, type Spawned, startTlsRedis } from "../_servers.ts";
import { runCli, RUNTIMES } from "../cli/_cli.ts";
import { startWorkerProcess } from "../_processes.ts";

async function withTlsServer(
  run: (server: Spawned, certs: Certificates, url: string) => Promise<void>,
): Promise<void> {
  const certs = await makeCertificates();
  let server: Spawned | undefined;
  try {
    server = await startTlsRedis(certs);
    await run(server, certs, `rediss://127.0.0.1:${server.port}/0`);
  } finally {
    await server?.kill();
    certs.dispose();
  }
}

Deno.test("add, a worker, getResult and subscribe over TLS with a client certificate", async () => {
  await withTlsServer(async (_server, certs, url) => {
    // Files by path, and the same certificates as PEM text.
    for (
      const tls of [
        { ca: certs.caFile, cert: certs.clientCert, key: certs.clientKey },
        { ...certs.client, servername: "localhost" },
      ]
    ) {
      await using docket = await Docket.connect({
        url,
        tls,
        name: uniqueName("tls"),
        logger: new LogCapture().logger,
      });
      const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
      docket.register(double);
      const execution = await docket.add(double)({ n: 21 });
      const states: string[] = [];
      const watching = (async () => {
        for await (const event of execution.subscribe()) {
          if (event.type !== "state") continue;
          states.push(event.state);
          if (event.state === "completed") break;
        }
      })();
      await new Worker(docket, FAST).runUntilFinished();
      assert.equal(await execution.getResult({ timeout: { seconds: 30 } }), 42);
      await watching;
      assert.equal(states.at(-1), "completed");
    }
  });
});

Deno.test("a wrong CA, no client certificate or tls on redis:// fail with clear errors", async () => {
  await withTlsServer(async (server, certs, url) => {
    const connect = (options: Parameters<typeof Docket.connect>[0]) =>
      Docket.connect({ name: uniqueName("tls"), logger: new LogCapture().logger, ...options });
    const wrongCa = await connect({
      url,
      tls: { ca: certs.otherCaFile, cert: certs.clientCert, key: certs.clientKey },
    }).then(() => undefined, (e) => e as Error);
    assert.ok(wrongCa instanceof ConnectionError, String(wrongCa));
    assert.match(wrongCa.message, /cannot reach Redis at rediss:\/\/127\.0\.0\.1/);
    assert.match(wrongCa.message, /certificate/i);
    assert.match(wrongCa.message, /tls\.ca/);

    // A missing client certificate is tested through the command line (below): under load the
    // server's refusal can arrive on a socket node-redis has stopped listening to, which Deno
    // then reports as an uncaught error in the process that tried.

    await assert.rejects(
      connect({ url: `redis://127.0.0.1:${server.port}/0`, tls: { ca: certs.caFile } }),
      /does not use TLS: use rediss:\/\//,
    );
    await assert.rejects(
      connect({ url, tls: { ca: "/no/such/ca.pem" } }),
      /tls\.ca: "\/no\/such\/ca\.pem" is neither PEM text nor a readable file/,
    );
    await assert.rejects(
      connect({ url, tls: { cert: certs.clientCert } }),
      /tls\.cert and tls\.key go together/,
    );
  });
});

for (const runtime of RUNTIMES) {
  Deno.test(`the CLI and the worker command take --tls-* flags and DOCKET_TLS_* variables [${runtime}]`, async () => {
    await withTlsServer(async (_server, certs, url) => {
      const name = uniqueName("tls-cli");
      const flags = [
        "--url",
        url,
        "--docket",
        name,
        "--tls-ca",
        certs.caFile,
        "--tls-cert",
        certs.clientCert,
        "--tls-key",
        certs.clientKey,
      ];
      const added = await runCli(runtime, ["tasks", "trace", "over tls", ...flags]);
      assert.equal(added.code, 0, added.stderr);
      const snapshot = await runCli(runtime, ["snapshot", ...flags]);
      assert.equal(snapshot.code, 0, snapshot.stderr);
      assert.match(snapshot.stdout, /queued\s.*\strace\s/);
      // Without a client certificate the server refuses the handshake.
      const noCert = await runCli(runtime, ["snapshot", ...flags.slice(0, 6)]);
      assert.equal(noCert.code, 1, noCert.stderr);
      // node-redis's message, or, when the refusal comes in the same read as the end of the
      // handshake (before node-redis listens for socket errors), the runtime's own report.
      assert.match(
        noCert.stderr,
        /^error: cannot reach Redis at rediss:\/\/127\.0\.0\.1|CertificateRequired/m,
      );
      const noCa = await runCli(runtime, ["snapshot", ...flags.slice(0, 4)]);
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /certificate/i);

      const worker = startWorkerProcess({
        docket: { url, name },
        tasks: "tests/fixtures/e2e_tasks.ts",
        runtime,
        args: ["--until-finished"],
        env: {
          DOCKET_TLS_CA: certs.caFile,
          DOCKET_TLS_CERT: certs.clientCert,
          DOCKET_TLS_KEY: certs.clientKey,
        },
      });
      assert.equal(await worker.exited, 0, worker.output());
      assert.match(worker.output(), /over tls/);
      const after = await runCli(runtime, ["snapshot", ...flags]);
      assert.equal(after.code, 0, after.stderr);
      assert.match(after.stdout, /Nothing is scheduled, queued or running/);
    });
  });
}
