import { describe, expect, it } from 'vitest';
import { BenchmarkTooLargeError, Deadline, estimateRun, safetyMarginMs } from '../../shared/benchmarks/budget.js';
import { type PlanNode, planShape } from '../../shared/benchmarks/measure.js';
import { type BenchmarkRequest, GIN_SELECTIVITIES, parseBenchmarkEvent, SCALE_PRESETS } from '../../shared/benchmarks/request.js';
import { median, percentile } from '../../shared/benchmarks/stats.js';
import { type GinCell, judgeLabClaim, labClaimPredictsIndex } from '../../shared/benchmarks/suites/gin.js';
import { ValidationError } from '../../shared/errors.js';

function invalid(event: unknown): ValidationError {
  try {
    parseBenchmarkEvent(event);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(event)} to be rejected`);
}

describe('benchmark payload', () => {
  it('defaults to the small scale, every suite, 5 repetitions, trigger invoke', () => {
    for (const event of [undefined, null, {}]) {
      expect(parseBenchmarkEvent(event)).toEqual({
        scale: 'small',
        sizes: SCALE_PRESETS.small.sizes,
        repetitions: 5,
        concurrency: 4,
        suites: ['btree', 'gin', 'cache', 'orders'],
        trigger: 'invoke',
      });
    }
  });

  it('treats a bare EventBridge scheduled event as a scheduled default run', () => {
    const request = parseBenchmarkEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {}, id: 'x' });
    expect(request.trigger).toBe('schedule');
    expect(request.scale).toBe('small');
  });

  it('takes the schedule input as the payload', () => {
    expect(parseBenchmarkEvent({ scale: 'medium', trigger: 'schedule' })).toMatchObject({
      scale: 'medium',
      trigger: 'schedule',
      repetitions: 7,
    });
  });

  it('overrides preset sizes with explicit row counts, sorted and de-duplicated, suites in canonical order', () => {
    const request = parseBenchmarkEvent({
      scale: 'large',
      sizes: { btreeOrders: [5000, 1000, 5000], orderCalls: 10 },
      repetitions: 9,
      suites: ['orders', 'btree'],
    });
    expect(request.sizes.btreeOrders).toEqual([1000, 5000]);
    expect(request.sizes.ginProducts).toEqual(SCALE_PRESETS.large.sizes.ginProducts);
    expect(request.sizes.orderCalls).toBe(10);
    expect(request.repetitions).toBe(9);
    expect(request.suites).toEqual(['btree', 'orders']);
  });

  it.each([
    [{ scale: 'galactic' }, 'payload.scale'],
    [{ repetitions: 4 }, 'payload.repetitions'],
    [{ repetitions: 5.5 }, 'payload.repetitions'],
    [{ suites: [] }, 'payload.suites'],
    [{ suites: ['gin', 'gin'] }, 'payload.suites'],
    [{ suites: ['fulltext'] }, 'payload.suites.0'],
    [{ sizes: { btreeOrders: [10] } }, 'payload.sizes.btreeOrders.0'],
    [{ sizes: { ginProducts: [] } }, 'payload.sizes.ginProducts'],
    [{ sizes: { rows: 5 } }, 'payload.sizes'],
    [{ colour: 'red' }, 'payload'],
    ['small', 'payload'],
  ])('rejects %j naming %s in the message', (event, field) => {
    const error = invalid(event);
    expect(error.message).toMatch(/^Invalid benchmark payload: /);
    expect(error.message).toContain(field);
    expect(error.code).toBe('VALIDATION_ERROR');
  });
});

describe('scale presets and the time estimate', () => {
  const request = (scale: 'small' | 'medium' | 'large'): BenchmarkRequest => parseBenchmarkEvent({ scale });

  it('large reaches 1M orders for the B-tree suite and 100k products for the GIN suite', () => {
    expect(Math.max(...SCALE_PRESETS.large.sizes.btreeOrders)).toBeGreaterThanOrEqual(1_000_000);
    expect(Math.max(...SCALE_PRESETS.large.sizes.ginProducts)).toBeGreaterThanOrEqual(100_000);
    expect(Math.min(...SCALE_PRESETS.large.sizes.ginProducts)).toBeLessThanOrEqual(1_000);
    expect(GIN_SELECTIVITIES[0]).toBeLessThanOrEqual(0.001);
    expect(GIN_SELECTIVITIES.at(-1)).toBeGreaterThanOrEqual(0.5);
    for (const preset of Object.values(SCALE_PRESETS)) expect(preset.repetitions).toBeGreaterThanOrEqual(5);
  });

  it('estimates the default small scale within 60 s on the reference machine, safety factor included', () => {
    expect(estimateRun(request('small')).totalMs).toBeLessThanOrEqual(60_000);
  });

  it('admits large within Lambda’s 15 minutes on the reference machine and on one 4× slower', () => {
    const available = 900_000 - safetyMarginMs(900_000);
    expect(estimateRun(request('large')).totalMs).toBeLessThan(available);
    expect(estimateRun(request('large'), 4).totalMs).toBeLessThan(available);
  });

  it('grows with sizes, repetitions and the calibration factor, and only counts the suites asked for', () => {
    const small = estimateRun(request('small'));
    expect(estimateRun(request('medium')).totalMs).toBeGreaterThan(small.totalMs);
    expect(estimateRun(request('small'), 2).totalMs).toBeGreaterThan(small.totalMs * 1.5);
    expect(estimateRun(parseBenchmarkEvent({ repetitions: 20 })).totalMs).toBeGreaterThan(small.totalMs);
    const ginOnly = estimateRun(parseBenchmarkEvent({ suites: ['gin'] }));
    expect(Object.keys(ginOnly.suites)).toEqual(['gin']);
    expect(ginOnly.totalMs).toBeLessThan(small.totalMs);
  });

  it('estimates the largest payload far beyond any Lambda (so it is refused, not started)', () => {
    const huge = parseBenchmarkEvent({
      sizes: { ginProducts: [1_000_000, 999_999, 999_998], btreeOrders: [5_000_000, 4_999_999] },
      repetitions: 50,
    });
    expect(estimateRun(huge, 0.5).totalMs).toBeGreaterThan(900_000);
    const error = new BenchmarkTooLargeError(estimateRun(huge), 80_000, 90_000);
    expect(error.code).toBe('BENCHMARK_TOO_LARGE');
    expect(error.message).toMatch(/estimated to take .* s, but this invocation has 90\.0 s left/);
  });

  it('keeps at least 10 s (or 10 %) for cleanup', () => {
    expect(safetyMarginMs(20_000)).toBe(10_000);
    expect(safetyMarginMs(900_000)).toBe(90_000);
  });

  it('stops at the deadline with a clear error', () => {
    const deadline = new Deadline(-1);
    expect(() => deadline.check('gin 100000')).toThrow(/Benchmark stopped at "gin 100000"/);
    expect(() => new Deadline(60_000).check('btree')).not.toThrow();
  });
});

describe('statistics and plans', () => {
  it('computes medians and interpolated percentiles', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBeCloseTo(9.55);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('finds node types and indexes anywhere in a plan', () => {
    const plan: PlanNode = {
      'Node Type': 'Sort',
      Plans: [{ 'Node Type': 'Bitmap Heap Scan', Plans: [{ 'Node Type': 'Bitmap Index Scan', 'Index Name': 'idx' }] }],
    };
    expect(planShape(plan)).toEqual({ nodeTypes: ['Sort', 'Bitmap Heap Scan', 'Bitmap Index Scan'], indexes: ['idx'] });
  });
});

describe('the lab’s GIN claim', () => {
  const cell = (rows: number, selectivity: number, plannerUsedIndex: boolean, indexFaster = plannerUsedIndex): GinCell =>
    ({ rows, selectivity, plannerUsedIndex, indexFaster, labClaimPredictsIndex: labClaimPredictsIndex(rows, selectivity) }) as GinCell;

  it('predicts the index for 10,000+ rows or a match rate below 5 %', () => {
    expect(labClaimPredictsIndex(1_000, 0.01)).toBe(true);
    expect(labClaimPredictsIndex(1_000, 0.05)).toBe(false);
    expect(labClaimPredictsIndex(10_000, 0.5)).toBe(true);
  });

  it('holds only when the planner agrees in every cell, and names the cells where it does not', () => {
    const agreeing = judgeLabClaim([cell(1_000, 0.01, true), cell(1_000, 0.5, false, true), cell(100_000, 0.5, true, false)]);
    expect(agreeing.holds).toBe(true);
    // Used or not is one question; paying off is another, and the verdict answers both.
    expect(agreeing.verdict).toMatch(
      /^As a prediction of the planner's choice it holds in all 3 measured cells\. The index path was faster than a sequential scan in 2 of 3 cells\./,
    );
    expect(agreeing.verdict).toContain('kept a sequential scan although the index was faster at 1,000 rows at 50 %');
    expect(agreeing.verdict).toContain('used the index although a sequential scan was faster at 100,000 rows at 50 %');
    const verdict = judgeLabClaim([cell(1_000, 0.01, true), cell(100_000, 0.5, false)]);
    expect(verdict.holds).toBe(false);
    expect(verdict.counterexamples).toEqual([
      { rows: 100_000, selectivity: 0.5, predicted: true, plannerUsedIndex: false, indexFaster: false },
    ]);
    expect(verdict.verdict).toMatch(
      /^Does not hold: 1 of 2 cells contradict it — 100,000 rows at 50 %: claim says index, planner did not use it/,
    );
  });
});
