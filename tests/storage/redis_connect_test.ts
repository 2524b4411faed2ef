/**
 * Connecting to Redis: reading URLs (standalone, cluster, sentinel), passwords kept out of every
 * message whatever they hold, the eviction warning, and a client the caller brings.
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import { ConnectionError, Docket, task, Worker } from "../../mod.ts";
import { parseRedisUrl, redactUrl } from "../../src/storage/redis/url.ts";
import { FAST, LogCapture, redisUrl, uniqueName } from "../_harness.ts";
import { type Spawned, startRedisWith } from "../_servers.ts";
import { runCli } from "../cli/_cli.ts";

const PASSWORD = "s3/cr@t%:p w";

Deno.test("URLs: standalone, cluster and sentinel forms are read, bad ones named", () => {
  assert.deepEqual(parseRedisUrl("redis://localhost:6380/2"), {
    kind: "standalone",
    tls: false,
    username: undefined,
    password: undefined,
    node: { host: "localhost", port: 6380 },
    database: 2,
  });
  const sentinel = parseRedisUrl(
    "rediss+sentinel://app:pw@h1:26380,h2,[::1]:26381/mymaster/3?sentinel_password=x",
  );
  assert.deepEqual(sentinel, {
    kind: "sentinel",
    tls: true,
    username: "app",
    password: "pw",
    sentinels: [{ host: "h1", port: 26380 }, { host: "h2", port: 26379 }, {
      host: "::1",
      port: 26381,
    }],
    master: "mymaster",
    database: 3,
    sentinelUsername: undefined,
    sentinelPassword: "x",
  });
  assert.equal(parseRedisUrl("redis+cluster://n1:7000").kind, "cluster");
  // A password may hold any character, raw or percent-encoded.
  for (
    const url of [
      `redis://app:${PASSWORD}@h:1/0`,
      `redis://app:${encodeURIComponent(PASSWORD)}@h:1/0`,
    ]
  ) {
    const parsed = parseRedisUrl(url);
    assert.equal(parsed.password, PASSWORD);
    assert.equal(parsed.kind === "standalone" && parsed.node.host, "h");
  }
  assert.throws(() => parseRedisUrl("redis+sentinel://h1,h2"), /master name is missing/);
  assert.throws(() => parseRedisUrl("redis+sentinel:///m"), /no sentinel host/);
  assert.throws(() => parseRedisUrl("redis://h/x"), /database must be a number/);
  assert.throws(() => parseRedisUrl("redis+cluster://h/1"), /only database 0/);
  assert.throws(() => parseRedisUrl("ftp://h"), /unsupported URL scheme "ftp:"/);
  assert.equal(redactUrl(`redis://app:${PASSWORD}@h:1/0`), "redis://app:***@h:1/0");
});

function assertNoSecret(text: string, what: string): void {
  for (const piece of [PASSWORD, encodeURIComponent(PASSWORD), "s3/cr", "t%:p"]) {
    assert.ok(!text.includes(piece), `${what} shows the password: ${text}`);
  }
}

Deno.test("a password never appears in connection errors, logs or CLI errors", async () => {
  let server: Spawned | undefined;
  try {
    server = await startRedisWith(["--requirepass", "the-right-one"]);
    const port = server.port;
    const urls = [
      `redis://app:${PASSWORD}@127.0.0.1:${port}/0`, // wrong password, raw characters
      `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/0`, // encoded
      `redis://app:${PASSWORD}@127.0.0.1:1/0`, // nothing listens
      `redis+sentinel://app:${PASSWORD}@127.0.0.1:1/m?sentinel_password=${
        encodeURIComponent(PASSWORD)
      }`,
      `redis://app:${PASSWORD}@bad host/0`, // malformed
    ];
    for (const url of urls) {
      const capture = new LogCapture();
      const error = await Docket.connect({ url, name: uniqueName(), logger: capture.logger })
        .then(() => undefined, (e) => e as Error);
      assert.ok(error, `${url} connected`);
      assert.ok(error instanceof ConnectionError || error instanceof TypeError, String(error));
      assertNoSecret(`${error.message}\n${error.stack}\n${capture.text()}`, "the error");
      assert.match(error.message, /\*\*\*|cannot reach|not a valid/);
    }
    const cli = await runCli("deno", ["snapshot", "--url", urls[0]]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /cannot reach Redis/);
    assertNoSecret(cli.stderr + cli.stdout, "the CLI");
    const env = await runCli("deno", ["snapshot"], { DOCKET_URL: urls[4] });
    assert.equal(env.code, 2);
    assertNoSecret(env.stderr + env.stdout, "the CLI (DOCKET_URL)");
  } finally {
    await server?.kill();
  }
});

Deno.test("a password with / @ % : in it connects, raw or encoded", async () => {
  let server: Spawned | undefined;
  try {
    server = await startRedisWith(["--requirepass", PASSWORD]);
    for (const password of [PASSWORD, encodeURIComponent(PASSWORD)]) {
      const url = `redis://default:${password}@127.0.0.1:${server.port}/0`;
      await using docket = await Docket.connect({ url, name: uniqueName() });
      const execution = await docket.add("trace")({ message: "hi" });
      assert.equal((await docket.getExecution(execution.key))?.key, execution.key);
    }
  } finally {
    await server?.kill();
  }
});

Deno.test("a Redis that may evict keys gets one warning at connect; noeviction none", async () => {
  let evicting: Spawned | undefined;
  try {
    evicting = await startRedisWith(["--maxmemory-policy", "allkeys-lru"]);
    const warned = new LogCapture();
    await (await Docket.connect({
      url: `redis://127.0.0.1:${evicting.port}/0`,
      name: uniqueName(),
      logger: warned.logger,
    })).close();
    const warnings = warned.records.filter((r) => /maxmemory-policy/.test(String(r.msg)));
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0].msg), /"allkeys-lru".*evict.*lose tasks.*noeviction/);
    assert.equal(warnings[0].level, 40);

    const quiet = new LogCapture();
    await (await Docket.connect({
      url: await redisUrl(),
      name: uniqueName(),
      logger: quiet.logger,
    }))
      .close();
    assert.equal(quiet.records.filter((r) => /maxmemory/.test(String(r.msg))).length, 0);
  } finally {
    await evicting?.kill();
  }
});

for (const RESP of [2, 3] as const) {
  Deno.test(`a client the caller brings is used and left open; derived connections close [RESP${RESP}]`, async () => {
    const url = await redisUrl();
    const client = createClient({ url, RESP });
    await client.connect();
    const clientCount = async () =>
      String(await client.sendCommand(["CLIENT", "LIST"])).trim().split("\n").length;
    try {
      const before = await clientCount();
      const docket = await Docket.connect({
        redis: client,
        name: uniqueName(),
        logger: new LogCapture().logger,
      });
      const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
      docket.register(double);
      const execution = await docket.add(double)({ n: 21 });
      const events: string[] = [];
      const watching = (async () => {
        for await (const event of execution.subscribe()) {
          if (event.type === "state") events.push(event.state);
          if (event.type === "state" && event.state === "completed") break;
        }
      })();
      await new Worker(docket, FAST).runUntilFinished();
      assert.equal(await execution.getResult({ timeout: { seconds: 30 } }), 42);
      await watching;
      assert.ok(events.includes("completed"));
      assert.ok(await clientCount() > before, "the docket opened its own reader and subscriber");
      await docket.close();
      assert.ok(client.isOpen, "the caller's client stays open");
      assert.equal(await client.sendCommand(["PING"]), "PONG");
      assert.equal(await clientCount(), before, "every connection the docket derived is closed");
    } finally {
      await client.close();
    }
  });
}

Deno.test("something that is not a node-redis client is refused, clearly", async () => {
  await assert.rejects(Docket.connect({ redis: {}, name: uniqueName() }), /node-redis client/);
});
