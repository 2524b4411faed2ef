/**
 * Small in-process stand-ins for the Redis data types the memory backend needs: keys with a
 * time to live, a sorted set, and a list of waiters woken when data arrives.
 *
 * Expiry always uses the wall clock (`Date.now()`), like a Redis server does, never the `now`
 * a caller passes: callers' clocks are for timestamps in records, not for key lifetimes.
 *
 * @module
 */

/** How many entries each write inspects for expiry, so dead keys are freed without timers. */
const SWEEP_STEP = 4;

interface Expiring<V> {
  value: V;
  /** Wall-clock epoch ms after which the key is gone; absent: persistent. */
  expiresAt?: number;
}

/**
 * A map whose keys may carry a time to live, like Redis keys with PEXPIRE.
 *
 * Expired keys vanish lazily when read, and every write also inspects a few keys in turn
 * (like Redis's active expiry sampling), so keys that are never read again are still freed.
 * Values are held by reference: mutating a value read with `get` is like HSET on the key and
 * keeps its expiry, while `set` replaces the key and drops any expiry (DEL then HSET).
 */
export class ExpiringMap<V> {
  #entries = new Map<string, Expiring<V>>();
  #sweep?: Iterator<[string, Expiring<V>]>;

  /** The live value of `key`, removing it first when it has expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (isExpired(entry, Date.now())) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Writes `key` with no expiry, replacing any earlier value. */
  set(key: string, value: V): void {
    this.#entries.set(key, { value });
    this.#sweepSome();
  }

  /** Sets the time to live of a live key (like PEXPIRE); a missing key is left missing. */
  expire(key: string, ttlMs: number): void {
    const entry = this.#entries.get(key);
    const now = Date.now();
    // A zero or negative time to live removes the key at once, as PEXPIRE does.
    if (entry !== undefined && !isExpired(entry, now)) entry.expiresAt = now + ttlMs;
  }

  /** Removes `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Inspects the next few keys for expiry, resuming where the previous write left off. */
  #sweepSome(): void {
    const now = Date.now();
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.#sweep ??= this.#entries.entries();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return;
      }
      // Deleting the entry under a live Map iterator is safe: iteration continues past it.
      if (isExpired(next.value[1], now)) this.#entries.delete(next.value[0]);
    }
  }
}

function isExpired(entry: Expiring<unknown>, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now;
}

/**
 * A sorted set of keys scored by number, ordered like a Redis ZSET: by score, then by member.
 *
 * The order is kept in a sorted array with binary search. Inserts at the far end (the usual
 * case: tasks scheduled later than those already waiting) and batch removals from the front
 * stay cheap.
 */
export class SortedQueue {
  #scores = new Map<string, number>();
  #order: string[] = [];

  /** How many keys are queued (ZCARD). */
  get size(): number {
    return this.#order.length;
  }

  /** The score of `key` (ZSCORE). */
  score(key: string): number | undefined {
    return this.#scores.get(key);
  }

  /** Adds `key` or moves it to a new score (ZADD). */
  add(key: string, score: number): void {
    this.remove(key);
    this.#order.splice(this.#position(score, key), 0, key);
    this.#scores.set(key, score);
  }

  /** Removes `key` (ZREM); true when it was queued. */
  remove(key: string): boolean {
    const score = this.#scores.get(key);
    if (score === undefined) return false;
    this.#order.splice(this.#position(score, key), 1);
    this.#scores.delete(key);
    return true;
  }

  /** The first `limit` keys in order (ZRANGE 0 limit-1). */
  first(limit: number): string[] {
    return this.#order.slice(0, Math.max(0, limit));
  }

  /** Up to `limit` keys scored at most `max`, in order (ZRANGEBYSCORE -inf max LIMIT 0 limit). */
  dueBy(max: number, limit: number): string[] {
    const due: string[] = [];
    for (const key of this.#order) {
      if (due.length >= limit || this.#scores.get(key)! > max) break;
      due.push(key);
    }
    return due;
  }

  /**
   * Up to `limit` keys ordered before (score, key), nearest first: the newest-first walk of a
   * set scored by time (ZREVRANGEBYSCORE from a place). Without a place, from the end.
   */
  before(limit: number, score = Infinity, key?: string): { key: string; score: number }[] {
    const found: { key: string; score: number }[] = [];
    const from = score === Infinity ? this.#order.length : this.#position(score, key ?? "");
    for (let i = from - 1; i >= 0 && found.length < limit; i--) {
      const member = this.#order[i];
      found.push({ key: member, score: this.#scores.get(member)! });
    }
    return found;
  }

  /** Removes every key scored at most `max` (ZREMRANGEBYSCORE -inf max). */
  removeUpTo(max: number): void {
    let count = 0;
    while (count < this.#order.length && this.#scores.get(this.#order[count])! <= max) count++;
    for (const key of this.#order.splice(0, count)) this.#scores.delete(key);
  }

  /** The index of the first key ordered at or after (score, key). */
  #position(score: number, key: string): number {
    let low = 0;
    let high = this.#order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.#order[middle];
      if (compareMembers(this.#scores.get(other)!, other, score, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function compareMembers(scoreA: number, a: string, scoreB: number, b: string): number {
  if (scoreA !== scoreB) return scoreA < scoreB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Callers waiting for data to arrive (a blocking read), woken all at once when it does.
 *
 * Every waiter is woken so each can look again; whichever runs first takes the data, and the
 * others find nothing and wait out the rest of their time. Waking only resolves promises, so
 * woken readers run after the operation that appended the data has finished.
 */
export class WaitList {
  #wakers = new Set<() => void>();

  /**
   * Resolves on the next `wakeAll`, after `ms`, or when `signal` aborts, whichever is first.
   * The timer is cleared as soon as the wait ends, so no timer outlives it.
   */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
      signal.addEventListener("abort", done);
    });
  }

  /** Wakes every waiter. */
  wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}
