/**
 * Type tests: payloads and results flow from a task to every way of scheduling it. Nothing here
 * runs; `deno task check` type-checks this file, so each `Expect<Equal<…>>` must hold and each
 * `// @ts-expect-error` line must still be an error (one that stops erroring fails the check).
 *
 * @module
 */

import {
  Agenda,
  type Docket,
  type Execution,
  fail,
  type PayloadOf,
  Perpetual,
  type ResultOf,
  type ScheduleEntry,
  sleep,
  type Task,
  task,
  type TaskContext,
  type TaskDefinition,
  type TaskLike,
  trace,
} from "../../mod.ts";
import type { Equal, Expect } from "./_expect.ts";

declare const docket: Docket;

// --- task() infers the payload from run's parameter and the result from what it returns -------

const double = task({
  name: "double",
  run({ n }: { n: number }) {
    return n * 2;
  },
});
type _double = Expect<Equal<typeof double, Task<{ n: number }, number>>>;

const greet = task({
  name: "greet",
  async run({ name }: { name: string }, ctx) {
    await ctx.progress.setMessage(`greeting ${name}`);
    return `hello ${name}`;
  },
});
type _asyncResultIsAwaited = Expect<Equal<typeof greet, Task<{ name: string }, string>>>;

const notify = task({ name: "notify", run(_payload: { to: string; cc?: string[] }) {} });
type _voidResult = Expect<Equal<ResultOf<typeof notify>, void>>;

const untyped = task({ name: "untyped", run: () => 1 });
type _untypedTakesAnyPayload = Expect<Equal<PayloadOf<typeof untyped>, Record<string, unknown>>>;

/** An interface (no index signature) is a payload type too. */
interface Order {
  customerId: string;
  items: string[];
}
const placeOrder = task({
  name: "place_order",
  run: (order: Order) => ({ processed: order.items.length }),
});
type _interfacePayload = Expect<Equal<PayloadOf<typeof placeOrder>, Order>>;
type _objectResult = Expect<Equal<ResultOf<typeof placeOrder>, { processed: number }>>;

const withDeps = task({
  name: "with_deps",
  deps: {},
  run: ({ id }: { id: string }, ctx: TaskContext) => `${id}@${ctx.worker.name}`,
});
type _withDeps = Expect<Equal<typeof withDeps, Task<{ id: string }, string>>>;

// --- a plain named function is a task, typed the same way ---------------------------------------

async function resize({ width }: { width: number; height?: number }, ctx: TaskContext) {
  await ctx.progress.setTotal(width);
  return { width };
}
type _plainPayload = Expect<Equal<PayloadOf<typeof resize>, { width: number; height?: number }>>;
type _plainResult = Expect<Equal<ResultOf<typeof resize>, { width: number }>>;

function heartbeat() {
  return Date.now();
}

async function _add() {
  const execution = await docket.add(double)({ n: 21 });
  type _execution = Expect<Equal<typeof execution, Execution<number>>>;
  const n: number = await execution.getResult();
  const later: number = await execution.getResult({ timeout: { seconds: 5 } });
  const greeting: string = await (await docket.add(greet)({ name: "world" })).getResult();
  const resized = await (await docket.add(resize, { key: "r-1" })({ width: 10 })).getResult();
  type _resized = Expect<Equal<typeof resized, { width: number }>>;
  await docket.add(resize)({ width: 10, height: 5 });
  await docket.add(placeOrder)({ customerId: "1001", items: [] });
  await docket.add(notify)({ to: "a@example.com" });
  await docket.add(untyped)();
  await docket.add(untyped)({ anything: true });
  await docket.add(heartbeat)();

  // @ts-expect-error a field of the wrong type
  await docket.add(double)({ n: "21" });
  // @ts-expect-error a missing field
  await docket.add(double)({});
  // @ts-expect-error no payload at all, where one has required fields
  await docket.add(double)();
  // @ts-expect-error a field the task does not take
  await docket.add(double)({ n: 21, m: 1 });
  // @ts-expect-error the result is a number, not a string
  const _wrong: string = await execution.getResult();
  // @ts-expect-error a plain function's payload is checked too
  await docket.add(resize)({ width: "10" });
  // @ts-expect-error an interface payload's missing field
  await docket.add(placeOrder)({ customerId: "1001" });
  // @ts-expect-error an async task's result is the awaited value, not a promise
  const _promise: Promise<string> = await (await docket.add(greet)({ name: "x" })).getResult();
  return [n, later, greeting];
}

// --- by name: loose, or typed by naming the task's type ------------------------------------------

async function _byName() {
  const loose = await docket.add("double")({ n: "anything goes" });
  type _loose = Expect<Equal<typeof loose, Execution<unknown>>>;
  await docket.add("trace")();
  const typed = await docket.add<typeof double>("double")({ n: 21 });
  type _typed = Expect<Equal<typeof typed, Execution<number>>>;
  // @ts-expect-error naming the task's type checks the payload
  await docket.add<typeof double>("double")({ n: "21" });

  const read = await docket.getExecution("order-1");
  type _read = Expect<Equal<typeof read, Execution<unknown> | null>>;

  const definition: TaskDefinition = double;
  const fromDefinition = await docket.add(definition)({ whatever: 1 });
  type _fromDefinition = Expect<Equal<typeof fromDefinition, Execution<unknown>>>;

  // @ts-expect-error a loosely typed execution's result is unknown, not a number
  const _n: number = await loose.getResult();

  const chosen = (Date.now() % 2 ? double : "trace") as TaskLike | string;
  const either = await docket.add(chosen)({ message: "loose" });
  type _either = Expect<Equal<typeof either, Execution<unknown>>>;

  // A typed execution is still an Execution, for code that handles any of them.
  const all: Execution[] = [typed, loose, ...(await docket.addMany(double)([{ n: 1 }]))];
  return all;
}

// --- the built-in tasks are typed too -----------------------------------------------------------

async function _builtins() {
  await docket.add(trace)({ message: "milestone" });
  await docket.add(trace)();
  await docket.add(sleep, { key: "nap" })({ seconds: 30 });
  const failed = await docket.add(fail)({ message: "on purpose" });
  type _failed = Expect<Equal<typeof failed, Execution<never>>>;
  // @ts-expect-error trace takes a message string
  await docket.add(trace)({ message: 1 });
  // @ts-expect-error sleep takes seconds, not a duration object
  await docket.add(sleep)({ seconds: { minutes: 1 } });
}

// --- replace, addMany, schedule -----------------------------------------------------------------

async function _otherWays() {
  const replaced = await docket.replace(double, { key: "d-1" })({ n: 2 });
  type _replaced = Expect<Equal<typeof replaced, Execution<number>>>;
  // @ts-expect-error replace checks the payload as add does
  await docket.replace(double, { key: "d-1" })({ n: "2" });

  const many = await docket.addMany(double)([{ n: 1 }, { n: 2 }]);
  type _many = Expect<Equal<typeof many, Execution<number>[]>>;
  const payloads = [1, 2, 3].map((n) => ({ n })) as readonly { n: number }[];
  await docket.addMany(double, { when: Date.now() + 1_000 })(payloads);
  // @ts-expect-error every payload of addMany is checked
  await docket.addMany(double)([{ n: 1 }, { n: "2" }]);

  const [doubled, greeted, traced] = await docket.schedule([
    { task: double, payload: { n: 1 } },
    { task: greet, payload: { name: "x" }, key: "greet-x", when: Date.now() + 60_000 },
    { task: "trace", payload: { message: "by name" } },
  ]);
  type _doubled = Expect<Equal<typeof doubled, Execution<number>>>;
  type _greeted = Expect<Equal<typeof greeted, Execution<string>>>;
  type _traced = Expect<Equal<typeof traced, Execution<unknown>>>;
  const mapped = await docket.schedule([1, 2].map((n) => ({ task: double, payload: { n } })));
  type _mapped = Expect<Equal<typeof mapped, Execution<number>[]>>;
  await docket.schedule([{ task: untyped }, { task: "trace" }]);
  const built: ScheduleEntry[] = [{ task: "trace", payload: { message: "built elsewhere" } }];
  const fromBuilt = await docket.schedule(built);
  type _fromBuilt = Expect<Equal<typeof fromBuilt, Execution<unknown>[]>>;

  // @ts-expect-error each schedule entry's payload is checked against its own task
  await docket.schedule([{ task: double, payload: { n: 1 } }, { task: greet, payload: { n: 1 } }]);
  // @ts-expect-error a schedule entry for a task with required fields needs a payload
  await docket.schedule([{ task: double }]);
}

// --- Agenda.add and ctx.perpetual.perpetuate ------------------------------------------------------

function _agenda() {
  const agenda = new Agenda();
  agenda.add(double)({ n: 1 }).add(greet, { key: "g" })({ name: "x" });
  agenda.add("send_email")({ to: "a@example.com" });
  // @ts-expect-error Agenda.add checks the payload as docket.add does
  agenda.add(double)({ n: "1" });
  // @ts-expect-error and needs one where the task has required fields
  agenda.add(double)();
}

export const monitor = task({
  name: "monitor",
  perpetual: Perpetual({ every: { seconds: 30 } }),
  run({ deploymentId, checks }: { deploymentId: string; checks: number }, ctx) {
    ctx.perpetual.perpetuate({ deploymentId, checks: checks + 1 });
    // @ts-expect-error the next run's payload is the task's payload type
    ctx.perpetual.perpetuate({ deploymentId, checks: "1" });
    // @ts-expect-error with every required field
    ctx.perpetual.perpetuate({ checks: 1 });
  },
});

/** A task's context still goes to helpers typed with a bare `TaskContext`. */
function logAttempt(ctx: TaskContext): void {
  ctx.logger.info(`attempt ${ctx.attempt}`);
}
export const helped = task({
  name: "helped",
  run(_payload: { id: string }, ctx) {
    logAttempt(ctx);
  },
});
