/**
 * Bad input at `add`: values MessagePack cannot carry faithfully are refused with an error naming
 * the field, and nothing is written. Errors thrown by tasks are recorded even when a field is
 * nested too deep, and rebuilt from their own data only.
 */

import assert from "node:assert/strict";
import { ExecutionState, SerializationError, task, Worker } from "../mod.ts";
import { fromErrorRecord, MAX_NESTING, toErrorRecord } from "../src/codec.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";

/** `{ a: { a: … } }`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

for (const kind of BACKENDS) {
  const refused: [string, () => Record<string, unknown>, RegExp][] = [
    ["a bigint above 64 bits", () => ({ n: 2n ** 70n }), /payload\.n is a bigint outside/],
    ["a bigint below -2^63", () => ({ list: [-(2n ** 63n) - 1n] }), /payload\.list\[0\]/],
    [
      "an own __proto__ key from JSON.parse",
      () => JSON.parse('{"user":{"__proto__":{"admin":true}}}'),
      /payload\.user has an own "__proto__" key/,
    ],
    ["an invalid Date", () => ({ at: new Date("not a date") }), /payload\.at is an invalid Date/],
    [
      "a payload nested deeper than the codec carries",
      () => ({ deep: nested(100_000) }),
      new RegExp(`nested deeper than ${MAX_NESTING} levels`),
    ],
  ];
  for (const [what, payload, message] of refused) {
    Deno.test(`add refuses ${what}, naming the field, and writes nothing [${kind}]`, async () => {
      await using docket = await connectDocket(kind);
      const job = task({ name: "job", run: () => {} });
      docket.register(job);
      await assert.rejects(
        () => docket.add(job, { key: "k" })(payload()),
        (error: unknown) => {
          assert.ok(error instanceof SerializationError, `got ${error}`);
          assert.match((error as Error).message, message);
          return true;
        },
      );
      assert.equal(await docket.getExecution("k"), null);
      assert.deepEqual(await docket.backend.counts(), { stream: 0, queue: 0 });
    });
  }

  Deno.test(`the 64-bit extremes and 99 levels of nesting travel intact [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const seen: unknown[] = [];
    const job = task({
      name: "job",
      run: (payload: Record<string, unknown>) => void seen.push(payload),
    });
    docket.register(job);
    const payload = { hi: 2n ** 64n - 1n, lo: -(2n ** 63n), deep: nested(MAX_NESTING - 1) };
    await docket.add(job)(payload);
    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(seen, [payload]);
  });

  Deno.test(`an error with a very deep field is recorded, the field truncated [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    let runs = 0;
    const job = task({
      name: "deep_error",
      run() {
        runs++;
        throw Object.assign(new Error("deep trouble"), { detail: nested(100_000), code: 7 });
      },
    });
    docket.register(job);
    const execution = await docket.add(job)({});
    await new Worker(docket, { ...FAST, redeliveryTimeout: 300 }).runUntilFinished();
    assert.equal(runs, 1);
    await execution.sync();
    assert.equal(execution.state, ExecutionState.FAILED);
    const error = await execution.getResult().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.equal(error.message, "deep trouble");
    const fields = error as unknown as { code: number; detail: Record<string, unknown> };
    assert.equal(fields.code, 7);
    let depth = 0;
    let at: unknown = fields.detail;
    while (at !== null && typeof at === "object") {
      at = (at as Record<string, unknown>).a;
      depth++;
    }
    assert.match(String(at), /^\[truncated: nested deeper than 100 levels\]$/);
    assert.ok(depth > 90 && depth < MAX_NESTING, `kept ${depth} levels`);
  });

  for (const name of ["constructor", "hasOwnProperty", "toString", "__proto__"]) {
    Deno.test(`an error named ${name} comes back as an Error with that name [${kind}]`, async () => {
      await using docket = await connectDocket(kind);
      const job = task({
        name: "odd_error",
        run() {
          const error = new Error("odd");
          Object.defineProperty(error, "name", { value: name });
          throw error;
        },
      });
      docket.register(job);
      const execution = await docket.add(job)({});
      await new Worker(docket, FAST).runUntilFinished();
      const error = await execution.getResult().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof Error, `got ${Object.prototype.toString.call(error)}`);
      assert.equal(Object.getPrototypeOf(error), Error.prototype);
      assert.equal(error.name, name);
      assert.equal(error.message, "odd");
    });
  }
}

Deno.test("fromErrorRecord reads own data only", () => {
  const record = JSON.parse(
    '{"name":"constructor","message":"m","fields":{"__proto__":{"polluted":true},"code":"E1"}}',
  );
  const error = fromErrorRecord(record);
  assert.equal(Object.getPrototypeOf(error), Error.prototype);
  assert.equal(error.name, "constructor");
  assert.equal((error as unknown as { code: string }).code, "E1");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((error as unknown as Record<string, unknown>).polluted, undefined);
  assert.ok(fromErrorRecord({ name: "RangeError", message: "r" }) instanceof RangeError);
});

Deno.test("toErrorRecord drops a field that is not data and keeps the rest", () => {
  const error = Object.assign(new Error("x"), { fn: () => 1, ok: [1, 2] });
  assert.deepEqual(toErrorRecord(error).fields, { ok: [1, 2] });
});
