/**
 * How the benches load and time what they measure. Configurations are measured in alternating halves
 * (A B C … C B A) or interleaved call by call, and pooled per configuration, so a drift in the machine's
 * background load hits every side alike — the point of measuring the reference in the same run.
 * Statistics: shared/benchmarks/stats.ts.
 */
import { percentile, type Summary, summarize } from '../../shared/benchmarks/stats.js';
import type { Profile } from './context.js';

/** One measured segment: per-call latencies (ms) over `seconds` of wall time. */
export interface Segment {
  latencies: number[];
  seconds: number;
  errors: number;
  /** Failed calls by error code (describeError). */
  errorKinds?: Record<string, number>;
  firstError?: string;
  /** Per-call timings of named steps, when the operation reports them (e.g. a cart's save and get). */
  parts?: Record<string, number[]>;
}

/** Segments of one configuration pooled: throughput over their total time, percentiles over all calls. */
export interface Measured {
  tps: number;
  p50: number;
  p95: number;
  ops: number;
  errors: number;
  errorKinds?: Record<string, number>;
  firstError?: string;
  parts?: Record<string, Summary>;
}

/** A driver error's code (Postgres SQLSTATE, Mongo codeName …) or its class name: what to count errors by. */
export function describeError(error: unknown): string {
  const { code, codeName, name } = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  return String(codeName ?? code ?? name ?? 'unknown');
}

export const tally = (into: Record<string, number>, key: string, n = 1) => void (into[key] = (into[key] ?? 0) + n);

/** Counts by kind (errors, statuses) as `kind ×n, …`. */
export const formatTally = (counts: Record<string, number> = {}) =>
  Object.entries(counts)
    .map(([kind, n]) => `${kind} ×${n}`)
    .join(', ');

export function pool(segments: Segment[]): Measured {
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const sorted = segments.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const errorKinds: Record<string, number> = {};
  for (const [kind, n] of segments.flatMap((s) => Object.entries(s.errorKinds ?? {}))) tally(errorKinds, kind, n);
  const names = [...new Set(segments.flatMap((s) => Object.keys(s.parts ?? {})))];
  const firstError = segments.find((s) => s.firstError)?.firstError;
  return {
    tps: sorted.length / seconds,
    p50: percentile(sorted, 0.5, true),
    p95: percentile(sorted, 0.95, true),
    ops: sorted.length,
    errors: segments.reduce((sum, s) => sum + s.errors, 0),
    ...(Object.keys(errorKinds).length ? { errorKinds } : {}),
    ...(firstError ? { firstError } : {}),
    ...(names.length ? { parts: Object.fromEntries(names.map((n) => [n, summarize(segments.flatMap((s) => s.parts?.[n] ?? []))])) } : {}),
  };
}

/** n configurations as A B C … then … C B A, half the duration each; pooled per configuration. */
export async function rotate(configs: Array<(seconds: number) => Promise<Segment>>, seconds: number): Promise<Measured[]> {
  const half = Math.max(1, Math.round(seconds / 2));
  const segments: Segment[][] = configs.map(() => []);
  const indices = configs.map((_, i) => i);
  for (const order of [indices, [...indices].reverse()]) {
    for (const i of order) segments[i]!.push(await configs[i]!(half));
  }
  return segments.map(pool);
}

/** Ours and its reference at each concurrency, closed loops in rotating halves: a row of the scaling table each. */
export const SCALING: Record<Profile, number[]> = { full: [1, 4, 16, 64], quick: [1, 16], tiny: [1] };
export type ScalingPoint = { concurrency: number; ours: Measured; reference: Measured };
export async function scaling(concurrencies: number[], seconds: number, ...ops: Array<() => Promise<unknown>>): Promise<ScalingPoint[]> {
  const points: ScalingPoint[] = [];
  for (const c of concurrencies) {
    const [ours, reference] = await rotate(
      ops.map((op) => (s: number) => closedLoop(c, s, op, 0.5)),
      seconds,
    );
    points.push({ concurrency: c, ours: ours!, reference: reference! });
  }
  return points;
}

/**
 * Unrecorded time a process runs the operation before its first segment when Node is measured against a
 * compiled reference (pgbench), as a container that has served orders is warm: in a new process createOrder's
 * CPU per order fell from ~160 to ~85 µs over the first 5–8 s (JIT tiers, heap growth).
 */
export const PROCESS_WARMUP_S: Record<Profile, number> = { full: 8, quick: 5, tiny: 0 };

/**
 * `concurrency` loops calling `op` back to back for `seconds` (after `warmupSeconds` unrecorded); latency per
 * call in ms. An op may also report the timings of its steps (a cart's save and get), kept per step.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  op: (step: (name: string, ms: number) => void) => Promise<unknown>,
  warmupSeconds = 1,
): Promise<Segment> {
  const run = async (duration: number): Promise<Segment> => {
    const segment: Segment & Required<Pick<Segment, 'errorKinds' | 'parts'>> = {
      latencies: [],
      seconds: 0,
      errors: 0,
      errorKinds: {},
      parts: {},
    };
    const step = (name: string, ms: number) => void (segment.parts[name] ??= []).push(ms);
    const started = performance.now();
    const deadline = started + duration * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          try {
            await op(step);
            segment.latencies.push(performance.now() - t0);
          } catch (error) {
            segment.errors++;
            tally(segment.errorKinds, describeError(error));
            segment.firstError ??= `${describeError(error)} ${error instanceof Error ? error.message : String(error)}`;
          }
        }
      }),
    );
    segment.seconds = (performance.now() - started) / 1000;
    return segment;
  };
  if (warmupSeconds > 0) await run(warmupSeconds);
  return run(seconds);
}

/**
 * Calls each function once per round, one at a time, the order reversed every other round; latencies (ms)
 * per function. A call that returns false is not recorded (e.g. a cache hit that turned into a refresh).
 * `beforeRound` runs first in each round: it may set the input every call of the round shares.
 */
export async function interleave(
  rounds: number,
  fns: Array<() => Promise<unknown>>,
  beforeRound?: (round: number) => void,
): Promise<number[][]> {
  const latencies = fns.map((): number[] => []);
  const indices = fns.map((_, i) => i);
  for (let round = 0; round < rounds; round++) {
    beforeRound?.(round);
    for (const i of round % 2 === 0 ? indices : [...indices].reverse()) {
      const [ms, result] = await time(fns[i]!);
      if (result !== false) latencies[i]!.push(ms);
    }
  }
  return latencies;
}

/** Times one async call: [elapsed ms, value]. */
export async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
}
