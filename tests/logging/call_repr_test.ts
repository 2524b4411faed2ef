import assert from "node:assert/strict";
import { formatCall } from "../../src/logging/call_repr.ts";

Deno.test("formatCall: seed example with a hidden credit card", () => {
  const secret = "4111111111111111";
  const out = formatCall(
    "process_payment",
    { customerId: "12345", creditCard: secret, amount: 150 },
    { customerId: true, amount: true },
  );
  assert.equal(out, "process_payment(customerId='12345', creditCard=..., amount=150)");
  assert.ok(!out.includes(secret));
  assert.ok(!out.includes("4111"));
});

Deno.test("formatCall: seed example with length-only arguments", () => {
  const userIds = Array.from({ length: 150 }, (_, i) => i);
  const metadata = { a: 1, b: 2, c: 3, d: 4, e: 5 };
  const options = new Set(["x", "y", "z"]);
  const out = formatCall(
    "bulk_update_users",
    { userIds, metadata, options },
    { userIds: "length", metadata: "length", options: "length" },
  );
  assert.equal(out, "bulk_update_users(userIds=[len 150], metadata={len 5}, options={len 3})");
});

Deno.test("formatCall: length of strings, typed arrays, maps and class instances", () => {
  class Point {
    x = 1;
    y = 2;
  }
  const spec = { s: "length", t: "length", m: "length", p: "length", n: "length" } as const;
  const out = formatCall("fn", {
    s: "hello",
    t: new Uint8Array(7),
    m: new Map([[1, 2], [3, 4]]),
    p: new Point(),
    n: 42,
  }, spec);
  assert.equal(out, "fn(s=[len 5], t=[len 7], m={len 2}, p={len 2}, n=...)");
  // "length" never reveals the string itself
  assert.ok(!formatCall("fn", { s: "topsecret" }, { s: "length" }).includes("topsecret"));
});

Deno.test("formatCall: no payload and empty payload", () => {
  assert.equal(formatCall("fn", undefined), "fn()");
  assert.equal(formatCall("fn", {}), "fn()");
  assert.equal(formatCall("fn", undefined, undefined, "k1"), "fn(){k1}");
});

Deno.test("formatCall: every argument hidden when logged is undefined", () => {
  const out = formatCall("fn", { password: "hunter2", token: 123456789 });
  assert.equal(out, "fn(password=..., token=...)");
  assert.ok(!out.includes("hunter2"));
  assert.ok(!out.includes("123456789"));
});

Deno.test("formatCall: key suffix", () => {
  assert.equal(formatCall("fn", { a: 1 }, undefined, "order-1"), "fn(a=...){order-1}");
  assert.equal(formatCall("fn", { a: 1 }, { a: true }, "order-1"), "fn(a=1){order-1}");
});

Deno.test("formatCall: keys keep payload order", () => {
  const out = formatCall("fn", { z: 1, a: 2, m: 3 }, { z: true, a: true, m: true });
  assert.equal(out, "fn(z=1, a=2, m=3)");
});

Deno.test("formatCall: scalars", () => {
  const date = new Date("2024-05-06T07:08:09.010Z");
  const out = formatCall(
    "fn",
    { n: -1.5, t: true, f: false, nul: null, big: 12345678901234567890n, d: date, u: undefined },
    { n: true, t: true, f: true, nul: true, big: true, d: true, u: true },
  );
  assert.equal(
    out,
    "fn(n=-1.5, t=true, f=false, nul=null, big=12345678901234567890n, " +
      "d='2024-05-06T07:08:09.010Z', u=undefined)",
  );
});

Deno.test("formatCall: strings are single-quoted and escaped", () => {
  const out = formatCall("fn", { s: "it's a \\ path\nnext" }, { s: true });
  assert.equal(out, "fn(s='it\\'s a \\\\ path\\nnext')");
});

Deno.test("formatCall: arrays and objects are compact and truncated", () => {
  assert.equal(formatCall("fn", { a: [1, "x", null] }, { a: true }), "fn(a=[1, 'x', null])");
  assert.equal(
    formatCall("fn", { o: { k: 1, "odd key": [true] } }, { o: true }),
    "fn(o={k: 1, 'odd key': [true]})",
  );
  const big = Array.from({ length: 10_000 }, (_, i) => i);
  const out = formatCall("fn", { big }, { big: true });
  const rendered = out.slice("fn(big=".length, -1);
  assert.ok(rendered.startsWith("[0, 1, 2, 3"));
  assert.ok(rendered.endsWith("…"), rendered);
  assert.ok(rendered.length <= 81, `${rendered.length}`);
  const long = "a".repeat(500);
  const longOut = formatCall("fn", { long }, { long: true });
  assert.ok(longOut.length < 100, longOut);
  assert.ok(longOut.includes("…"));
});

Deno.test("formatCall: maps, sets and nested values", () => {
  const out = formatCall(
    "fn",
    { m: new Map([["a", 1]]), s: new Set([1, 2]), deep: { a: { b: { c: { d: 1 } } } } },
    { m: true, s: true, deep: true },
  );
  assert.equal(out, "fn(m=Map{'a': 1}, s=Set{1, 2}, deep={a: {b: {c: {len 1}}}})");
});

Deno.test("formatCall: never throws on odd values", () => {
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const throwing = {
    get boom(): never {
      throw new Error("getter exploded");
    },
  };
  const payload: Record<string, unknown> = {
    cyclic,
    throwing,
    sym: Symbol("tag"),
    fn: function handler() {},
    nullProto: Object.assign(Object.create(null), { a: 1 }),
    invalidDate: new Date(NaN),
  };
  Object.defineProperty(payload, "getter", {
    enumerable: true,
    get() {
      throw new Error("payload getter exploded");
    },
  });
  const all = Object.fromEntries(Object.keys(payload).map((k) => [k, true as const]));
  const out = formatCall("fn", payload, all);
  assert.ok(out.startsWith("fn(cyclic={name: 'loop', self: [Circular]}"), out);
  assert.ok(out.includes("throwing={boom: <?>}"), out);
  assert.ok(out.includes("sym=Symbol(tag)"), out);
  assert.ok(out.includes("fn=<function handler>"), out);
  assert.ok(out.includes("nullProto={a: 1}"), out);
  assert.ok(out.includes("invalidDate='Invalid Date'"), out);
  assert.ok(out.includes("getter=<?>"), out);

  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  assert.doesNotThrow(() => formatCall("fn", { p: revoked.proxy }, { p: true }));
  assert.doesNotThrow(() => formatCall("fn", { p: revoked.proxy }, { p: "length" }));
  assert.doesNotThrow(() => formatCall("fn", revoked.proxy as Record<string, unknown>));
  assert.equal(formatCall("fn", revoked.proxy as Record<string, unknown>), "fn(<?>)");
});

Deno.test("formatCall: inherited names in logged do not unlock values", () => {
  const out = formatCall("fn", { toString: "secret-value" }, {});
  assert.equal(out, "fn(toString=...)");
});
