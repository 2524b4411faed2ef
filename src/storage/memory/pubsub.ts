/**
 * In-process publish/subscribe, standing in for Redis PUBLISH and SUBSCRIBE.
 *
 * @module
 */

/** A live subscription; `active` turns false when it is removed. */
interface Subscription {
  listener: (message: string) => void;
  active: boolean;
}

/**
 * Channels of one memory store, shared by every docket and backend on the same URL (Redis
 * pub/sub is server-wide too; channel names carry the docket prefix).
 *
 * Delivery is asynchronous: `publish` only queues a microtask per listener, so listeners never
 * run inside the atomic operation that published, and each sees messages in publish order.
 */
export class PubSub {
  #channels = new Map<string, Set<Subscription>>();
  /** Subscriptions to every channel whose name starts with a prefix (Redis PSUBSCRIBE `p*`). */
  #prefixes = new Map<Subscription, string>();

  /** As `subscribe`, for every channel whose name starts with `prefix`. */
  subscribePrefix(
    prefix: string,
    listener: (message: string) => void,
    onError: (error: unknown) => void,
  ): () => void {
    const subscription: Subscription = { listener: guard(listener, onError), active: true };
    this.#prefixes.set(subscription, prefix);
    return () => {
      subscription.active = false;
      this.#prefixes.delete(subscription);
    };
  }

  /**
   * Starts delivering `channel`'s messages to `listener`; returns the function that stops it.
   * A listener that throws is reported to `onError` and keeps its subscription.
   */
  subscribe(
    channel: string,
    listener: (message: string) => void,
    onError: (error: unknown) => void,
  ): () => void {
    const subscription: Subscription = { listener: guard(listener, onError), active: true };
    let subscribers = this.#channels.get(channel);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#channels.set(channel, subscribers);
    }
    subscribers.add(subscription);
    return () => this.#remove(channel, subscription);
  }

  /** Queues `message` for every current subscriber of `channel`. */
  publish(channel: string, message: string): void {
    const subscribers = [...(this.#channels.get(channel) ?? [])];
    for (const [subscription, prefix] of this.#prefixes) {
      if (channel.startsWith(prefix)) subscribers.push(subscription);
    }
    for (const subscription of subscribers) {
      // Checked again on delivery: a listener removed after the publish hears nothing more,
      // as a Redis client stops calling a listener once it has unsubscribed.
      queueMicrotask(() => {
        if (subscription.active) subscription.listener(message);
      });
    }
  }

  #remove(channel: string, subscription: Subscription): void {
    subscription.active = false;
    const subscribers = this.#channels.get(channel);
    if (subscribers === undefined) return;
    subscribers.delete(subscription);
    if (subscribers.size === 0) this.#channels.delete(channel);
  }
}

function guard(
  listener: (message: string) => void,
  onError: (error: unknown) => void,
): (message: string) => void {
  return (message) => {
    try {
      listener(message);
    } catch (error) {
      onError(error);
    }
  };
}
