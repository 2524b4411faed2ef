/**
 * Concurrency limits: at most `max` runs at once across every worker, per value of a payload
 * key or per task. Slots are leased in the store, so a worker that dies holding one loses it
 * after `redeliveryTimeout`; tasks that find the limit full wait, without polling, and are woken
 * in arrival order when a slot frees.
 *
 * @module
 */

import type { AdmissionControl, TaskHook } from "../hooks.ts";
import { checkName, positiveCount } from "./_flow_common.ts";

/** Options of {@linkcode ConcurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /** Runs at once, across every worker. */
  max: number;
  /** Keeps this limit apart from other limits on the same parameter (or task). */
  scope?: string;
}

/** A concurrency limit (from {@linkcode ConcurrencyLimit}). */
export interface ConcurrencyLimitBehaviour extends TaskHook {
  /** What kind of behaviour this is. */
  readonly kind: "concurrency";
  /** The payload key the limit is kept per value of; undefined: per task. */
  readonly param: string | undefined;
  /** Runs at once. */
  readonly max: number;
  /** The limit's scope, if any. */
  readonly scope: string | undefined;
  /** The control as the store evaluates it. */
  readonly admission: Extract<AdmissionControl, { kind: "concurrency" }>;
}

/**
 * Limits how many runs go at once across every worker: per value of a payload key
 * (`ConcurrencyLimit("customerId", { max: 1 })`), or per task (`ConcurrencyLimit({ max: 3 })`).
 * Give a task several (`concurrency: [a, b, c]`) and it starts only when all of them have room;
 * while it waits on one it holds none of the others.
 *
 * The slots are a sorted set per limit, `{<docket>}:concurrency:<param>:<value>` (or
 * `{<docket>}:concurrency:<task>`, with `<scope>:` after the docket part when scoped): `ZCARD`
 * tells how many runs hold it. Tasks that share a parameter and scope share the limit.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit, task } from "@docket/core";
 * export const processCustomerData = task({
 *   name: "process_customer_data",
 *   concurrency: ConcurrencyLimit("customerId", { max: 1 }),
 *   async run({ customerId }: { customerId: number }) {
 *     // only one run per customerId at a time, across every worker
 *   },
 * });
 * ```
 */
export function ConcurrencyLimit(
  param: string,
  options: ConcurrencyLimitOptions,
): ConcurrencyLimitBehaviour;
/**
 * Limits how many runs of the task go at once across every worker.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit, task } from "@docket/core";
 * export const rebuildIndex = task({
 *   name: "rebuild_index",
 *   concurrency: ConcurrencyLimit({ max: 3 }),
 *   run() {},
 * });
 * ```
 */
export function ConcurrencyLimit(options: ConcurrencyLimitOptions): ConcurrencyLimitBehaviour;
export function ConcurrencyLimit(
  first: string | ConcurrencyLimitOptions,
  second?: ConcurrencyLimitOptions,
): ConcurrencyLimitBehaviour {
  const perValue = typeof first === "string";
  const options = perValue ? second : first;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      'ConcurrencyLimit needs options: ConcurrencyLimit("param", { max }) or ConcurrencyLimit({ max })',
    );
  }
  const param = perValue ? checkName(first, "ConcurrencyLimit parameter") : undefined;
  const max = positiveCount(options.max, "ConcurrencyLimit max");
  const scope = checkName(options.scope, "ConcurrencyLimit scope");
  const admission = Object.freeze({ kind: "concurrency" as const, param, scope, max });
  return Object.freeze({ kind: "concurrency" as const, param, max, scope, admission });
}
