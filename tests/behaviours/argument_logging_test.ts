/**
 * Argument logging (`logged`): the start and end lines show the call as the seed describes, sizes
 * for "length" arguments, and arguments not marked never reach the logs, whatever happens.
 */

import assert from "node:assert/strict";
import { depends, Perpetual, Retry, task, Worker } from "../../mod.ts";
import { connectDocket, FAST, LogCapture } from "../_harness.ts";
import { eachBackend, linesWith } from "./_support.ts";

const CARD = "4111-SECRET-CARD-1111";
const CVV = "cvv-SECRET-987";

const processPayment = task({
  name: "process_payment",
  logged: { customerId: true, amount: true, traceId: true },
  run(_payload: { customerId: string; creditCard: string; amount: number; traceId: string }) {},
});

eachBackend("start and end lines show the call, hiding what is not logged", async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  docket.register(processPayment);
  await docket.add(processPayment, { key: "pay-1" })({
    customerId: "12345",
    creditCard: CARD,
    amount: 150,
    traceId: "abc-123",
  });
  await new Worker(docket, FAST).runUntilFinished();
  const call =
    "process_payment(customerId='12345', creditCard=..., amount=150, traceId='abc-123')" +
    "{pay-1}";
  const start = linesWith(logs.lines, "↪");
  const end = linesWith(logs.lines, "↩");
  assert.equal(start.length, 1);
  assert.match(String(start[0].msg), /^↪ \[ *\d+ms\] /);
  assert.ok(String(start[0].msg).endsWith(call), String(start[0].msg));
  assert.equal(end.length, 1);
  assert.match(String(end[0].msg), /^↩ \[ *\d+ms\] /);
  assert.ok(String(end[0].msg).endsWith(call), String(end[0].msg));
  assert.ok(!logs.text().includes(CARD));
});

eachBackend('"length" arguments show only their size', async (kind) => {
  const logs = new LogCapture();
  await using docket = await connectDocket(kind, { logger: logs.logger });
  const bulkUpdateUsers = task({
    name: "bulk_update_users",
    logged: { userIds: "length", metadata: "length", options: "length" },
    run(_payload: { userIds: string[]; metadata: Record<string, string>; options: string[] }) {},
  });
  docket.register(bulkUpdateUsers);
  await docket.add(bulkUpdateUsers, { key: "bulk" })({
    userIds: Array.from({ length: 150 }, (_, i) => `user-${i}`),
    metadata: { a: "1", b: "2", c: "3", d: "4", e: "5" },
    options: ["x", "y", "z"],
  });
  await new Worker(docket, FAST).runUntilFinished();
  const [start] = linesWith(logs.lines, "↪");
  assert.ok(
    String(start.msg).endsWith(
      "bulk_update_users(userIds=[len 150], metadata={len 5}, options=[len 3]){bulk}",
    ),
    String(start.msg),
  );
  assert.ok(!logs.text().includes("user-42"));
});

eachBackend("secrets marked unlogged never appear in any captured log line", async (kind) => {
  const logs = new LogCapture(); // level debug: everything the library says
  await using docket = await connectDocket(kind, { logger: logs.logger });
  type Payment = { customerId: string; creditCard: string; card: { cvv: string }; amount: number };
  const logged = { customerId: true, amount: true, card: "length" } as const;
  const declined = task({
    name: "charge_declined",
    logged,
    retry: Retry({ attempts: 2 }),
    run(_payload: Payment) {
      throw new Error("card declined");
    },
  });
  const slow = task({
    name: "charge_slow",
    logged,
    timeout: 20,
    async run(_payload: Payment, ctx) {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    },
  });
  const needsGateway = task({
    name: "charge_needs_gateway",
    logged,
    deps: {
      gateway: depends(() => {
        throw new Error("gateway down");
      }),
    },
    run(_payload: Payment) {},
  });
  const recurring = task({
    name: "charge_recurring",
    logged,
    perpetual: Perpetual({ every: 5 }),
    run(_payload: Payment, ctx) {
      ctx.logger.info({ customerId: "c-1" }, "charging"); // what the task itself logs is its own
    },
  });
  for (const t of [processPayment, declined, slow, needsGateway, recurring]) docket.register(t);
  const payment = (customerId: string): Payment => ({
    customerId,
    creditCard: CARD,
    card: { cvv: CVV },
    amount: 99,
  });
  await docket.add(declined)(payment("c-1"));
  await docket.add(slow)(payment("c-2"));
  await docket.add(needsGateway)(payment("c-3"));
  await docket.add(recurring, { key: "recurring" })(payment("c-4"));
  // Struck when run (strike after adding), struck when added, and a strike whose value type
  // does not match the payload's (a warning).
  await docket.add(processPayment)({ ...payment("c-5"), traceId: "t" });
  await docket.strike(null, "customerId", "==", "c-5");
  await docket.add(processPayment)({ ...payment("c-5"), traceId: "t" });
  await docket.strike("charge_declined", "creditCard", ">", 42);
  await docket.add(declined)(payment("c-6"));
  await new Worker(docket, FAST).runAtMost({ recurring: 2 });

  const text = logs.text();
  // Each path was taken and logged something about these calls...
  for (
    const expected of [
      "charge_declined(customerId='c-1', creditCard=..., card={len 1}, amount=99)",
      "retrying at",
      "charge_slow(customerId='c-2'",
      "exceeded its timeout",
      "failed to resolve dependency",
      "charge_recurring(customerId='c-4', creditCard=..., card={len 1}, amount=99)",
      "↫",
      "is struck; cancelling",
      "is struck; not scheduled",
      "not applied to charge_declined: its creditCard is a string",
    ]
  ) {
    assert.ok(text.includes(expected), `no log line mentions ${expected}`);
  }
  // ...and no line ever carried the secrets.
  assert.ok(!text.includes(CARD), "the card number reached the logs");
  assert.ok(!text.includes(CVV), "the cvv reached the logs");
});
