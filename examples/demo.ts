/**
 * `deno task demo`: schedules immediate, future and keyed tasks, runs a worker until they are
 * done, and prints what happened. Uses `DOCKET_URL` or `REDIS_URL` when set, else the in-process
 * `memory://` store, so it needs no Redis at all.
 */

import { createLogger, Docket, Retry, task, Worker } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const env = (globalThis as any).process?.env ?? {};
const url = env.DOCKET_URL ?? env.REDIS_URL ?? "memory://demo";
const logger = createLogger({ level: env.DOCKET_LOG_LEVEL ?? "info" });

const sendWelcome = task({
  name: "send_welcome",
  logged: { userId: true },
  run: ({ userId }: { userId: string }) => `welcome mail sent to ${userId}`,
});

const chargeCard = task({
  name: "charge_card",
  retry: Retry({ attempts: 3, delay: 100 }),
  logged: { orderId: true, cardNumber: "length" },
  run({ orderId, amount }: { orderId: string; cardNumber: string; amount: number }, ctx) {
    if (ctx.attempt === 1) throw new Error("card network timed out");
    return { orderId, charged: amount, attempts: ctx.attempt };
  },
});

const nightlyReport = task({
  name: "nightly_report",
  async run({ day }: { day: string }, ctx) {
    await ctx.progress.setTotal(3);
    for (let i = 0; i < 3; i++) await ctx.progress.increment();
    return `report for ${day} (${ctx.progress.current}/${ctx.progress.total} sections)`;
  },
});

await using docket = await Docket.connect({ name: "demo", url, logger });
for (const t of [sendWelcome, chargeCard, nightlyReport]) docket.register(t);
console.log(`docket "${docket.name}" on ${url}\n`);

const now = Date.now();
const welcome = await docket.add(sendWelcome)({ userId: "u-1001" });
const charge = await docket.add(chargeCard)({
  orderId: "o-77",
  cardNumber: "4111111111111111",
  amount: 42,
});
const report = await docket.add(nightlyReport, { when: now + 1_000, key: "report-2026-11-28" })({
  day: "2026-11-28",
});
const duplicate = await docket.add(nightlyReport, { key: "report-2026-11-28" })({ day: "again" });

console.log(`immediate  ${welcome.key}  ${welcome.state}`);
console.log(`immediate  ${charge.key}  ${charge.state} (fails once, then retries)`);
console.log(`future     ${report.key}  ${report.state}, due in 1 s`);
console.log(`same key   ${duplicate.key}  ${duplicate.disposition}\n`);

await using worker = new Worker(docket, { minimumCheckInterval: 50, schedulingResolution: 50 });
await worker.runUntilFinished();

console.log("results:");
console.log(" ", await welcome.getResult());
console.log(" ", await charge.getResult());
console.log(" ", await report.getResult());
await report.sync();
console.log(`\nthe report ran ${report.startedAt!.getTime() - now} ms after it was added`);
