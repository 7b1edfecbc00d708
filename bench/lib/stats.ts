/**
 * Percentiles and summaries shared by the bench scripts (previously copy-pasted in each of them).
 *
 * Two definitions, kept because the scripts that used them reported with them:
 * - `percentile` — nearest rank (the smallest sample with at least q of the samples at or below it);
 *   orders, top products, the suite's own benches;
 * - `percentileLinear` — linear interpolation between the two closest ranks; carts.
 * Both take samples sorted ascending and q in [0, 1].
 */

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function percentileLinear(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = q * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function sortedCopy(samples: Iterable<number>): number[] {
  return [...samples].sort((a, b) => a - b);
}

export function median(samples: Iterable<number>): number {
  return percentile(sortedCopy(samples), 0.5);
}

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

const round3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);

/** n, nearest-rank p50/p95/p99, mean, min, max of latency samples (ms), rounded to µs. */
export function stats(samples: Iterable<number>): Stats {
  const sorted = sortedCopy(samples);
  const n = sorted.length;
  const mean = n === 0 ? Number.NaN : sorted.reduce((sum, x) => sum + x, 0) / n;
  return {
    n,
    p50: round3(percentile(sorted, 0.5)),
    p95: round3(percentile(sorted, 0.95)),
    p99: round3(percentile(sorted, 0.99)),
    mean: round3(mean),
    min: round3(n ? sorted[0]! : Number.NaN),
    max: round3(n ? sorted[n - 1]! : Number.NaN),
  };
}

/** Times one async call: [elapsed ms, value]. */
export async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
}
