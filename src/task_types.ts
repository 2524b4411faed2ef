/**
 * How a task's types flow through the API: the payload `add` takes and the result `getResult`
 * resolves to, read off the task itself (a `task()` definition or a plain named function).
 * Types only; nothing here exists at runtime.
 *
 * @module
 */

import type { TaskDefinition, TaskList } from "./definition.ts";
import type { Execution } from "./execution.ts";
import type { When } from "./duration.ts";
import type { Payload } from "./types.ts";

/**
 * The body of a task: a definition's `run`, or the plain function itself (what
 * {@linkcode PayloadOf} and {@linkcode ResultOf} read their types from).
 *
 * @example
 * ```ts
 * import { type RunOf, task } from "@docket/core";
 * const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
 * const run: RunOf<typeof double> = ({ n }) => n + n;
 * ```
 */
export type RunOf<T> = T extends TaskDefinition ? T["run"] : T;

/**
 * The payload a task takes: the type of its run function's first parameter. A task given by
 * name, a loosely typed definition, and a function whose payload is untyped or absent take any
 * {@linkcode Payload}.
 *
 * @example
 * ```ts
 * import { type PayloadOf, task } from "@docket/core";
 * const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
 * const payload: PayloadOf<typeof double> = { n: 21 };
 * ```
 */
export type PayloadOf<T> = RunOf<T> extends (payload: infer P, ...rest: any[]) => unknown
  ? unknown extends P ? Payload : Exclude<P, undefined>
  : Payload;

/**
 * The result a task's execution resolves to: the awaited return type of its run function
 * (`unknown` for a task given by name or a loosely typed definition).
 *
 * @example
 * ```ts
 * import { type ResultOf, task } from "@docket/core";
 * const greet = task({ name: "greet", run: async ({ name }: { name: string }) => `hi ${name}` });
 * const result: ResultOf<typeof greet> = "hi world"; // string, not Promise<string>
 * ```
 */
export type ResultOf<T> = RunOf<T> extends (...args: any[]) => infer R ? Awaited<R> : unknown;

/**
 * The arguments of the function `add` returns: the payload, optional only when an empty object
 * is a valid payload (a task without required fields).
 *
 * @example
 * ```ts
 * import type { PayloadArgs } from "@docket/core";
 * const required: PayloadArgs<{ n: number }> = [{ n: 1 }];
 * const optional: PayloadArgs<{ n?: number }> = [];
 * ```
 */
// deno-lint-ignore ban-types
export type PayloadArgs<P> = {} extends P ? [payload?: P] : [payload: P];

/**
 * What `docket.add(task)` and `docket.replace(task, …)` return: a function that takes exactly
 * the task's payload and resolves to an execution carrying the task's result type.
 *
 * @example
 * ```ts ignore
 * import type { AddCall } from "@docket/core";
 * const addDouble: AddCall<typeof double> = docket.add(double);
 * const execution = await addDouble({ n: 21 }); // Execution<number>
 * ```
 */
export type AddCall<T> = (...payload: PayloadArgs<PayloadOf<T>>) => Promise<Execution<ResultOf<T>>>;

/**
 * What `docket.addMany(task)` returns: a function that takes a list of the task's payloads.
 *
 * @example
 * ```ts ignore
 * import type { AddManyCall } from "@docket/core";
 * const addDoubles: AddManyCall<typeof double> = docket.addMany(double);
 * const executions = await addDoubles([{ n: 1 }, { n: 2 }]); // Execution<number>[]
 * ```
 */
export type AddManyCall<T> = (
  payloads: readonly PayloadOf<T>[],
) => Promise<Execution<ResultOf<T>>[]>;

/**
 * One entry of `docket.schedule([...])`, typed by its task: `payload` is the task's payload
 * (required when the task has required fields).
 *
 * @example
 * ```ts
 * import { type ScheduleEntryFor, task } from "@docket/core";
 * const double = task({ name: "double", run: ({ n }: { n: number }) => n * 2 });
 * const entry: ScheduleEntryFor<typeof double> = { task: double, payload: { n: 1 }, key: "d-1" };
 * ```
 */
export type ScheduleEntryFor<T> =
  & {
    /** The task, or the name it is registered under. */
    task: T;
    /** When it is due; default now. */
    when?: When;
    /** Its key; default a new UUIDv7. A key that is already live is left alone. */
    key?: string;
  }
  // deno-lint-ignore ban-types
  & ({} extends PayloadOf<T> ? { payload?: PayloadOf<T> } : { payload: PayloadOf<T> });

/**
 * The entries `docket.schedule` takes for the tasks `T` (a tuple for a literal list): each
 * entry's payload is checked against its own task.
 *
 * @example
 * ```ts ignore
 * import type { ScheduleEntries } from "@docket/core";
 * const entries: ScheduleEntries<[typeof double, "trace"]> = [
 *   { task: double, payload: { n: 1 } },
 *   { task: "trace", payload: { message: "hi" } },
 * ];
 * ```
 */
export type ScheduleEntries<T extends TaskList> = {
  readonly [I in keyof T]: ScheduleEntryFor<T[I]>;
};

/**
 * What `docket.schedule` resolves to for the tasks `T`: one execution per entry, in order, each
 * carrying its task's result type.
 *
 * @example
 * ```ts ignore
 * import type { ExecutionsFor } from "@docket/core";
 * const [doubled, traced]: ExecutionsFor<[typeof double, "trace"]> = await docket.schedule([
 *   { task: double, payload: { n: 1 } },
 *   { task: "trace", payload: { message: "hi" } },
 * ]); // Execution<number>, Execution<unknown>
 * ```
 */
export type ExecutionsFor<T extends TaskList> = {
  -readonly [I in keyof T]: Execution<ResultOf<T[I]>>;
};
