import type { Sql } from '../clients/postgres.js';
import { AppError } from '../errors.js';
import { type BenchmarkRequest, GIN_SELECTIVITIES, MIN_CACHE_SAMPLES, type SuiteName } from './request.js';

/**
 * Time budget: an up-front estimate of a run (so a scale that cannot finish is refused before it
 * starts), and a deadline the suites check as they go (so a run that overruns anyway stops cleanly,
 * drops its fixtures and is stored as failed while the Lambda still has time).
 *
 * The estimate is a linear cost model per row and per query, with coefficients measured on a 2-core
 * machine (PostgreSQL 15, warm cache), scaled by a calibration factor measured at the start of the
 * run on the actual server, and padded by a safety factor. Each stored run keeps its estimate next
 * to its real duration, so the model can be checked against history.
 */

/** Microseconds per row (fixtures, index builds, scans) and milliseconds per call, reference machine. */
export const COST = {
  btreeLoadUs: 2.5, // insert + primary key + vacuum analyze
  btreeIndexUs: 1.0, // per index build (two builds)
  btreeScanUs: 0.07, // one parallel seq scan of the table (the no-index runs)
  ginLoadUs: 20, // insert with jsonb_build_object + primary key + vacuum analyze
  ginIndexUs: 40, // jsonb_path_ops + jsonb_ops builds together
  ginScanUs: 0.35, // one scan with a containment filter
  ginForcedUs: 0.5, // one bitmap scan, averaged over the selectivities
  cacheLoadUs: 3.6, // insert + product_id index + vacuum analyze
  cacheAggregateUs: 0.6, // one aggregate over the order lines (numeric sums)
  cacheRedisMs: 3, // one GET through the REST client
  ordersCloneMs: 400,
  ordersLoadUs: 30, // customers + products
  orderCallMs: 5, // one createOrder transaction (latency; concurrency overlaps them)
  queryOverheadMs: 1.5, // one EXPLAIN round trip
  fixedMs: 1_500, // connect, calibrate, schema reset, store, cleanup
} as const;

/** Runs are estimated pessimistically: 1.5× the model. */
export const SAFETY_FACTOR = 1.5;

export interface Estimate {
  totalMs: number;
  suites: Partial<Record<SuiteName, number>>;
  calibrationFactor: number;
}

export function estimateRun(request: BenchmarkRequest, calibrationFactor = 1): Estimate {
  const { sizes, repetitions } = request;
  const runsPerMeasurement = repetitions + 2; // warm-up + timed runs + the BUFFERS run
  const queryMs = (count: number) => count * runsPerMeasurement * COST.queryOverheadMs;
  const suites: Partial<Record<SuiteName, number>> = {};
  for (const suite of request.suites) {
    let us = 0;
    let ms = 0;
    switch (suite) {
      case 'btree':
        for (const rows of sizes.btreeOrders) {
          us += rows * (COST.btreeLoadUs + 2 * COST.btreeIndexUs + runsPerMeasurement * COST.btreeScanUs);
          ms += queryMs(3);
        }
        break;
      case 'gin':
        for (const rows of sizes.ginProducts) {
          const measurements = GIN_SELECTIVITIES.length * runsPerMeasurement;
          us += rows * (COST.ginLoadUs + COST.ginIndexUs + measurements * (2 * COST.ginScanUs + COST.ginForcedUs));
          ms += queryMs(3 * GIN_SELECTIVITIES.length);
        }
        break;
      case 'cache':
        us += sizes.cacheOrderItems * (COST.cacheLoadUs + (repetitions + 3) * COST.cacheAggregateUs);
        ms += (Math.max(repetitions, MIN_CACHE_SAMPLES) + 5) * COST.cacheRedisMs + queryMs(2);
        break;
      case 'orders':
        us += (sizes.orderCustomers + sizes.orderProducts) * COST.ordersLoadUs;
        ms += COST.ordersCloneMs + ((sizes.orderCalls / request.concurrency) * 1.5 + 20) * COST.orderCallMs;
        break;
    }
    suites[suite] = Math.round((us / 1000 + ms) * calibrationFactor * SAFETY_FACTOR);
  }
  const totalMs = Math.round(COST.fixedMs + Object.values(suites).reduce((sum, value) => sum + value, 0));
  return { totalMs, suites, calibrationFactor };
}

/** Work the reference machine does in ~45 ms (best of 3); the ratio scales the cost model. */
const CALIBRATION_QUERY = 'select count(*) from generate_series(1, 300000) g where hashint4(g) & 7 = 0';
export const CALIBRATION_REFERENCE_MS = 45;

export async function calibrate(sql: Sql): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const started = performance.now();
    await sql.unsafe(CALIBRATION_QUERY);
    best = Math.min(best, performance.now() - started);
  }
  // Never trust a machine to be more than twice as fast as the reference, nor take it for more than 8 times
  // slower: one slow measurement (a server just started) must not refuse every run. On a server slower than
  // that, the estimate is low, and the deadline checked between suites stops the run.
  return Math.round(Math.min(8, Math.max(0.5, best / CALIBRATION_REFERENCE_MS)) * 100) / 100;
}

/** The time a run keeps in reserve for cleanup and storing its result. */
export function safetyMarginMs(remainingMs: number): number {
  return Math.max(10_000, Math.round(remainingMs * 0.1));
}

export class BenchmarkTooLargeError extends AppError {
  constructor(estimate: Estimate, availableMs: number, remainingMs: number) {
    super(
      422,
      'BENCHMARK_TOO_LARGE',
      `Benchmark refused: it is estimated to take ${(estimate.totalMs / 1000).toFixed(1)} s, but this invocation has ` +
        `${(remainingMs / 1000).toFixed(1)} s left of which ${(availableMs / 1000).toFixed(1)} s may be used (the rest is the ` +
        'safety margin for cleanup). Ask for a smaller scale, fewer sizes or suites, or give the function a longer timeout (at most 900 s).',
      { estimatedMs: estimate.totalMs, perSuiteMs: estimate.suites, availableMs, remainingMs },
    );
  }
}

export class BenchmarkDeadlineError extends AppError {
  constructor(where: string) {
    super(504, 'BENCHMARK_DEADLINE', `Benchmark stopped at "${where}": it ran past its time budget (the estimate was too low).`);
  }
}

/** A point in time after which a run stops at its next check. */
export class Deadline {
  readonly at: number;

  constructor(budgetMs: number, now = performance.now()) {
    this.at = now + budgetMs;
  }

  remainingMs(): number {
    return Math.max(0, Math.round(this.at - performance.now()));
  }

  check(where: string): void {
    if (performance.now() > this.at) throw new BenchmarkDeadlineError(where);
  }
}
