/**
 * A memory backend's subscriptions: to one channel, or to every state and progress event of its
 * docket (the counterpart of the Redis backend's pattern subscription), all dropped on close.
 *
 * @module
 */

import type { BackendWarn, Unsubscribe } from "../backend.ts";
import type { DocketState } from "./store.ts";

/**
 * The live subscriptions of one backend.
 *
 * @example
 * ```ts ignore
 * const subscriptions = new Subscriptions(warn);
 * const stop = subscriptions.channel(docketState, "{orders}:cancel", (key) => {});
 * ```
 */
export class Subscriptions {
  #stops = new Set<() => void>();

  constructor(readonly warn: BackendWarn) {}

  /** Listens to one channel; messages arrive asynchronously, in order. */
  channel(d: DocketState, channel: string, listener: (message: string) => void): Unsubscribe {
    const onError = (error: unknown) =>
      this.warn("A subscriber to a memory channel threw", { channel, error });
    return this.#track(d.channels.subscribe(channel, listener, onError));
  }

  /** Listens to every state and progress channel of the docket. */
  events(d: DocketState, listener: (message: string) => void): Unsubscribe {
    const onError = (error: unknown) => this.warn("A subscriber to memory events threw", { error });
    const stops = [d.keys.stateChannel(""), d.keys.progressChannel("")].map((prefix) =>
      d.channels.subscribePrefix(prefix, listener, onError)
    );
    return this.#track(() => stops.forEach((stop) => stop()));
  }

  /** Stops every subscription. */
  stopAll(): void {
    for (const stop of this.#stops) stop();
    this.#stops.clear();
  }

  #track(stop: () => void): Unsubscribe {
    this.#stops.add(stop);
    return () => {
      stop();
      this.#stops.delete(stop);
      return Promise.resolve();
    };
  }
}
