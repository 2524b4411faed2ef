/**
 * Rate limits: at most `limit` runs start in any sliding window of length `per`, across every
 * worker; the excess waits for a slot (it is rescheduled to when one frees) or is dropped.
 *
 * @module
 */

import type { AdmissionControl, TaskHook } from "../hooks.ts";
import type { Duration } from "../duration.ts";
import { checkName, positiveCount, positiveMillis } from "./_flow_common.ts";

/** Options of {@linkcode RateLimit}. */
export interface RateLimitOptions {
  /** The sliding window. */
  per: Duration;
  /** Limit per value of this payload key (default: per task). */
  param?: string;
  /** Drop the excess (it ends `cancelled`) instead of running it when a slot frees. */
  drop?: boolean;
  /** Keeps this limit apart from others on the same parameter (or task). */
  scope?: string;
}

/** A rate limit (from {@linkcode RateLimit}). */
export interface RateLimitBehaviour extends TaskHook {
  /** What kind of behaviour this is. */
  readonly kind: "rate-limit";
  /** Runs per window. */
  readonly limit: number;
  /** The window, milliseconds. */
  readonly per: number;
  /** The payload key, if per value. */
  readonly param: string | undefined;
  /** Whether the excess is dropped. */
  readonly drop: boolean;
  /** The scope, if any. */
  readonly scope: string | undefined;
  /** The control as the store evaluates it. */
  readonly admission: Extract<AdmissionControl, { kind: "rate-limit" }>;
}

/**
 * Sliding-window rate limit: at most `limit` runs start in any window of length `per`. A task
 * over the limit is rescheduled to the moment a slot frees, or dropped with `drop: true`. Every
 * run that starts counts, failed ones and retries included; a task held back by another control
 * of its own does not use up the budget.
 *
 * @example
 * ```ts
 * import { RateLimit, task } from "@docket/core";
 * export const callPartnerApi = task({
 *   name: "call_partner_api",
 *   rateLimit: RateLimit(100, { per: { minutes: 1 }, param: "partner" }),
 *   async run({ partner }: { partner: string }) {},
 * });
 * ```
 */
export function RateLimit(limit: number, options: RateLimitOptions): RateLimitBehaviour {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "RateLimit needs options: RateLimit(limit, { per, param?, drop?, scope? })",
    );
  }
  const count = positiveCount(limit, "RateLimit limit");
  const per = positiveMillis(options.per, "RateLimit per");
  const param = checkName(options.param, "RateLimit param");
  const scope = checkName(options.scope, "RateLimit scope");
  const drop = options.drop ?? false;
  if (typeof drop !== "boolean") throw new TypeError(`RateLimit drop must be a boolean`);
  const admission = Object.freeze({
    kind: "rate-limit" as const,
    param,
    scope,
    limit: count,
    per,
    drop,
  });
  return Object.freeze({
    kind: "rate-limit" as const,
    limit: count,
    per,
    param,
    drop,
    scope,
    admission,
  });
}
