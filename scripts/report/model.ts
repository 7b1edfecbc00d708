import { SUITES, type SuiteName } from '../../shared/benchmarks/request.js';
import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';

/** A stored run, read for presentation: each suite either measured, failed, or not requested. */

export interface SuiteFailure {
  error: string;
}

export interface SuiteResults {
  btree?: BtreeResult | SuiteFailure;
  gin?: GinResult | SuiteFailure;
  cache?: CacheResult | SuiteFailure;
  orders?: OrdersResult | SuiteFailure;
}

export const SUITE_TITLES: Record<SuiteName, string> = {
  btree: 'B-tree: customer order history',
  gin: 'GIN: JSONB containment crossover',
  cache: 'Cache: top products, Redis hit vs Postgres aggregate',
  orders: 'Orders: createOrder latency',
};

export function suiteResults(run: StoredRun): SuiteResults {
  return (run.results ?? {}) as SuiteResults;
}

export function isFailure(value: unknown): value is SuiteFailure {
  return typeof value === 'object' && value !== null && 'error' in value && typeof (value as SuiteFailure).error === 'string';
}

/** The suites this run was asked for, in canonical order. */
export function requestedSuites(run: StoredRun): SuiteName[] {
  const asked = run.params?.suites ?? [];
  return SUITES.filter((suite) => asked.includes(suite));
}

// ---------------------------------------------------------------------------------------------------
// Formatting

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (value < 1) return `${value.toFixed(3)} ms`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(1)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

export function times(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return value >= 100 ? `${Math.round(value).toLocaleString('en-US')}×` : `${value.toFixed(value >= 10 ? 0 : 1)}×`;
}

export function rowsCompact(value: number): string {
  return new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

export function percent(fraction: number): string {
  const value = fraction * 100;
  return `${value < 1 ? value.toFixed(1) : Math.round(value)} %`;
}

export function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(0)} kB`;
  return `${(value / 1024 / 1024).toFixed(1)} MB`;
}

export function seconds(msValue: number | null | undefined): string {
  return msValue === null || msValue === undefined ? '–' : `${(msValue / 1000).toFixed(1)} s`;
}

/** A plain table (header + rows of cells) that the HTML, Markdown and terminal writers all render. */
export interface Table {
  caption?: string;
  header: string[];
  rows: string[][];
  /** Right-align these column indexes (numbers). */
  numeric?: number[];
}

export function btreeTable(result: BtreeResult): Table {
  return {
    header: [
      'orders',
      'no index',
      '(customer_id)',
      'speedup',
      '(customer_id, order_date desc)',
      'speedup',
      'index sizes',
      'plans (no index → index)',
    ],
    numeric: [0, 1, 2, 3, 4, 5],
    rows: result.sizes.map((size) => [
      count(size.rows),
      ms(size.variants.none.medianMs),
      ms(size.variants.customer_id.medianMs),
      times(size.speedup.customer_id),
      ms(size.variants.customer_id_order_date.medianMs),
      times(size.speedup.customer_id_order_date),
      `${bytes(size.variants.customer_id.indexBytes ?? 0)} / ${bytes(size.variants.customer_id_order_date.indexBytes ?? 0)}`,
      `${size.variants.none.shape.nodeTypes.join(' › ')} → ${size.variants.customer_id.shape.nodeTypes.join(' › ')}`,
    ]),
  };
}

export function ginCrossoverTable(result: GinResult): Table {
  return {
    header: [
      'products',
      'match rate',
      'rows matched',
      'planner estimate',
      'no index (seq scan)',
      'with GIN, planner',
      'planner used GIN?',
      'GIN forced',
      'faster path',
      'lab claim says',
    ],
    numeric: [0, 2, 3, 4, 5, 7],
    rows: result.cells.map((cell) => [
      count(cell.rows),
      percent(cell.selectivity),
      count(cell.matchedRows),
      count(cell.planner.estimatedRows ?? 0),
      ms(cell.seq.medianMs),
      ms(cell.planner.medianMs),
      cell.plannerUsedIndex ? 'yes' : 'no',
      ms(cell.forced.medianMs),
      `${cell.indexFaster ? 'index' : 'seq scan'} (${times(Math.max(cell.forcedSpeedup, 1 / cell.forcedSpeedup))})`,
      `${cell.labClaimPredictsIndex ? 'index' : 'no index'}${cell.labClaimPredictsIndex === cell.plannerUsedIndex ? '' : ' ✗'}`,
    ]),
  };
}

export function ginIndexTable(result: GinResult): Table {
  return {
    header: ['products', 'table', 'jsonb_path_ops', 'jsonb_ops (default)', 'path_ops / ops', 'build path_ops', 'build ops'],
    numeric: [0, 1, 2, 3, 4, 5, 6],
    rows: result.indexSizes.map((size) => [
      count(size.rows),
      bytes(size.tableBytes),
      bytes(size.jsonbPathOpsBytes),
      bytes(size.jsonbOpsBytes),
      `${Math.round((size.jsonbPathOpsBytes / size.jsonbOpsBytes) * 100)} %`,
      ms(size.jsonbPathOpsBuildMs),
      ms(size.jsonbOpsBuildMs),
    ]),
  };
}

export function cacheTable(result: CacheResult): Table {
  return {
    header: [
      'order lines',
      'products',
      'Postgres aggregate (client)',
      'Postgres (server)',
      'Redis hit (client)',
      'speedup',
      'cached value',
    ],
    numeric: [0, 1, 2, 3, 4, 5, 6],
    rows: [
      [
        count(result.orderItems),
        count(result.products),
        ms(result.postgres.medianMs),
        ms(result.postgresServer.executionMs),
        ms(result.redisHit.medianMs),
        times(result.speedup),
        bytes(result.valueBytes),
      ],
    ],
  };
}

export function ordersTable(result: OrdersResult): Table {
  return {
    header: ['calls', 'concurrency', 'p50', 'p95', 'p99', 'max', 'orders/s', 'errors'],
    numeric: [0, 1, 2, 3, 4, 5, 6, 7],
    rows: [
      [
        count(result.calls),
        String(result.concurrency),
        ms(result.p50Ms),
        ms(result.p95Ms),
        ms(result.p99Ms),
        ms(result.maxMs),
        result.ordersPerSecond.toFixed(0),
        String(result.errors),
      ],
    ],
  };
}

/** One line per suite for the terminal and the Markdown summary's headline table. */
export function headlineTable(run: StoredRun): Table {
  const results = suiteResults(run);
  const rows: string[][] = [];
  for (const suite of requestedSuites(run)) {
    const result = results[suite];
    if (!result) {
      rows.push([suite, 'not run', '', '', '']);
    } else if (isFailure(result)) {
      rows.push([suite, `FAILED: ${result.error}`, '', '', '']);
    } else if (suite === 'btree') {
      const btree = result as BtreeResult;
      for (const size of btree.sizes) {
        rows.push([
          'btree',
          `${rowsCompact(size.rows)} orders, (customer_id)`,
          ms(size.variants.none.medianMs),
          ms(size.variants.customer_id.medianMs),
          times(size.speedup.customer_id),
        ]);
      }
    } else if (suite === 'gin') {
      const gin = result as GinResult;
      for (const rows_ of [...new Set(gin.cells.map((cell) => cell.rows))]) {
        const cells = gin.cells.filter((cell) => cell.rows === rows_);
        const rare = cells[0]!;
        const common = cells.at(-1)!;
        rows.push([
          'gin',
          `${rowsCompact(rows_)} products @ ${percent(rare.selectivity)}`,
          ms(rare.seq.medianMs),
          ms(rare.planner.medianMs),
          times(rare.speedup),
        ]);
        rows.push([
          'gin',
          `${rowsCompact(rows_)} products @ ${percent(common.selectivity)}${common.plannerUsedIndex ? '' : ' (seq scan kept)'}`,
          ms(common.seq.medianMs),
          ms(common.planner.medianMs),
          times(common.speedup),
        ]);
      }
    } else if (suite === 'cache') {
      const cache = result as CacheResult;
      rows.push([
        'cache',
        `top 10 over ${rowsCompact(cache.orderItems)} lines`,
        ms(cache.postgres.medianMs),
        ms(cache.redisHit.medianMs),
        times(cache.speedup),
      ]);
    } else if (suite === 'orders') {
      const orders = result as OrdersResult;
      rows.push([
        'orders',
        `createOrder ×${orders.calls} @ c=${orders.concurrency}`,
        `p50 ${ms(orders.p50Ms)}`,
        `p95 ${ms(orders.p95Ms)}`,
        `${orders.ordersPerSecond.toFixed(0)}/s`,
      ]);
    }
  }
  return { header: ['suite', 'case', 'before / p50', 'after / p95', 'speedup'], numeric: [2, 3, 4], rows };
}

export function environmentLines(run: StoredRun): Array<[string, string]> {
  const env = run.environment;
  const settings = env?.postgres?.settings ?? {};
  return [
    ['PostgreSQL', env?.postgres?.version?.split(' on ')[0] ?? 'unknown'],
    [
      'machine',
      `${env?.cpus ?? '?'} × ${env?.cpuModel ?? '?'}, ${env?.memoryMb ? `${Math.round(env.memoryMb / 1024)} GB` : '?'} RAM, ${env?.platform}/${env?.arch}, Node ${env?.node}`,
    ],
    ['load average at start', env?.loadAverage ? env.loadAverage.join(' / ') : '–'],
    [
      'calibration factor',
      env?.calibrationFactor !== undefined ? `${env.calibrationFactor} (1 = reference machine; higher = slower)` : '–',
    ],
    [
      'server settings',
      Object.entries(settings)
        .map(([name, value]) => `${name}=${value}`)
        .join(', '),
    ],
    ...(env?.lambda
      ? ([
          ['Lambda', `${env.lambda.functionName} (${env.lambda.memoryLimitInMB} MB${env.lambda.region ? `, ${env.lambda.region}` : ''})`],
        ] as Array<[string, string]>)
      : []),
  ];
}

export function runLines(run: StoredRun): Array<[string, string]> {
  const sizes = run.params?.sizes;
  return [
    ['status', run.status + (run.error ? ` — ${run.error}` : '')],
    ['trigger', run.trigger],
    ['started', run.startedAt],
    ['duration', `${seconds(run.durationMs)} (estimated up front: ${seconds(run.estimatedMs)})`],
    ['scale', run.params?.scale ?? '–'],
    ['repetitions', `${run.params?.repetitions ?? '–'} timed runs per measurement (median), after a warm-up`],
    ['suites', (run.params?.suites ?? []).join(', ')],
    [
      'sizes',
      sizes
        ? `B-tree orders ${sizes.btreeOrders.map(rowsCompact).join(', ')}; GIN products ${sizes.ginProducts.map(rowsCompact).join(', ')}; ` +
          `cache ${rowsCompact(sizes.cacheOrderItems)} order lines / ${rowsCompact(sizes.cacheProducts)} products; ` +
          `orders ${sizes.orderCalls} calls on ${rowsCompact(sizes.orderProducts)} products, concurrency ${run.params.concurrency}`
        : '–',
    ],
  ];
}
