/**
 * Which abandoned messages a worker takes over at once. A message whose worker vanished once is
 * most often the victim of a crash: those are taken over in batches, so a fleet recovers fast. A
 * message whose workers vanished twice or more may be the cause (a task that blocks or crashes
 * its worker): it is taken over alone, so whatever ran beside it last time does not go down
 * with it again, and only it reaches the redelivery cap.
 *
 * @module
 */

/** A pending message idle past the lease, as XPENDING reports it. */
export interface IdleMessage {
  /** The stream entry id. */
  id: string;
  /** How many times it has been delivered so far. */
  times: number;
}

/**
 * The ids to take over, in id order: every message delivered once (up to `count`), else the
 * first message delivered more often, alone.
 *
 * @example
 * ```ts ignore
 * pickReclaims([{ id: "1-0", times: 3 }, { id: "2-0", times: 1 }], 10); // ["2-0"]
 * ```
 */
export function pickReclaims(idle: readonly IdleMessage[], count: number): string[] {
  const once = idle.filter((message) => message.times <= 1).slice(0, count).map((m) => m.id);
  if (once.length > 0 || count < 1) return once;
  return idle.length > 0 ? [idle[0].id] : [];
}

/** How many idle messages to look at to pick `count` (bounded, like XAUTOCLAIM's scan). */
export function reclaimScan(count: number): number {
  return Math.min(100, Math.max(10, count * 4));
}
