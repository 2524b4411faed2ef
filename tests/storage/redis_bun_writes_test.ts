/**
 * node-redis on Bun (src/storage/redis/bun_writes.ts): a pipelined batch reaches the socket in a
 * few writes instead of one per chunk, in order, across a reconnect; tracing runs only for a
 * listener. Counted, not timed.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { coalesceCommands, GROUP_BYTES } from "../../src/storage/redis/bun_writes.ts";
import { bunCommand, NO_RESOLVE, redisUrl } from "../_harness.ts";
import { makeCertificates, startSentinelSet, startTlsRedis } from "../_servers.ts";
import { ROOT } from "../cli/_cli.ts";

const PROBE = join(ROOT, "tests", "fixtures", "bun_writes_probe.ts");

async function probe(command: string[], url?: string, tlsFile?: string) {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, {
    args: [...args, PROBE, url ?? await redisUrl(), ...(tlsFile ? [tlsFile] : [])],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text + new TextDecoder().decode(output.stderr));
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

/** The bytes `chunks` put on the wire. */
function wire(chunks: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    chunks.map((chunk) => typeof chunk === "string" ? Buffer.from(chunk) : chunk),
  );
}

Deno.test("coalescing: the same bytes in the same order, in groups, pulled only as needed", () => {
  const big = Buffer.alloc(10_000, 1);
  const commands = Array.from(
    { length: 500 },
    (_, i) =>
      i % 50 === 0
        ? [`*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$${big.length}\r\n`, big, "\r\n"]
        : [`*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$3\r\n`, Buffer.from("é" + i).subarray(0, 3), "\r\n"],
  );
  const groups = [...coalesceCommands(commands)];
  assert.deepEqual(wire(groups.flat()), wire(commands.flat()));
  const total = wire(commands.flat()).length;
  assert.ok(groups.length <= Math.ceil(total / GROUP_BYTES) + 1, `${groups.length} groups`);
  // A large Buffer argument is passed on uncopied.
  assert.ok(groups.flat().includes(big));

  // Pulling one group takes only the commands in it: a consumer that stops has written all it took.
  let pulled = 0;
  const source = (function* () {
    for (const command of commands) {
      pulled++;
      yield command;
    }
  })();
  const lazy = coalesceCommands(source);
  const first = lazy.next().value as (string | Buffer)[];
  assert.deepEqual(wire(first), wire(commands.slice(0, pulled).flat()));
  assert.ok(pulled < commands.length);
  lazy.return();
});

Deno.test("coalescing: strings only join into one string", () => {
  const groups = [...coalesceCommands([["*1\r\n$4\r\nPING\r\n"], ["*1\r\n$4\r\nPING\r\n"]])];
  assert.deepEqual(groups, [["*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"]]);
  assert.deepEqual([...coalesceCommands([])], []);
});

Deno.test("on Bun, a pipelined batch goes out in few writes, in order, across a reconnect", async () => {
  const bun = await probe([...bunCommand(), "run"]);
  assert.equal(bun.runtime, "bun");
  assert.equal(
    bun.coalesced,
    true,
    "node-redis's socket no longer has the shape bun_writes.ts knows",
  );
  // 1,000 commands of 3 chunks each, ~1.1 MB: node-redis alone calls socket.write() 3,000 times.
  assert.ok(bun.firstBatchWrites <= 40, `${bun.firstBatchWrites} writes`);
  assert.ok(bun.secondBatchWrites <= 40, `${bun.secondBatchWrites} writes after reconnecting`);
  assert.equal(bun.firstInOrder, true);
  assert.equal(bun.secondInOrder, true);
  assert.equal(bun.idleHasSubscribers, false);
  assert.deepEqual(bun.traced, ["PING"]);

  // Deno is left as it was: node-redis's own writes, one per chunk, which Deno gathers itself.
  const deno = await probe([Deno.execPath(), "run", "-A", ...NO_RESOLVE]);
  assert.equal(deno.coalesced, false);
  assert.equal(deno.firstBatchWrites, 3_000);
  assert.equal(deno.firstInOrder && deno.secondInOrder, true);
  assert.deepEqual(deno.traced, ["PING"]);
});

/** What every Bun probe must have seen, whatever the connection. */
function assertCoalescedInOrder(bun: Record<string, unknown>) {
  assert.equal(bun.coalesced, true);
  assert.ok((bun.firstBatchWrites as number) <= 40, `${bun.firstBatchWrites} writes`);
  assert.ok((bun.secondBatchWrites as number) <= 40, `${bun.secondBatchWrites} writes`);
  assert.equal(bun.firstInOrder, true);
  assert.equal(bun.secondInOrder, true);
}

Deno.test("on Bun, coalesced writes over TLS with client certificates, across a reconnect", async () => {
  const certs = await makeCertificates();
  const server = await startTlsRedis(certs);
  const tlsFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(tlsFile, JSON.stringify(certs.client));
    const url = `rediss://localhost:${server.port}/0`;
    assertCoalescedInOrder(await probe([...bunCommand(), "run"], url, tlsFile));
  } finally {
    await Deno.remove(tlsFile);
    await server.kill();
    certs.dispose();
  }
});

Deno.test("on Bun, coalesced writes through Sentinel, across a reconnect", async () => {
  const set = await startSentinelSet();
  try {
    const bun = await probe([...bunCommand(), "run"], set.sentinelUrl);
    // Through Sentinel, the first command after a server-side kill can be caught by the dead
    // connection and sent again behind the rest of its batch (sentinel.ts); Deno, whose writes
    // are node-redis's own, does the same. So here: every command arrives, batches coalesced.
    if (!bun.secondInOrder) {
      const lost = (bun.mismatches as string[]).filter((line) => line.includes("items, not"));
      assert.deepEqual(lost, [], "a command was lost, not just sent again");
      bun.secondInOrder = true;
    }
    assertCoalescedInOrder(bun);
  } finally {
    await set.dispose();
  }
});
