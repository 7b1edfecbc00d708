/**
 * The one statistics module of the benchmarks: the runBenchmarks Lambda and the `npm run bench` suite both
 * summarise their samples here, so a p95 means the same thing in a stored run, a bench result file and a
 * report. It imports nothing, so the Lambda bundles it without any tooling dependency.
 *
 * Percentile: linear interpolation between the closest ranks (Hyndman & Fan type 7: numpy's default,
 * Excel's PERCENTILE.INC). For n samples sorted ascending x[0] … x[n−1] and q in [0, 1]:
 *   r = q·(n − 1),  P(q) = x[⌊r⌋] + (x[⌈r⌉] − x[⌊r⌋])·(r − ⌊r⌋)
 * so P(0) = min, P(1) = max and P(0.5) is the usual median; it moves smoothly with the samples where
 * nearest rank jumps from one sample to the next (which matters for p95/p99 of a few hundred calls).
 * No samples: NaN (stored as null in JSON), never a made-up 0.
 */
export function percentile(values: ArrayLike<number>, q: number, sorted = false): number {
  if (values.length === 0) return Number.NaN;
  const x = sorted ? values : Array.from(values).sort((a, b) => a - b);
  const rank = q * (x.length - 1);
  const low = Math.floor(rank);
  return x[low]! + (x[Math.ceil(rank)]! - x[low]!) * (rank - low);
}

export const median = (values: ArrayLike<number>): number => percentile(values, 0.5);

/** Rounds for storage and display (sub-millisecond timings stay readable); NaN and ±Infinity pass through. */
export function round(value: number, decimals = 4): number {
  const factor = 10 ** decimals;
  return Number.isFinite(value) ? Math.round(value * factor) / factor : value;
}

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The distribution of latency samples (ms), rounded to microseconds by default. */
export function summarize(samples: Iterable<number>, decimals = 3): Summary {
  const x = [...samples].sort((a, b) => a - b);
  const r = (value: number) => round(value, decimals);
  return {
    n: x.length,
    mean: r(x.reduce((sum, value) => sum + value, 0) / x.length),
    min: r(x[0] ?? Number.NaN),
    p50: r(percentile(x, 0.5, true)),
    p95: r(percentile(x, 0.95, true)),
    p99: r(percentile(x, 0.99, true)),
    max: r(x.at(-1) ?? Number.NaN),
  };
}

/** The value seen most often (the first of equals), told apart by `key`: the usual cost of a call that is sometimes dearer. */
export function mostFrequent<T>(values: readonly T[], key: (value: T) => string = (value) => JSON.stringify(value)): T {
  const tally = new Map<string, { value: T; n: number }>();
  for (const value of values) {
    const entry = tally.get(key(value));
    if (entry) entry.n += 1;
    else tally.set(key(value), { value, n: 1 });
  }
  const [usual] = [...tally.values()].sort((a, b) => b.n - a.n);
  if (!usual) throw new Error('mostFrequent: no values');
  return usual.value;
}
