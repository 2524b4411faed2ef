/**
 * A fuzz test of the worker: random stream entries, runs and parked hashes (and keys of the
 * wrong type where those belong), strike entries and payloads are written straight into a
 * docket's keys, between ordinary tasks. Whatever they hold, the worker keeps going and every
 * ordinary task completes. Seeded and reproducible: the seed is printed, and
 * `DOCKET_FUZZ_SEED=<seed>` runs that case again.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { type Docket, encodeValue, task, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";

const ordinary = task({ name: "ordinary", run: ({ n }: { n: number }) => n });

/** Keys the fuzzed entries aim at: a few, so records and messages meet. */
const taskKey = fc.constantFrom("k1", "k2", "k3", "poison", "", "a:b", "\u0000x");
const bytes = fc.uint8Array({ maxLength: 40 });
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom("0", "1", "-1", "1e999", "NaN", "", "9007199254740993", "x"),
);
/** A payload that decodes (of any shape) or one that does not. */
const payload = fc.oneof(
  // An own "__proto__" key is refused by the codec before anything is sent: not a payload.
  fc.jsonValue().filter((value) => !JSON.stringify(value ?? null).includes('"__proto__":'))
    .map((value) => Buffer.from(encodeValue(value as never, "payload"))),
  bytes.map((b) => Buffer.from(b)),
);
const field = fc.oneof(
  fc.constantFrom("k", "t", "d", "w", "a", "g", "x", "state", "gen"),
  fc.string({ maxLength: 3 }),
);

/** One thing planted in the docket's keys. */
type Plant =
  | { kind: "entry"; fields: [string, string | Buffer][] }
  | { kind: "message"; key: string; task: string; data: Buffer; generation: string }
  | { kind: "runs"; key: string; fields: [string, string][] }
  | { kind: "wrong-type"; key: string; where: "runs" | "parked" | "progress" }
  | { kind: "parked"; key: string; fields: [string, string | Buffer][]; due: boolean }
  | { kind: "strike"; instruction: Buffer };

const plant: fc.Arbitrary<Plant> = fc.oneof(
  fc.record({
    kind: fc.constant("entry" as const),
    fields: fc.array(fc.tuple(field, fc.oneof(fc.string(), payload)), { maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("message" as const),
    key: taskKey,
    task: fc.constantFrom("ordinary", "unknown", "trace", "fail", ""),
    data: payload,
    generation: fc.constantFrom("0", "1", "2", "-3", "99999999999"),
  }),
  fc.record({
    kind: fc.constant("runs" as const),
    key: taskKey,
    fields: fc.array(
      fc.tuple(
        fc.constantFrom("state", "gen", "when", "task", "data", "holders", "sid", "junk"),
        fc.oneof(fc.constantFrom("queued", "running", "scheduled", "failed"), numberText),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  }),
  fc.record({
    kind: fc.constant("wrong-type" as const),
    key: taskKey,
    where: fc.constantFrom("runs" as const, "parked" as const, "progress" as const),
  }),
  fc.record({
    kind: fc.constant("parked" as const),
    key: taskKey,
    fields: fc.array(fc.tuple(field, fc.oneof(numberText, payload)), { maxLength: 8 }),
    due: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("strike" as const), instruction: payload }),
);

async function apply(docket: Docket, client: any, planted: Plant): Promise<void> {
  const keys = docket.keys;
  const send = (args: (string | Buffer)[]) => client.sendCommand(args);
  switch (planted.kind) {
    case "entry":
      if (planted.fields.length === 0) return;
      await send(["XADD", keys.stream, "*", ...planted.fields.flat()]);
      return;
    case "message":
      await send([
        "XADD",
        keys.stream,
        "*",
        "k",
        planted.key,
        "t",
        planted.task,
        "d",
        planted.data,
        "w",
        String(Date.now()),
        "a",
        "1",
        "g",
        planted.generation,
      ]);
      return;
    case "runs":
      await send(["DEL", keys.runs(planted.key)]);
      await send(["HSET", keys.runs(planted.key), ...planted.fields.flat()]);
      return;
    case "wrong-type": {
      const where = planted.where === "runs"
        ? keys.runs(planted.key)
        : planted.where === "parked"
        ? keys.parked(planted.key)
        : keys.progress(planted.key);
      await send(["DEL", where]);
      await send(["SET", where, "x"]);
      if (planted.where === "parked") await send(["ZADD", keys.queue, "0", planted.key]);
      return;
    }
    case "parked":
      await send(["DEL", keys.parked(planted.key)]);
      if (planted.fields.length > 0) {
        await send(["HSET", keys.parked(planted.key), ...planted.fields.flat()]);
      }
      await send([
        "ZADD",
        keys.queue,
        planted.due ? "0" : String(Date.now() + 600_000),
        planted.key,
      ]);
      return;
    case "strike":
      await send(["XADD", keys.strikes, "*", "i", planted.instruction]);
      return;
  }
}

const seed = Number(Deno.env.get("DOCKET_FUZZ_SEED") ?? Date.now() % 2 ** 31);

Deno.test(`fuzz: the worker keeps going through random keys and entries (seed ${seed}) [redis]`, async () => {
  console.log(`fuzz seed ${seed} (DOCKET_FUZZ_SEED=${seed} reruns it)`);
  await fc.assert(
    fc.asyncProperty(fc.array(plant, { minLength: 5, maxLength: 40 }), async (plants) => {
      const logs = new LogCapture();
      await using docket = await connectDocket("redis", { logger: logs.logger });
      docket.register(ordinary);
      const client = await (docket.backend as unknown as { client(): Promise<any> }).client();
      const half = Math.ceil(plants.length / 2);
      const executions = await docket.addMany(ordinary)(
        Array.from({ length: 10 }, (_, n) => ({ n })),
      );
      for (const planted of plants.slice(0, half)) await apply(docket, client, planted);
      const worker = new Worker(docket, { ...FAST, concurrency: 4, redeliveryTimeout: 300 });
      let stopped = false;
      const running = worker.runForever().finally(() => (stopped = true));
      try {
        for (const planted of plants.slice(half)) await apply(docket, client, planted);
        executions.push(
          ...await docket.addMany(ordinary)(Array.from({ length: 10 }, (_, n) => ({ n: 10 + n }))),
          // Due a moment later: these go through the queue and the move-due step.
          ...await docket.addMany(ordinary, { when: new Date(Date.now() + 50) })(
            Array.from({ length: 5 }, (_, n) => ({ n: 20 + n })),
          ),
        );
        for (const [n, execution] of executions.entries()) {
          assert.equal(await execution.getResult({ timeout: 20_000 }), n);
        }
        assert.equal(stopped, false, "the worker is still running");
      } finally {
        await worker.stop();
        await running;
      }
    }),
    { seed, numRuns: 25, endOnFailure: true },
  );
});
