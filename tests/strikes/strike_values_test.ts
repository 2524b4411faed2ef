/**
 * Bad strike values are refused with an error naming the problem (nothing is sent), values are
 * capped in size and cut short in logs, and the strike stream is compacted to the strikes in
 * effect, on every backend.
 */

import assert from "node:assert/strict";
import { Docket, type StrikeInstruction, task, Worker } from "../../mod.ts";
import { StrikeSet } from "../../src/strikes/strike_set.ts";
import { MAX_STRIKE_VALUE_BYTES } from "../../src/strikes/instruction.ts";
import { StrikeList } from "../../src/strikes/strike_list.ts";
import { decodeValue } from "../../src/codec.ts";
import { BACKENDS, connectDocket, FAST, LogCapture, waitUntil } from "../_harness.ts";

/** Every entry on the strike stream, decoded. */
async function streamEntries(docket: Docket): Promise<Record<string, unknown>[]> {
  const entries: Record<string, unknown>[] = [];
  let after = "0-0";
  for (;;) {
    const batch = await docket.backend.readStrikes(after, 0);
    for (const { id, instruction } of batch) {
      entries.push(decodeValue(instruction) as Record<string, unknown>);
      after = id;
    }
    if (batch.length < 100) return entries;
  }
}

/** The strikes in effect, rendered and sorted, for comparing two dockets. */
function inEffect(docket: Docket): string[] {
  const set = docket.strikeList.strikes;
  return set.entries().map((s) => set.describe(s)).sort();
}

for (const kind of BACKENDS) {
  const refused: [string, string, unknown, RegExp][] = [
    ["a bigint above 64 bits", "==", 2n ** 70n, /bigint outside the 64-bit range/],
    ["a bigint bound below -2^63", "between", [-(2n ** 64n), 0n], /value\[0\] is a bigint/],
    [
      "an own __proto__ key",
      "==",
      JSON.parse('{"__proto__":{"admin":true}}'),
      /own "__proto__" key/,
    ],
    ["an invalid Date", ">", new Date("nope"), /invalid Date/],
    ["NaN", "==", NaN, /NaN/],
    ["NaN with an ordering operator", ">", NaN, /NaN/],
    ["NaN inside a list", "==", [1, NaN], /value\[1\] is NaN/],
    ["a value nested too deep", "==", JSON.parse("[".repeat(200) + "]".repeat(200)), /deeper/],
  ];
  for (const [what, op, value, message] of refused) {
    Deno.test(`strike refuses ${what} and sends nothing [${kind}]`, async () => {
      await using docket = await connectDocket(kind);
      await assert.rejects(() => docket.strike("job", "n", op, value), message);
      assert.deepEqual(await streamEntries(docket), []);
      assert.equal(docket.strikeList.strikes.size, 0);
    });
  }

  Deno.test(`strike refuses a value over the size cap [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const big = "x".repeat(MAX_STRIKE_VALUE_BYTES + 1);
    await assert.rejects(
      () => docket.strike("job", "n", "==", big),
      (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, new RegExp(`at most ${MAX_STRIKE_VALUE_BYTES}`));
        assert.ok(error.message.length < 600, "the message does not carry the value");
        return true;
      },
    );
    assert.deepEqual(await streamEntries(docket), []);
  });

  Deno.test(`a strike at n == 0 does not strike a 2^64 payload [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const ran: unknown[] = [];
    const job = task({ name: "job", run: ({ n }: { n: bigint }) => void ran.push(n) });
    docket.register(job);
    await docket.strike(job, "n", "==", 0n);
    await docket.add(job)({ n: 2n ** 64n - 1n });
    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(ran, [2n ** 64n - 1n]);
  });

  Deno.test(`a long strike value is cut short in the mismatch log [${kind}]`, async () => {
    const logs = new LogCapture();
    await using docket = await connectDocket(kind, { logger: logs.logger });
    const job = task({ name: "job", run: () => {} });
    docket.register(job);
    const long = "v".repeat(MAX_STRIKE_VALUE_BYTES - 100);
    await docket.strike(job, "n", ">", long);
    // A number compared with a string strike: not applied, and said so in the log.
    await docket.add(job)({ n: 5 });
    await new Worker(docket, FAST).runUntilFinished();
    const warning = logs.records.find((r) => String(r.msg).includes("not applied"));
    assert.ok(warning, "the mismatch is logged");
    assert.ok(String(warning.msg).length < 500, `logged ${String(warning.msg).length} chars`);
    assert.match(String(warning.msg), /… \(\d+ characters\)/);
    for (const line of logs.lines) assert.ok(line.length < 2_000, "no log line carries it all");
  });

  Deno.test(`the strike stream is compacted to the strikes in effect [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    // A docket following the stream with a blocking read all along.
    await using follower = await Docket.connect({
      name: docket.name,
      url: docket.url,
      logger: new LogCapture().logger,
    });
    const compacting = await Docket.connect({
      name: docket.name,
      url: docket.url,
      logger: new LogCapture().logger,
    });
    const compactor = new StrikeList(compacting.backend, new LogCapture().logger, {
      compactAfter: 20,
    });
    await compactor.load();
    try {
      for (let i = 0; i < 30; i++) await docket.strike(`task_${i}`);
      for (let i = 0; i < 30; i += 2) await docket.restore(`task_${i}`);
      await docket.strike(null, "customerId", "==", "1001");
      const expected = inEffect(docket);
      assert.equal(expected.length, 16);

      await waitUntil(async () => (await streamEntries(docket)).length < 20, 20_000, "compaction");
      // History was replaced by a snapshot (taken whenever the stream grew past 20 entries);
      // replaying what is left gives the strikes in effect.
      const entries = await streamEntries(docket);
      assert.equal(entries[0].direction, "snapshot");
      const replayed = new StrikeSet();
      for (const entry of entries) {
        if (entry.direction === "snapshot") {
          for (const s of replayed.entries()) replayed.apply({ ...s, direction: "restore" });
          for (const s of entry.strikes as StrikeInstruction[]) replayed.apply(s);
        } else {
          replayed.apply(entry as unknown as StrikeInstruction);
        }
      }
      assert.deepEqual(replayed.entries().map((s) => replayed.describe(s)).sort(), expected);

      // The follower ends with the same set, and so does a docket connecting now.
      const marker = new Promise<void>((resolve) => {
        const stop = follower.strikeList.onChange((s) => {
          if (s.task === "marker") {
            stop();
            resolve();
          }
        });
      });
      await docket.strike("marker");
      await marker;
      const withMarker = [...expected, "marker"].sort();
      assert.deepEqual(inEffect(follower), withMarker);
      await using late = await Docket.connect({
        name: docket.name,
        url: docket.url,
        logger: new LogCapture().logger,
      });
      assert.deepEqual(inEffect(late), withMarker);
      await waitUntil(
        () =>
          compactor.strikes.has({
            direction: "strike",
            task: "marker",
            param: null,
            op: "==",
          }),
        20_000,
        "the compactor to see the marker",
      );
      assert.deepEqual(
        compactor.strikes.entries().map((s) => compactor.strikes.describe(s)).sort(),
        withMarker,
      );
    } finally {
      // Closing the store ends the compactor's blocking read, so it stops at once.
      const stopped = compactor.stop();
      await compacting[Symbol.asyncDispose]();
      await stopped;
    }
  });
}
