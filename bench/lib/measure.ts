/**
 * Closed-loop load and drift-resistant pairing (from bench/orders.ts, now shared): `concurrency`
 * callers call an operation back to back; configurations are measured in alternating halves (A B B A,
 * or A B C … C B A) and pooled per configuration, so a drift in the machine's background load hits
 * every side alike — the point of measuring the reference in the same run.
 */
import { percentile, sortedCopy } from './stats.js';

/** One measured segment: per-call latencies (ms) over `seconds` of wall time. */
export interface Segment {
  latencies: number[];
  seconds: number;
  errors: number;
  firstError?: string;
}

/** Segments of one configuration pooled: throughput over their total time, percentiles over all calls. */
export interface Measured {
  tps: number;
  p50: number;
  p95: number;
  ops: number;
  errors: number;
  firstError?: string;
}

export function summarise(segments: Segment[]): Measured {
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const sorted = sortedCopy(segments.flatMap((s) => s.latencies));
  const errors = segments.reduce((sum, s) => sum + s.errors, 0);
  const firstError = segments.find((s) => s.firstError)?.firstError;
  return {
    tps: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    ops: sorted.length,
    errors,
    ...(firstError ? { firstError } : {}),
  };
}

/** Runs A and B as A B B A, each segment half the duration, and pools each side. */
export async function abba(
  a: (seconds: number) => Promise<Segment>,
  b: (seconds: number) => Promise<Segment>,
  seconds: number,
): Promise<[Measured, Measured]> {
  const half = Math.max(1, Math.round(seconds / 2));
  const a1 = await a(half);
  const b1 = await b(half);
  const b2 = await b(half);
  const a2 = await a(half);
  return [summarise([a1, a2]), summarise([b1, b2])];
}

/** Like abba for n configurations: A B C … then … C B A, half the duration each; pooled per configuration. */
export async function rotate(configs: Array<(seconds: number) => Promise<Segment>>, seconds: number): Promise<Measured[]> {
  const half = Math.max(1, Math.round(seconds / 2));
  const segments: Segment[][] = configs.map(() => []);
  const indices = configs.map((_, i) => i);
  for (const order of [indices, [...indices].reverse()]) {
    for (const i of order) segments[i]!.push(await configs[i]!(half));
  }
  return segments.map(summarise);
}

/** `concurrency` loops calling `op` back to back for `seconds` (after `warmupSeconds` unrecorded); latency per call in ms. */
export async function closedLoop(concurrency: number, seconds: number, op: () => Promise<void>, warmupSeconds = 1): Promise<Segment> {
  const run = async (duration: number, record: boolean): Promise<Segment> => {
    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    const started = performance.now();
    const deadline = started + duration * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          try {
            await op();
            if (record) latencies.push(performance.now() - t0);
          } catch (error) {
            errors++;
            firstError ??= error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
          }
        }
      }),
    );
    return { latencies, seconds: (performance.now() - started) / 1000, errors, ...(firstError ? { firstError } : {}) };
  };
  if (warmupSeconds > 0) await run(warmupSeconds, false);
  return run(seconds, true);
}

/** Calls `a` and `b` alternately (a, b, b, a, …) `n` times each; latencies in ms per side. */
export async function interleave(n: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  const as: number[] = [];
  const bs: number[] = [];
  const one = async (fn: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    await fn();
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      await one(a, as);
      await one(b, bs);
    } else {
      await one(b, bs);
      await one(a, as);
    }
  }
  return [as, bs];
}
