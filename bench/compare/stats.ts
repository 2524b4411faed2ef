/**
 * Small statistics helpers for a handful of repeated measurements.
 *
 * With three repetitions an interquartile range says nothing, so the spread reported is the
 * full range (max − min); percentiles interpolate linearly between closest ranks so that p99 of
 * 1,000 samples is not pinned to a single outlier's rank.
 */

/** What the table shows for one contender in one row. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** max − min */
  spread: number;
  count: number;
}

function sortedCopy(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError("no values to summarize");
  return [...values].sort((a, b) => a - b);
}

/** The p-th percentile (0 ≤ p ≤ 100), interpolating linearly between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile out of range: ${p}`);
  const sorted = sortedCopy(values);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const weight = rank - lower;
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortedCopy(values);
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  return { median: median(sorted), min, max, spread: max - min, count: sorted.length };
}

/** Half the range as a share of the median: "±x %" in the table. */
export function relativeHalfSpread(summary: Summary): number {
  if (summary.median === 0) return 0;
  return summary.spread / 2 / Math.abs(summary.median);
}
