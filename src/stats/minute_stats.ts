/**
 * Per-minute run counters, kept by the store itself as runs finish, for the dashboard's charts.
 *
 * Each minute of the docket has one small hash (`{<docket>}:stats:<minute>`, minute = epoch
 * milliseconds / 60 000) that lives for {@linkcode STATS_TTL_MS}: memory stays bounded whatever
 * the traffic, and there is no key per task. The finish write that records a batch of runs' ends
 * also counts them here, so keeping the counters costs no extra round trip. Fields:
 *
 * - `completed`, `failed`, `cancelled`: runs that ended so, that minute;
 * - `d<b>`: runs whose duration (start to end) fell in bucket `b` (see {@linkcode durationBucket});
 * - `depth`: how many messages were on the stream at the last finish of that minute.
 *
 * @module
 */

/** How long a minute's counters are kept: the dashboard shows the last hour. */
export const STATS_TTL_MS = 2 * 60 * 60 * 1000;

/** Milliseconds in a minute. */
const MINUTE_MS = 60_000;

/** The counters of one minute, as stored (field name to count). */
export type StatsRecord = Record<string, number>;

/**
 * The minute number of an instant (epoch milliseconds / 60 000, rounded down).
 *
 * @example
 * ```ts
 * import { minuteOf } from "./minute_stats.ts";
 * minuteOf(120_500); // 2
 * ```
 */
export function minuteOf(epochMs: number): number {
  return Math.floor(epochMs / MINUTE_MS);
}

/**
 * The duration bucket of a run that took `ms` milliseconds: buckets grow by a factor of √2, so
 * a percentile read back is within about 41% of the truth, from a handful of fields. The finish
 * script computes the same formula in Lua.
 *
 * @example
 * ```ts
 * import { durationBucket } from "./minute_stats.ts";
 * durationBucket(0); // 0
 * ```
 */
export function durationBucket(ms: number): number {
  return Math.floor(2 * Math.log2(Math.max(0, ms) + 1));
}

/** The upper edge of a duration bucket, in milliseconds. */
export function bucketUpperMs(bucket: number): number {
  return Math.round(2 ** ((bucket + 1) / 2) - 1);
}

/**
 * Adds one finished run to a minute's counters (the memory store's counterpart of the finish
 * script's counting).
 */
export function countRun(
  record: StatsRecord,
  state: string,
  durationMs: number | undefined,
  depth: number,
): void {
  record[state] = (record[state] ?? 0) + 1;
  if (durationMs !== undefined) {
    const field = `d${durationBucket(durationMs)}`;
    record[field] = (record[field] ?? 0) + 1;
  }
  record.depth = depth;
}

/** One minute of the chart series. */
export interface MinutePoint {
  /** The minute's start, epoch milliseconds. */
  at: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Median duration of the runs that ended that minute (ms); undefined when none did. */
  p50?: number;
  /** 95th percentile duration (ms). */
  p95?: number;
  /** Stream depth at the minute's last finish; undefined when nothing finished. */
  depth?: number;
}

/**
 * Turns stored minute records (oldest first, one per minute from `firstMinute`) into points.
 *
 * @example
 * ```ts
 * import { toPoints } from "./minute_stats.ts";
 * toPoints(10, [{ completed: 2, d4: 2 }])[0].completed; // 2
 * ```
 */
export function toPoints(firstMinute: number, records: readonly StatsRecord[]): MinutePoint[] {
  return records.map((record, i) => ({
    at: (firstMinute + i) * MINUTE_MS,
    completed: record.completed ?? 0,
    failed: record.failed ?? 0,
    cancelled: record.cancelled ?? 0,
    p50: percentile(record, 0.5),
    p95: percentile(record, 0.95),
    depth: record.depth,
  }));
}

/** The `p` quantile (0..1) of a minute's duration histogram, as a bucket's upper edge. */
export function percentile(record: StatsRecord, p: number): number | undefined {
  const buckets = Object.entries(record)
    .filter(([field]) => /^d\d+$/.test(field))
    .map(([field, count]) => [Number(field.slice(1)), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= p * total) return bucketUpperMs(bucket);
  }
  return bucketUpperMs(buckets[buckets.length - 1][0]);
}
