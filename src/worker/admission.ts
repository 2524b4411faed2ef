/**
 * Flow control in the worker: which tasks are gated, resolving their controls against a payload,
 * asking the store to admit a delivery, releasing and renewing the slots of running tasks, and
 * the safeguard loop that recovers limits whose holders died.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { AdmissionControl } from "../hooks.ts";
import type { TaskDefinition } from "../definition.ts";
import type { AdmissionCheck, Delivery, SlotHold } from "../storage/backend.ts";
import type { Logger } from "../logging/logger.ts";
import type { Payload } from "../types.ts";
import { decodeValue } from "../codec.ts";
import { keyPart } from "../keys.ts";

const CONSTRUCTORS: Record<AdmissionControl["kind"], string> = {
  concurrency: "ConcurrencyLimit",
  debounce: "Debounce",
  cooldown: "Cooldown",
  "rate-limit": "RateLimit",
};

const KEY_PART: Record<AdmissionControl["kind"], string> = {
  concurrency: "concurrency",
  debounce: "debounce",
  cooldown: "cooldown",
  "rate-limit": "ratelimit",
};

/**
 * A payload value as it appears in a key: the text of a string, JSON for anything else (so `1001`
 * and `"1001"` share a limit, as they print alike), then escaped by {@linkcode keyPart}.
 */
function valueText(value: unknown): string {
  if (typeof value === "string") return keyPart(value);
  if (typeof value === "bigint") return value.toString();
  return keyPart(JSON.stringify(value) ?? String(value));
}

/**
 * The name of a control's data for one task and payload (under the docket's prefix):
 * `[<scope>:]<kind>:<param>:<value>`, or `[<scope>:]<kind>:<task>` for a per-task control, each
 * part escaped by {@linkcode keyPart}.
 * Throws a TypeError naming the missing parameter and the available ones.
 */
export function controlName(
  control: AdmissionControl,
  taskName: string,
  payload: Payload,
): string {
  const scope = control.scope === undefined ? "" : `${keyPart(control.scope)}:`;
  const kind = KEY_PART[control.kind];
  if (control.param === undefined) return `${scope}${kind}:${keyPart(taskName)}`;
  const value = payload[control.param];
  if (value === undefined) {
    const available = Object.keys(payload).filter((name) => payload[name] !== undefined);
    throw new TypeError(
      `${CONSTRUCTORS[control.kind]} parameter "${control.param}" not found in the payload of ` +
        `task "${taskName}"; available: ${available.length ? available.join(", ") : "(none)"}`,
    );
  }
  return `${scope}${kind}:${keyPart(control.param)}:${valueText(value)}`;
}

/** Resolves every control of a task for one payload; refuses two controls on the same data. */
export function resolveChecks(
  controls: readonly AdmissionControl[],
  taskName: string,
  payload: Payload,
): AdmissionCheck[] {
  const seen = new Set<string>();
  return controls.map((control) => {
    const name = controlName(control, taskName, payload);
    if (seen.has(name)) {
      throw new TypeError(
        `task "${taskName}" has two ${CONSTRUCTORS[control.kind]} controls on the same data ` +
          `("${name}"); give one of them a scope`,
      );
    }
    seen.add(name);
    switch (control.kind) {
      case "concurrency":
        return { kind: "concurrency", name, max: control.max };
      case "debounce":
        return { kind: "debounce", name, settle: control.settle };
      case "cooldown":
        return { kind: "cooldown", name, window: control.window };
      case "rate-limit":
        return {
          kind: "rate-limit",
          name,
          limit: control.limit,
          per: control.per,
          drop: control.drop,
        };
    }
  });
}

/** What admitting a delivery came to. */
export type Admission = { admitted: true; hold?: SlotHold } | { admitted: false };

/** A worker's flow control. */
export class FlowControl {
  #docket: Docket;
  #worker: string;
  #leaseMs: number;
  #logger: Logger;
  #controls = new WeakMap<TaskDefinition, readonly AdmissionControl[]>();
  #waking = new Set<Promise<void>>();

  /** Serves the worker `worker`; `leaseMs` is its redelivery timeout. */
  constructor(docket: Docket, worker: string, leaseMs: number, logger: Logger) {
    this.#docket = docket;
    this.#worker = worker;
    this.#leaseMs = leaseMs;
    this.#logger = logger;
  }

  /** The flow controls of a task, in the order its hooks list them. */
  controls(definition: TaskDefinition): readonly AdmissionControl[] {
    let controls = this.#controls.get(definition);
    if (controls === undefined) {
      controls = definition.hooks.flatMap((hook) => hook.admission ? [hook.admission] : []);
      this.#controls.set(definition, controls);
    }
    return controls;
  }

  /** True when the task has flow controls: it is claimed without being marked running. */
  gated(definition: TaskDefinition): boolean {
    return this.controls(definition).length > 0;
  }

  /** True when a registered task has a concurrency limit (the safeguard is then needed). */
  get limitsAnyTask(): boolean {
    for (const definition of this.#docket.tasks.values()) {
      if (this.controls(definition).some((control) => control.kind === "concurrency")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Asks the store to admit a gated delivery. Throws (a TypeError) when a control's parameter
   * is missing from the payload: the task must fail. A store error is logged and the task left
   * unadmitted: its message stays pending and is delivered again after the redelivery timeout.
   */
  async admit(
    delivery: Delivery,
    definition: TaskDefinition,
    payload: Payload,
    logger: Logger,
  ): Promise<Admission> {
    const { message } = delivery;
    const checks = resolveChecks(this.controls(definition), message.task, payload);
    const now = Date.now();
    let outcome;
    try {
      outcome = await this.#docket.backend.admit({
        delivery,
        worker: this.#worker,
        checks,
        leaseMs: this.#leaseMs,
        ttlMs: this.#docket.executionTtl,
      }, now);
    } catch (error) {
      logger.error({ err: error }, `admission of ${message.key} failed; it will be redelivered`);
      return { admitted: false };
    }
    if (outcome.wake.length > 0) this.#wake(outcome.wake);
    switch (outcome.outcome) {
      case "admitted": {
        const limits = checks.filter((check) => check.kind === "concurrency")
          .map((check) => check.name);
        const hold = limits.length
          ? { key: message.key, generation: message.generation, limits }
          : undefined;
        return { admitted: true, hold };
      }
      case "parked":
        logger.debug({ limit: outcome.limit }, `⏸ ${message.key} waits for ${outcome.limit}`);
        break;
      case "rescheduled":
        logger.debug(
          { when: outcome.when },
          `⏳ ${message.key} held back until ${new Date(outcome.when).toISOString()}`,
        );
        break;
      case "dropped":
        logger.info({ reason: outcome.reason }, `⏭ ${message.key} dropped by ${outcome.reason}`);
        break;
      case "stale":
        logger.debug(`${message.key} was cancelled or superseded before it was admitted`);
        break;
    }
    return { admitted: false };
  }

  /** Frees a finished run's slots and wakes the waiters that fit. */
  async release(hold: SlotHold): Promise<void> {
    try {
      await this.#docket.backend.release({
        limits: hold.limits,
        holder: { key: hold.key, generation: hold.generation },
        leaseMs: this.#leaseMs,
      }, Date.now());
    } catch (error) {
      // The slots go stale after the redelivery timeout; the safeguard then frees them.
      this.#logger.warn({ err: error, key: hold.key }, "releasing concurrency slots failed");
    }
  }

  /**
   * For a gated delivery that ended before admission was asked (it was struck): frees any slot
   * reserved for it when it was woken from a waiter stream, so the waiters behind it need not
   * wait for the reservation to go stale.
   */
  async giveBack(delivery: Delivery, definition: TaskDefinition): Promise<void> {
    const { message } = delivery;
    let limits: string[];
    try {
      const payload = decodeValue(message.data) as Payload;
      limits = resolveChecks(this.controls(definition), message.task, payload)
        .filter((check) => check.kind === "concurrency").map((check) => check.name);
    } catch {
      return; // Nothing can be resolved, so nothing was reserved under these names.
    }
    if (limits.length === 0) return;
    await this.release({ key: message.key, generation: message.generation, limits });
  }

  /** Renews the slots of running tasks. */
  async renew(holds: SlotHold[]): Promise<void> {
    if (holds.length === 0) return;
    try {
      await this.#docket.backend.renewSlots(holds, Date.now(), this.#leaseMs);
    } catch (error) {
      this.#logger.warn({ err: error }, "renewing concurrency slots failed");
    }
  }

  /**
   * The safeguard: while `running()`, looks at limits whose waiters may be stuck behind dead
   * holders, every `every` ms (sleeping with `sleep`). While no registered task has a
   * concurrency limit it sends nothing.
   */
  async safeguardLoop(
    running: () => boolean,
    sleep: (ms: number) => Promise<void>,
    every: number,
  ): Promise<void> {
    while (running()) {
      try {
        while (
          running() && this.limitsAnyTask &&
          await this.#docket.backend.scavenge(Date.now(), this.#leaseMs, 100) >= 100
        );
      } catch (error) {
        this.#logger.warn({ err: error }, "checking concurrency limits failed; retrying");
      }
      await sleep(every);
    }
  }

  /** Resolves once the wake-ups started so far have ended (called as the worker stops). */
  async settle(): Promise<void> {
    await Promise.all([...this.#waking]);
  }

  #wake(limits: string[]): void {
    const waking = this.#docket.backend.release({ limits, leaseMs: this.#leaseMs }, Date.now())
      .catch((error) => this.#logger.warn({ err: error }, "waking concurrency waiters failed"))
      .finally(() => this.#waking.delete(waking));
    this.#waking.add(waking);
  }
}
