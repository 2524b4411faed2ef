/**
 * Debounce, the trailing edge: a burst of submissions produces exactly one run, once `settle`
 * has passed with no new submission.
 *
 * @module
 */

import type { AdmissionControl, TaskHook } from "../hooks.ts";
import type { Duration } from "../duration.ts";
import { checkName, positiveMillis } from "./_flow_common.ts";

/** Options of {@linkcode Debounce}. */
export interface DebounceOptions {
  /** Debounce per value of this payload key (default: per task). */
  param?: string;
  /** Keeps this debounce apart from others on the same parameter (or task). */
  scope?: string;
}

/** A debounce (from {@linkcode Debounce}). */
export interface DebounceBehaviour extends TaskHook {
  /** What kind of behaviour this is. */
  readonly kind: "debounce";
  /** Quiet time before the run, milliseconds. */
  readonly settle: number;
  /** The payload key, if per value. */
  readonly param: string | undefined;
  /** The scope, if any. */
  readonly scope: string | undefined;
  /** The control as the store evaluates it. */
  readonly admission: Extract<AdmissionControl, { kind: "debounce" }>;
}

/**
 * Trailing-edge debounce. The first submission of a burst becomes the one that runs: it waits
 * until `settle` has passed with no other submission, then runs once; the other submissions of
 * the burst end `cancelled`. Even a lone submission runs only after `settle`. Retries of the run
 * are not debounced.
 *
 * @example
 * ```ts
 * import { Debounce, task } from "@docket/core";
 * export const reindexDocument = task({
 *   name: "reindex_document",
 *   debounce: Debounce({ seconds: 5 }, { param: "documentId" }),
 *   async run({ documentId }: { documentId: string }) {
 *     // runs once per documentId, 5 s after the last save of a burst
 *   },
 * });
 * ```
 */
export function Debounce(settle: Duration, options: DebounceOptions = {}): DebounceBehaviour {
  const ms = positiveMillis(settle, "Debounce settle");
  const param = checkName(options?.param, "Debounce param");
  const scope = checkName(options?.scope, "Debounce scope");
  const admission = Object.freeze({ kind: "debounce" as const, param, scope, settle: ms });
  return Object.freeze({ kind: "debounce" as const, settle: ms, param, scope, admission });
}
