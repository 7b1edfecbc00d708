import { describe, expect, it } from 'vitest';
import { functionsFromServerlessYml } from '../../bench/cold-start.js';
import { assertScratchName, scratchUrl } from '../../bench/lib/fixtures.js';
import { interleave } from '../../bench/lib/measure.js';
import { pgbenchSegment } from '../../bench/lib/pgbench.js';
import { type SuiteResult, validateSuiteResult } from '../../bench/lib/result.js';
import { errorRate, scalingRows } from '../../bench/load.js';
import { AT_MINIMUM } from '../../bench/round-trips.js';
import { BENCHES } from '../../bench/run.js';
import { metricsTable, renderTable } from '../../scripts/report/table.js';
import { formatRatio, metric } from '../../shared/benchmarks/metric.js';
import { mostFrequent, percentile, summarize } from '../../shared/benchmarks/stats.js';

describe('shared/benchmarks/stats: the one percentile (linear interpolation between closest ranks)', () => {
  it('interpolates between ranks', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 0.5)).toBe(5.5);
    expect(percentile(sorted, 0.95)).toBeCloseTo(9.55);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([10, 1, 7, 4], 1)).toBe(10);
    expect(Number.isNaN(percentile([], 0.5))).toBe(true);
  });

  it('summarize sorts its input and rounds to microseconds', () => {
    const s = summarize([3.0004, 1, 2, 100]);
    expect(s).toMatchObject({ n: 4, p50: 2.5, p95: 85.45, p99: 97.09, min: 1, max: 100 });
    expect(s.mean).toBeCloseTo(26.5, 3);
  });
});

describe('shared/benchmarks/stats: the usual value of samples that are sometimes dearer', () => {
  it('is the value seen most often, compared by content, the first of equals on a tie', () => {
    expect(mostFrequent([1, 3, 1, 1, 3])).toBe(1);
    expect(mostFrequent([{ pg: 1 }, { pg: 3 }, { pg: 1 }])).toEqual({ pg: 1 });
    expect(mostFrequent([2, 5])).toBe(2);
    expect(() => mostFrequent([])).toThrow(/no values/);
  });
});

describe('bench/lib: metrics', () => {
  it('computes ratio = ours / reference and judges the goal', () => {
    const m = metric('orders', { metric: 'x', ours: 90, reference: 100, unit: 'orders/s', goal: { on: 'ratio', op: '>=', value: 0.8 } });
    expect(m).toMatchObject({ bench: 'orders', ratio: 0.9, goal: 'ratio ≥ 0.80', pass: true });
    expect(metric('b', { metric: 'y', ours: 151, unit: 'KB', goal: { on: 'ours', op: '<=', value: 150 } }).pass).toBe(false);
    expect(metric('b', { metric: 'z', ours: 1, unit: 'ms' })).toMatchObject({ reference: null, ratio: null, goal: null, pass: null });
    expect(
      metric('b', { metric: 'w', ours: 1, reference: 2, unit: 'ms', goal: { on: 'ratio', op: '<=', value: 0.1 }, judge: false }).pass,
    ).toBeNull();
  });

  it('judges a round-trip count as its minimum exactly: fewer trips means a counter missed some, or a call is gone', () => {
    const judged = (ours: number) => metric('round-trips', { metric: 'r', ours, reference: 2, unit: 'trips', goal: AT_MINIMUM }).pass;
    expect([judged(0), judged(1), judged(2), judged(3)]).toEqual([false, false, true, false]);
  });

  it('load: a step whose requests all failed unanswered has an error rate that fails its goal, not 0 %', () => {
    const step = { requests: 0, errors: 50, errorKinds: { 'timeout/connection error': 50 } };
    expect(errorRate(step)).toBe(1);
    expect(errorRate({ requests: 0, errors: 0, errorKinds: {} })).toBeNaN();
    expect(errorRate({ requests: 99, errors: 2, errorKinds: { 'timeout/connection error': 1 } })).toBe(0.02);
  });

  it('load: a series that stopped before 16 connections fails the 16-vs-4 row instead of leaving it out', () => {
    const step = (concurrency: number, throughput: number) => ({ concurrency, throughput, latency: { p95: 10 } });
    const [missing] = scalingRows('shop', [step(4, 200)], 'p99 above 5000 ms at 4 connections', [4, 16]);
    expect(missing).toMatchObject({ pass: false, note: 'no step at 16 connections: p99 above 5000 ms at 4 connections' });
    const [met] = scalingRows('shop', [step(4, 200), step(16, 250)], 'done', [4, 16]);
    expect(met).toMatchObject({ ratio: 1.25, pass: true });
    // A profile without both levels (--tiny) has no such row.
    expect(scalingRows('shop', [step(2, 100)], 'done', [2])).toEqual([]);
  });

  it('formats small ratios as fractions', () => {
    expect(formatRatio(0.0025)).toBe('1/400');
    expect(formatRatio(1.31)).toBe('1.31×');
  });

  it('prints one table in the terminal and in Markdown', () => {
    const rows = [metric('seed', { metric: 'load', ours: 40, reference: 36, unit: 's', goal: { on: 'ratio', op: '<=', value: 1.7 } })];
    expect(renderTable(metricsTable(rows))).toMatch(/^bench\s+metric\s+ours\s+reference\s+ratio\s+goal\s+pass\/fail/);
    expect(renderTable(metricsTable(rows))).toContain('pass');
    expect(renderTable(metricsTable(rows), 'markdown')).toContain('| seed | load | 40 s | 36 s | 1.11× | ratio ≤ 1.70 | pass |');
    expect(renderTable({ header: ['a', 'b'], rows: [['x', '1']] }).split('\n')).toHaveLength(3);
  });

  it('validates the shape of a result file, never its numbers', () => {
    const good: SuiteResult = {
      version: 1,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 1,
      profile: 'tiny',
      only: null,
      machine: { cpus: 2, cpuModel: 'x', node: 'v20', platform: 'linux', loadBefore: [1, 1, 1], loadAfter: [1, 1, 1] },
      setup: {},
      benches: [{ name: 'seed', status: 'ok', durationMs: 1, metrics: [], details: {} }],
      metrics: [metric('seed', { metric: 'x', ours: 5, reference: 1, unit: 's', goal: { on: 'ratio', op: '<=', value: 1.7 } })],
      summary: { passed: 0, failed: 1, informational: 0, benchesFailed: 0, benchesSkipped: 0 },
    };
    expect(validateSuiteResult(good)).toEqual([]);
    expect(validateSuiteResult({ ...good, version: 2 })).toContain('version must be 1');
    expect(validateSuiteResult({ ...good, benches: [{ name: 'x', status: 'failed', durationMs: 1, metrics: [], details: {} }] })).toContain(
      'benches[0] (failed) needs an error/reason',
    );
    expect(validateSuiteResult({ ...good, metrics: [{ ...good.metrics[0]!, reference: null }] })).toContain(
      'metrics[0]: a ratio without a reference',
    );
  });
});

describe('bench/lib: interleave', () => {
  it('runs the compared calls on the same input in each round, alternating their order', async () => {
    const seen: Array<[string, number]> = [];
    let input = 0;
    let next = 0;
    await interleave(4, [async () => void seen.push(['handler', input]), async () => void seen.push(['sql', input])], () => {
      input = next++;
    });
    expect(seen).toEqual([
      ['handler', 0],
      ['sql', 0],
      ['sql', 1],
      ['handler', 1],
      ['handler', 2],
      ['sql', 2],
      ['sql', 3],
      ['handler', 3],
    ]);
  });
});

describe('bench/lib: scratch databases', () => {
  it('refuses anything but shop_bench*', () => {
    expect(() => assertScratchName('shop')).toThrow(/refusing/);
    expect(() => assertScratchName('shop_test')).toThrow(/refusing/);
    expect(() => assertScratchName('shop_benchmark')).toThrow(/refusing/);
    expect(() => assertScratchName('shop_bench_orders')).not.toThrow();
    expect(scratchUrl('postgres://u@h:5432/shop', 'shop_bench')).toBe('postgres://u@h:5432/shop_bench');
  });
});

describe('bench suite definition', () => {
  it('covers every benchmark the issue names, the data set first and the load test last', () => {
    const names = BENCHES.map((b) => b.name);
    expect(names).toEqual(
      expect.arrayContaining(['seed', 'orders', 'top-products', 'carts', 'cold-start', 'http-overhead', 'pooler', 'load', 'round-trips']),
    );
    expect(names[0]).toBe('seed');
    expect(names.at(-1)).toBe('load');
  });

  it('keeps what the per-feature scripts alone measured as opt-in benchmarks', () => {
    const optIn = BENCHES.filter((b) => b.optIn).map((b) => b.name);
    expect(optIn).toEqual(['orders-variants', 'orders-http', 'pooler-direct', 'analytics']);
  });

  it('reads every function and its handler module from serverless.yml', () => {
    const functions = functionsFromServerlessYml();
    expect(functions.map((f) => f.name)).toEqual(expect.arrayContaining(['createOrder', 'getTopProducts', 'saveCart', 'getCart']));
    for (const f of functions) expect(f.entry).toMatch(/^functions\/[A-Za-z]+\.ts$/);
  });
});

describe('bench/lib/pgbench: the reference gets the warm-up createOrder gets', () => {
  // pgbench's per-transaction log: client_id transaction_no latency_us script_no epoch_s epoch_us (completion time).
  const line = (client: number, no: number, latencyUs: number | 'failed', endS: number, endUs: number) =>
    `${client} ${no} ${latencyUs} 0 ${endS} ${endUs}`;

  it('leaves out the transactions that started in the first warm-up seconds, and measures the window after it', () => {
    const log = [
      line(0, 0, 400_000, 1000, 400_000), // a cold backend's first order: started at 1000.0 s
      line(0, 1, 10_000, 1000, 600_000), // started at 1000.59 s: inside the 1-second warm-up
      line(0, 2, 10_000, 1001, 100_000), // started at 1001.09 s
      line(1, 0, 20_000, 1002, 0),
      line(1, 1, 'failed', 1002, 500_000),
      line(1, 2, 30_000, 1003, 0), // the last completion: the window is 1001.0 → 1003.0 s
      '',
    ];
    const segment = pgbenchSegment(log, 1);
    expect(segment.latencies).toEqual([10, 20, 30]);
    expect(segment.seconds).toBeCloseTo(2, 6);
    expect(segment.errors).toBe(1);
  });

  it('without a warm-up, the window opens with the first transaction (connection set-up left out, as pgbench does)', () => {
    const segment = pgbenchSegment([line(0, 0, 500_000, 10, 500_000), line(0, 1, 500_000, 11, 0)], 0);
    expect(segment.latencies).toEqual([500, 500]);
    expect(segment.seconds).toBeCloseTo(1, 6);
    expect(segment.errors).toBe(0);
  });
});
