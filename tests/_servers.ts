/**
 * Redis setups beyond one plain server, for the connection tests: a server with any arguments,
 * a Sentinel set (a master, a replica and three sentinels), and TLS certificates made with
 * openssl. Everything runs on loopback on free ports; `dispose()` kills it and removes its files.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { freePort, waitUntil } from "./_harness.ts";

/** A process this test started. */
export interface Spawned {
  readonly port: number;
  kill(): Promise<void>;
}

/** A client of the Redis (or sentinel) on `port`, over TLS with `tls`; not connected yet. */
function clientFor(port: number, tls?: RedisTls) {
  return createClient({
    socket: {
      host: "127.0.0.1",
      port,
      reconnectStrategy: false,
      ...(tls ? { tls: true, ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    } as any,
  });
}

async function answers(port: number, tls?: RedisTls): Promise<boolean> {
  const client = clientFor(port, tls);
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (error) {
    // A server that wants a password answers too.
    return /NOAUTH|WRONGPASS/.test(String((error as Error)?.message));
  } finally {
    client.destroy();
  }
}

/** PEM text a TLS client connects with. */
export interface RedisTls {
  ca: string;
  cert: string;
  key: string;
}

/** Starts `redis-server args…` (port `port`, nothing kept on disk) and waits until it answers. */
export async function spawnRedis(
  port: number,
  args: string[],
  options: { sentinel?: boolean; tls?: RedisTls; command?: string[] } = {},
): Promise<Spawned> {
  const command = options.command ?? ["redis-server"];
  const child = spawn(command[0], [...command.slice(1), ...args], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitUntil(() => answers(port, options.tls), 20_000, `redis on port ${port}`);
  return {
    port,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

const PLAIN = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];

/** A Sentinel set watching master `mymaster`; `sentinelUrl` lists the three sentinels. */
export interface SentinelSet {
  readonly master: Spawned;
  readonly replica: Spawned;
  readonly sentinels: Spawned[];
  readonly sentinelUrl: string;
  /** The client side's TLS files when the set speaks only TLS. */
  readonly tls?: RedisTls;
  dispose(): Promise<void>;
}

/** Server arguments for TLS only, client certificates required, replication over TLS. */
function tlsArgs(port: number, certs?: Certificates): string[] {
  if (!certs) return ["--port", String(port)];
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    certs.serverCert,
    "--tls-key-file",
    certs.serverKey,
    "--tls-ca-cert-file",
    certs.caFile,
    "--tls-auth-clients",
    "yes",
    "--tls-replication",
    "yes",
  ];
}

/**
 * A master, a replica of it and three sentinels (quorum 2) that declare the master down after
 * one second of silence, ready once the sentinels know the replica and each other.
 */
export async function startSentinelSet(
  masterName = "mymaster",
  certs?: Certificates,
): Promise<SentinelSet> {
  const tls = certs?.client;
  const dir = mkdtempSync(join(tmpdir(), "docket-sentinel-"));
  const started: Spawned[] = [];
  const dispose = async () => {
    await Promise.all(started.map((s) => s.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    const master = await spawnRedis(masterPort, [...tlsArgs(masterPort, certs), ...PLAIN], {
      tls,
    });
    started.push(master);
    const replicaPort = await freePort();
    const replica = await spawnRedis(replicaPort, [
      ...tlsArgs(replicaPort, certs),
      ...PLAIN,
      "--replicaof",
      "127.0.0.1",
      String(masterPort),
    ], { tls });
    started.push(replica);
    await waitUntil(
      async () => (await info(replicaPort, "replication", tls)).includes("master_link_status:up"),
      20_000,
      "the replica to sync",
    );
    const sentinels: Spawned[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const config = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        config,
        [
          ...(certs
            ? [
              "port 0",
              `tls-port ${port}`,
              `tls-cert-file ${certs.serverCert}`,
              `tls-key-file ${certs.serverKey}`,
              `tls-ca-cert-file ${certs.caFile}`,
              "tls-auth-clients yes",
              "tls-replication yes",
            ]
            : [`port ${port}`]),
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 3000`,
          `sentinel parallel-syncs ${masterName} 1`,
          "",
        ].join("\n"),
      );
      const sentinel = await spawnRedis(port, [config, "--sentinel"], { tls });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitUntil(
        async () => {
          try {
            const replicas = await sentinelCommand(sentinel.port, [
              "SENTINEL",
              "REPLICAS",
              masterName,
            ], tls);
            const peers = await sentinelCommand(
              sentinel.port,
              ["SENTINEL", "SENTINELS", masterName],
              tls,
            );
            return (replicas as unknown[]).length === 1 && (peers as unknown[]).length === 2;
          } catch {
            return false; // a sentinel may drop a connection while it starts
          }
        },
        30_000,
        "the sentinels to find the replica and each other",
      );
    }
    const sentinelUrl = `${certs ? "rediss" : "redis"}+sentinel://${
      sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")
    }/${masterName}`;
    return { master, replica, sentinels, sentinelUrl, tls, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** One command on a throwaway connection to `port`. */
export async function sentinelCommand(
  port: number,
  args: string[],
  tls?: RedisTls,
): Promise<unknown> {
  const client = clientFor(port, tls);
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

async function info(port: number, section: string, tls?: RedisTls): Promise<string> {
  try {
    return String(await sentinelCommand(port, ["INFO", section], tls));
  } catch {
    return "";
  }
}

/** Resolves with the first message on `channel` of the Redis (or sentinel) at `port`. */
export async function nextMessage(
  port: number,
  channel: string,
  tls?: RedisTls,
): Promise<{ message: Promise<string>; close: () => void }> {
  const client = clientFor(port, tls);
  client.on("error", () => {});
  await client.connect();
  let resolve!: (message: string) => void;
  const message = new Promise<string>((r) => resolve = r);
  await client.subscribe(channel, (text) => resolve(text));
  return { message, close: () => client.destroy() };
}

/** PEM files of a CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface Certificates {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed none of these. */
  otherCaFile: string;
  /** The PEM text of the client side (CA, client certificate and key). */
  client: RedisTls;
  dispose(): void;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** Makes the certificates with openssl (RSA 2048, valid a day). */
export async function makeCertificates(): Promise<Certificates> {
  const dir = mkdtempSync(join(tmpdir(), "docket-tls-"));
  const ca = async (name: string) => {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
    ], dir);
  };
  const signed = async (name: string, extensions: string) => {
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ], dir);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    ], dir);
  };
  await ca("ca");
  await ca("other-ca");
  await signed(
    "server",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await signed("client", "extendedKeyUsage=clientAuth\n");
  const read = (file: string) => Deno.readTextFileSync(join(dir, file));
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
    otherCaFile: join(dir, "other-ca.pem"),
    client: { ca: read("ca.pem"), cert: read("client.pem"), key: read("client.key") },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A TLS-only redis-server that requires client certificates signed by the CA. */
export async function startTlsRedis(certs: Certificates, extra: string[] = []): Promise<Spawned> {
  const port = await freePort();
  return await spawnRedis(port, [...tlsArgs(port, certs), ...PLAIN, ...extra], {
    tls: certs.client,
  });
}

/** A plain redis-server on a free port with extra arguments. */
export async function startRedisWith(extra: string[]): Promise<Spawned> {
  const port = await freePort();
  return await spawnRedis(port, ["--port", String(port), ...PLAIN, ...extra]);
}
