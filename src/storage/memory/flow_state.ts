/**
 * The flow-control data of one docket in memory: concurrency slots, waiter queues, the watch
 * set, and debounce, cooldown and rate-limit records. Plain structures with no rules: the rules
 * live in `flow.ts`.
 *
 * @module
 */

import type { TaskMessage } from "../backend.ts";
import { IdSequence } from "./stream.ts";
import { ExpiringMap, SortedQueue } from "./structures.ts";

/** A task parked behind a concurrency limit, with the `max` of that limit. */
export interface Waiter {
  message: TaskMessage;
  max: number;
}

/** The waiter stream of one limit: entries in arrival order, with stream-like ids. */
export class WaiterQueue {
  #entries = new Map<string, Waiter>();
  #ids = new IdSequence();

  get length(): number {
    return this.#entries.size;
  }

  append(waiter: Waiter): string {
    const id = this.#ids.next();
    this.#entries.set(id, waiter);
    return id;
  }

  first(): [string, Waiter] | undefined {
    for (const entry of this.#entries) return entry;
    return undefined;
  }

  remove(id: string): void {
    this.#entries.delete(id);
  }

  all(): Waiter[] {
    return [...this.#entries.values()];
  }
}

/** The flow-control data of one docket. */
export class FlowState {
  /** Concurrency slots per limit: member `<key>@<generation>`, scored by take or renew time. */
  readonly slots: ExpiringMap<SortedQueue> = new ExpiringMap();
  /** Parked tasks per limit. */
  readonly waiters: Map<string, WaiterQueue> = new Map();
  /** Limits with waiters, scored by when the safeguard should look at them. */
  readonly watch: SortedQueue = new SortedQueue();
  /** Debounce records: the burst's winner and when the burst was last seen. */
  readonly debounce: ExpiringMap<{ winner?: string; seen?: number }> = new ExpiringMap();
  /** Cooldowns: who started the window. */
  readonly cooldown: ExpiringMap<string> = new ExpiringMap();
  /** Rate-limit logs: member `<key>@<generation>`, scored by start time. */
  readonly rateLimits: ExpiringMap<SortedQueue> = new ExpiringMap();
}
