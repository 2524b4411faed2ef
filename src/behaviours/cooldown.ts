/**
 * Cooldown, the leading edge: a run starts, and repeats within `window` of it are dropped.
 *
 * @module
 */

import type { AdmissionControl, TaskHook } from "../hooks.ts";
import type { Duration } from "../duration.ts";
import { checkName, positiveMillis } from "./_flow_common.ts";

/** Options of {@linkcode Cooldown}. */
export interface CooldownOptions {
  /** Cool down per value of this payload key (default: per task). */
  param?: string;
  /** Keeps this cooldown apart from others on the same parameter (or task). */
  scope?: string;
}

/** A cooldown (from {@linkcode Cooldown}). */
export interface CooldownBehaviour extends TaskHook {
  /** What kind of behaviour this is. */
  readonly kind: "cooldown";
  /** How long repeats are dropped after a run starts, milliseconds. */
  readonly window: number;
  /** The payload key, if per value. */
  readonly param: string | undefined;
  /** The scope, if any. */
  readonly scope: string | undefined;
  /** The control as the store evaluates it. */
  readonly admission: Extract<AdmissionControl, { kind: "cooldown" }>;
}

/**
 * Leading-edge cooldown: the first submission runs at once; any other that would start within
 * `window` of it is dropped (it ends `cancelled`). A task may have several cooldowns, each on a
 * different parameter: it runs only when all of them pass, and a dropped task starts none of
 * their windows. Retries of a run that started are not dropped.
 *
 * @example
 * ```ts
 * import { Cooldown, task } from "@docket/core";
 * export const sendAlert = task({
 *   name: "send_alert",
 *   cooldown: [
 *     Cooldown({ minutes: 10 }, { param: "customerId" }),
 *     Cooldown({ minutes: 1 }, { param: "region" }),
 *   ],
 *   async run({ customerId, region }: { customerId: string; region: string }) {},
 * });
 * ```
 */
export function Cooldown(window: Duration, options: CooldownOptions = {}): CooldownBehaviour {
  const ms = positiveMillis(window, "Cooldown window");
  const param = checkName(options?.param, "Cooldown param");
  const scope = checkName(options?.scope, "Cooldown scope");
  const admission = Object.freeze({ kind: "cooldown" as const, param, scope, window: ms });
  return Object.freeze({ kind: "cooldown" as const, window: ms, param, scope, admission });
}
