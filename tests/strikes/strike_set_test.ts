import assert from "node:assert/strict";
import {
  describeStrike,
  makeStrikeInstruction,
  STRIKE_OPERATORS,
  type StrikeInstruction,
  StrikeSet,
} from "../../src/strikes/strike_set.ts";

const strike = (task: string | null, param?: string | null, op?: string, value?: unknown) =>
  makeStrikeInstruction("strike", task, param, op, value);
const restore = (task: string | null, param?: string | null, op?: string, value?: unknown) =>
  makeStrikeInstruction("restore", task, param, op, value);

/** A StrikeSet with `instructions` applied. */
function setOf(...instructions: StrikeInstruction[]): StrikeSet {
  const set = new StrikeSet();
  for (const instruction of instructions) set.apply(instruction);
  return set;
}

function collectWarnings(): { warn: (message: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (message) => messages.push(message), messages };
}

Deno.test("STRIKE_OPERATORS lists the seven operators", () => {
  assert.deepEqual([...STRIKE_OPERATORS], ["==", "!=", "<", "<=", ">", ">=", "between"]);
});

Deno.test("every operator on 41, 42 and 43 against 42", () => {
  const expected: Record<string, [boolean, boolean, boolean]> = {
    "==": [false, true, false],
    "!=": [true, false, true],
    "<": [true, false, false],
    "<=": [true, true, false],
    ">": [false, false, true],
    ">=": [false, true, true],
  };
  for (const [op, outcomes] of Object.entries(expected)) {
    const set = setOf(strike("t", "x", op, 42));
    const { warn, messages } = collectWarnings();
    const actual = [41, 42, 43].map((x) => set.isStruck("t", "k", { x }, warn));
    assert.deepEqual(actual, outcomes, `x ${op} 42`);
    assert.deepEqual(messages, []);
  }
});

Deno.test("bigints compare with numbers and with bigints", () => {
  const set = setOf(strike("t", "x", ">", 42));
  assert.equal(set.isStruck("t", "k", { x: 43n }), true);
  assert.equal(set.isStruck("t", "k", { x: 42n }), false);
  const big = setOf(strike("t", "x", "==", 2n ** 64n - 1n));
  assert.equal(big.isStruck("t", "k", { x: 2n ** 64n - 1n }), true);
  assert.equal(big.isStruck("t", "k", { x: 2n ** 64n - 2n }), false);
});

Deno.test("between includes both ends", () => {
  const set = setOf(strike("process_payment", "amount", "between", [1000, 5000]));
  const struck = (amount: number) => set.isStruck("process_payment", "k", { amount });
  assert.equal(struck(999), false);
  assert.equal(struck(1000), true);
  assert.equal(struck(3000), true);
  assert.equal(struck(5000), true);
  assert.equal(struck(5001), false);
});

Deno.test("strings, booleans and Dates compare within their own type", () => {
  const words = setOf(strike("t", "name", "between", ["b", "d"]));
  assert.equal(words.isStruck("t", "k", { name: "c" }), true);
  assert.equal(words.isStruck("t", "k", { name: "e" }), false);

  const flags = setOf(strike("t", "urgent", "==", true));
  assert.equal(flags.isStruck("t", "k", { urgent: true }), true);
  assert.equal(flags.isStruck("t", "k", { urgent: false }), false);
  const ordered = setOf(strike("t", "urgent", ">", false));
  assert.equal(ordered.isStruck("t", "k", { urgent: true }), true);

  const cutoff = new Date("2025-01-01T00:00:00Z");
  const dates = setOf(strike("t", "due", "<", cutoff));
  assert.equal(dates.isStruck("t", "k", { due: new Date("2024-12-31T00:00:00Z") }), true);
  assert.equal(dates.isStruck("t", "k", { due: new Date("2025-01-02T00:00:00Z") }), false);
  const sameTime = setOf(strike("t", "due", "==", cutoff));
  assert.equal(sameTime.isStruck("t", "k", { due: new Date(cutoff.getTime()) }), true);
});

Deno.test("null compares only with == and !=", () => {
  const isNull = setOf(strike("t", "customerId", "==", null));
  assert.equal(isNull.isStruck("t", "k", { customerId: null }), true);
  assert.equal(isNull.isStruck("t", "k", { customerId: "1001" }), false);
  const notNull = setOf(strike("t", "customerId", "!=", null));
  assert.equal(notNull.isStruck("t", "k", { customerId: "1001" }), true);
  assert.equal(notNull.isStruck("t", "k", { customerId: null }), false);

  const { warn, messages } = collectWarnings();
  const ordered = setOf(strike("t", "amount", ">", 1000));
  assert.equal(ordered.isStruck("t", "k", { amount: null }, warn), false);
  assert.equal(messages.length, 1);
  assert.match(messages[0], /its amount is null/);
  assert.throws(() => strike("t", "amount", ">", null), /needs a value with an order/);
});

Deno.test("arrays and objects are deep-equal under == and !=", () => {
  const tags = setOf(strike("t", "tags", "==", ["a", { b: [1, 2] }]));
  assert.equal(tags.isStruck("t", "k", { tags: ["a", { b: [1, 2] }] }), true);
  assert.equal(tags.isStruck("t", "k", { tags: ["a", { b: [1, 3] }] }), false);
  const notConfig = setOf(strike("t", "config", "!=", { mode: "fast", retries: 2 }));
  assert.equal(notConfig.isStruck("t", "k", { config: { retries: 2, mode: "fast" } }), false);
  assert.equal(notConfig.isStruck("t", "k", { config: { mode: "slow", retries: 2 } }), true);
});

Deno.test("a mismatched type does not match and warns, naming task, param, op and types", () => {
  const set = setOf(strike("process_order", "amount", ">", 1000));
  const { warn, messages } = collectWarnings();
  assert.equal(set.isStruck("process_order", "k", { amount: "2000" }, warn), false);
  assert.deepEqual(messages, [
    "strike on amount > 1000 (number) not applied to process_order: its amount is a string",
  ]);

  const anyTask = setOf(strike(null, "customerId", "==", "1001"));
  const more = collectWarnings();
  assert.equal(anyTask.isStruck("send_email", "k", { customerId: 1001 }, more.warn), false);
  assert.deepEqual(more.messages, [
    "strike on customerId == '1001' (string) not applied to send_email: its customerId is a number",
  ]);

  const between = setOf(strike("t", "amount", "between", [1, 5]));
  const third = collectWarnings();
  assert.equal(between.isStruck("t", "k", { amount: [3] }, third.warn), false);
  assert.match(third.messages[0], /amount between \[1, 5\] \(number\).*its amount is an array/);

  // No warn callback: still not struck, nothing thrown.
  assert.equal(set.isStruck("process_order", "k", { amount: true }), false);
});

Deno.test("a payload without the parameter does not match and does not warn", () => {
  const set = setOf(strike(null, "amount", ">", 1000), strike("t", "customerId", "==", "1"));
  const { warn, messages } = collectWarnings();
  assert.equal(set.isStruck("t", "k", {}, warn), false);
  assert.equal(set.isStruck("t", "k", { other: 5000 }, warn), false);
  assert.equal(set.isStruck("t", "k", { amount: undefined }, warn), false);
  assert.deepEqual(messages, []);
  // Inherited properties are not parameters.
  const proto = setOf(strike(null, "toString", "!=", "x"));
  assert.equal(proto.isStruck("t", "k", {}), false);
});

Deno.test("seed: striking entire task types", () => {
  const set = new StrikeSet();
  // Disable all order processing during maintenance
  set.apply(strike("process_order"));
  assert.equal(set.isStruck("process_order", "a", { orderId: 12345 }), true);
  assert.equal(set.isStruck("process_order", "b", { orderId: 67890 }), true);
  assert.equal(set.isStruck("process_payment", "c", { orderId: 12345 }), false);
  // Re-enable when ready
  set.apply(restore("process_order"));
  assert.equal(set.isStruck("process_order", "a", { orderId: 12345 }), false);
  assert.equal(set.size, 0);
});

Deno.test("seed: striking by parameter values", () => {
  const set = new StrikeSet();
  // Block all tasks for a problematic customer
  set.apply(strike(null, "customerId", "==", "12345"));
  // Block low-priority work during high load
  set.apply(strike("process_order", "priority", "<=", "low"));
  // Block all orders above a certain value during fraud investigation
  set.apply(strike("process_payment", "amount", ">", 10000));

  assert.equal(set.isStruck("send_email", "k", { customerId: "12345" }), true);
  assert.equal(set.isStruck("process_order", "k", { customerId: "12345" }), true);
  assert.equal(set.isStruck("send_email", "k", { customerId: "67890" }), false);
  assert.equal(set.isStruck("process_order", "k", { priority: "low" }), true);
  // Strings order lexicographically: "high" <= "low", "medium" > "low".
  assert.equal(set.isStruck("process_order", "k", { priority: "high" }), true);
  assert.equal(set.isStruck("process_order", "k", { priority: "medium" }), false);
  assert.equal(set.isStruck("send_email", "k", { priority: "low" }), false);
  assert.equal(set.isStruck("process_payment", "k", { amount: 20000 }), true);
  assert.equal(set.isStruck("process_payment", "k", { amount: 10000 }), false);

  // Later, restore them
  set.apply(restore(null, "customerId", "==", "12345"));
  set.apply(restore("process_order", "priority", "<=", "low"));
  assert.equal(set.isStruck("send_email", "k", { customerId: "12345" }), false);
  assert.equal(set.isStruck("process_order", "k", { priority: "low" }), false);
  assert.equal(set.isStruck("process_payment", "k", { amount: 20000 }), true);
  assert.equal(set.size, 1);
});

Deno.test("seed: task-parameter combinations combine with OR", () => {
  const set = new StrikeSet();
  set.apply(strike("process_order", "customerId", "==", "12345"));
  set.apply(strike("process_order", "amount", ">", 1000));

  // This order won't run (blocked customer)
  assert.equal(set.isStruck("process_order", "k", { customerId: "12345", amount: 500 }), true);
  // This order won't run (blocked customer AND high amount)
  assert.equal(set.isStruck("process_order", "k", { customerId: "12345", amount: 2000 }), true);
  // The seed says this order WILL run; under OR semantics (as upstream) it is
  // struck, because the amount condition alone matches.
  assert.equal(set.isStruck("process_order", "k", { customerId: "67890", amount: 2000 }), true);
  // Neither condition holds: it runs.
  assert.equal(set.isStruck("process_order", "k", { customerId: "67890", amount: 500 }), false);
  // The strikes are on process_order only.
  assert.equal(set.isStruck("process_refund", "k", { customerId: "12345", amount: 2000 }), false);
});

Deno.test("whole-task and parameter strikes coexist and restore independently", () => {
  const set = new StrikeSet();
  set.apply(strike("process_order", "customerId", "==", "1001"));
  set.apply(strike("process_order"));
  assert.equal(set.size, 2);
  assert.equal(set.isStruck("process_order", "k", { customerId: "2002" }), true);

  // Restoring the whole task leaves the parameter strike in force.
  assert.equal(set.apply(restore("process_order")), true);
  assert.equal(set.isStruck("process_order", "k", { customerId: "2002" }), false);
  assert.equal(set.isStruck("process_order", "k", { customerId: "1001" }), true);

  // And the other way round.
  set.apply(strike("process_order"));
  assert.equal(set.apply(restore("process_order", "customerId", "==", "1001")), true);
  assert.equal(set.isStruck("process_order", "k", { customerId: "1001" }), true);
  assert.equal(set.isStruck("process_order", "k", { customerId: "2002" }), true);
  set.apply(restore("process_order"));
  assert.equal(set.isStruck("process_order", "k", { customerId: "1001" }), false);
  assert.equal(set.size, 0);
});

Deno.test("strike and restore are idempotent; restoring the unstruck is a no-op", () => {
  const set = new StrikeSet();
  assert.equal(set.apply(restore("process_order")), false);
  assert.equal(set.apply(restore(null, "amount", ">", 5)), false);
  assert.equal(set.size, 0);

  assert.equal(set.apply(strike(null, "amount", ">", 5)), true);
  assert.equal(set.apply(strike(null, "amount", ">", 5)), false);
  assert.equal(set.size, 1);
  // A different operator or value is a different strike.
  assert.equal(set.apply(strike(null, "amount", ">=", 5)), true);
  assert.equal(set.apply(strike(null, "amount", ">", 6)), true);
  assert.equal(set.size, 3);

  // Deep-equal values are the same strike; so are equal integral number and bigint.
  assert.equal(set.apply(strike("t", "tags", "==", { a: 1, b: [2] })), true);
  assert.equal(set.apply(strike("t", "tags", "==", { b: [2], a: 1 })), false);
  assert.equal(set.apply(strike("t", "n", "==", 7)), true);
  assert.equal(set.apply(restore("t", "n", "==", 7n)), true);

  assert.equal(set.apply(restore(null, "amount", ">", 5)), true);
  assert.equal(set.apply(restore(null, "amount", ">", 5)), false);
  assert.equal(set.isStruck("t", "k", { amount: 6 }), true); // >= 5 still in force
  set.apply(restore(null, "amount", ">=", 5));
  set.apply(restore(null, "amount", ">", 6));
  set.apply(restore("t", "tags", "==", { a: 1, b: [2] }));
  assert.equal(set.size, 0);
  assert.equal(set.isStruck("t", "k", { amount: 600, tags: { a: 1, b: [2] }, n: 7 }), false);
});

Deno.test("a strike keeps its own copy of the value", () => {
  const bounds = [1, 5];
  const set = setOf(strike("t", "x", "between", bounds));
  bounds[1] = 100;
  assert.equal(set.isStruck("t", "k", { x: 50 }), false);
});

Deno.test("conditions can be added and removed", () => {
  const set = new StrikeSet();
  const seen: [string, string, Record<string, unknown>][] = [];
  const atMost = (taskName: string, key: string, payload: Record<string, unknown>) => {
    seen.push([taskName, key, payload]);
    return key === "my-perpetual-key";
  };
  set.addCondition(atMost);
  set.addCondition(atMost);
  assert.equal(set.isStruck("tick", "my-perpetual-key", { n: 1 }), true);
  assert.equal(set.isStruck("tick", "other", {}), false);
  assert.deepEqual(seen, [["tick", "my-perpetual-key", { n: 1 }], ["tick", "other", {}]]);
  assert.equal(set.size, 0, "conditions are not strikes");

  assert.equal(set.removeCondition(atMost), true);
  assert.equal(set.removeCondition(atMost), false);
  assert.equal(set.isStruck("tick", "my-perpetual-key", { n: 1 }), false);
});

Deno.test("entries, size and describe", () => {
  const set = setOf(
    strike("process_order", "customerId", "==", "1001"),
    strike("process_order"),
    strike(null, "amount", ">", 1000),
    strike("process_payment", "amount", "between", [1000, 5000]),
  );
  assert.equal(set.size, 4);
  const entries = set.entries();
  assert.ok(entries.every((entry) => entry.direction === "strike"));
  assert.deepEqual(entries.map((entry) => set.describe(entry)), [
    "process_order(customerId == '1001')",
    "process_order",
    "*(amount > 1000)",
    "process_payment(amount between [1000, 5000])",
  ]);
  assert.equal(describeStrike(strike("t", "flag", "!=", true)), "t(flag != true)");
  assert.equal(describeStrike(strike("t", "name", "==", "O'Brien")), "t(name == 'O\\'Brien')");
  assert.equal(describeStrike(strike("t", "n", "<", 5n)), "t(n < 5n)");
  assert.equal(describeStrike(strike("t", "v", "==", null)), "t(v == null)");
  assert.equal(
    describeStrike(strike("t", "due", ">=", new Date("2025-01-01T00:00:00Z"))),
    "t(due >= Date(2025-01-01T00:00:00.000Z))",
  );
  // Changing an entry does not change the set.
  entries[0].value = "9999";
  assert.equal(set.isStruck("process_order", "k", { customerId: "1001" }), true);
});

Deno.test("makeStrikeInstruction normalises", () => {
  assert.deepEqual(makeStrikeInstruction("strike", "process_order"), {
    direction: "strike",
    task: "process_order",
    param: null,
    op: "==",
  });
  assert.deepEqual(makeStrikeInstruction("restore", null, "customerId", undefined, "1001"), {
    direction: "restore",
    task: null,
    param: "customerId",
    op: "==",
    value: "1001",
  });
  // A null value on a whole-task strike is what an absent value becomes on the wire.
  assert.deepEqual(
    makeStrikeInstruction("strike", "process_order", null, "==", null),
    makeStrikeInstruction("strike", "process_order"),
  );
});

Deno.test("makeStrikeInstruction refuses invalid instructions, naming the problem", () => {
  assert.throws(
    () => strike("t", "x", "~=", 1),
    (error: unknown) =>
      error instanceof TypeError && error.message.includes('"~="') &&
      error.message.includes("==, !=, <, <=, >, >=, between"),
  );
  assert.throws(() => strike(null), TypeError);
  assert.throws(() => strike(null, null, "==", 1), /needs a task name, a parameter name, or both/);
  assert.throws(() => strike("t", "amount", ">"), /strike on amount > needs a value/);
  assert.throws(() => strike("t", "amount"), /needs a value/);
  assert.throws(() => strike("t", "amount", "between", 5), /needs a \[lo, hi\] pair/);
  assert.throws(() => strike("t", "amount", "between", [1, 2, 3]), /needs a \[lo, hi\] pair/);
  assert.throws(
    () => strike("t", "amount", "between", [1, "2"]),
    /same type, got number and string/,
  );
  assert.throws(() => strike("t", "amount", "between", [null, 2]), /bounds with an order/);
  assert.throws(() => strike("t", "amount", "between", [5, 1]), RangeError);
  assert.throws(() => strike("t", "amount", "between", [5, 1]), /lo <= hi/);
  assert.doesNotThrow(() => strike("t", "amount", "between", [5, 5]));
  assert.doesNotThrow(() => strike("t", "amount", "between", [1n, 5]));
  assert.throws(() => strike("t", null, ">", undefined), /whole task t takes no operator/);
  assert.throws(() => strike("t", null, "==", 5), /whole task t takes no value/);
  assert.throws(() => strike("t", "tags", "<", ["a"]), /needs a value with an order/);
  assert.throws(() => strike("", "x", "==", 1), /task name must be a non-empty string/);
  assert.throws(() => strike("t", "", "==", 1), /parameter name must be a non-empty string/);
  assert.throws(() => strike("t", "x", "==", () => 1), /must be plain data/);
  assert.throws(() => strike("t", "x", "==", { a: new Map() }), /value\.a must be plain data/);
  assert.throws(() => strike("t", "x", "==", new Date("nope")), /invalid Date/);
  assert.throws(
    () => makeStrikeInstruction("erase" as "strike", "t"),
    /direction must be "strike" or "restore"/,
  );
  // apply validates too.
  assert.throws(
    () => new StrikeSet().apply({ direction: "strike", task: "t", param: "x", op: "~" as "==" }),
    TypeError,
  );
});
