/** A stored runBenchmarks run as a report Doc: its metric rows, then each suite's tables, charts, plans and prose. */
import { compact, type Metric, percent, runMetrics } from '../../shared/benchmarks/metric.js';
import { SUITES, type SuiteName } from '../../shared/benchmarks/request.js';
import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';
import { btreeSpec, ginCrossoverSpec, ordersSpec, ratiosSpec } from './charts.js';
import type { Doc, Part, Section } from './document.js';
import { planText } from './plan-text.js';
import { bytes, count, metricsTable, ms, seconds, type Table, times } from './table.js';

const TITLES: Record<SuiteName, string> = {
  btree: 'B-tree: customer order history',
  gin: 'GIN: JSONB containment crossover',
  cache: 'Cache: top products, Redis hit vs Postgres aggregate',
  orders: 'Orders: createOrder latency',
};

/** The rows a run stored, or (runs stored before rows were) the rows derived from its results. */
export const storedMetrics = (run: Pick<StoredRun, 'results'>): Metric[] =>
  (run.results?.metrics as Metric[] | undefined) ?? runMetrics(run.results);

/** A run's metric rows as a Table (npm start's tour prints it after its run). */
export const runTable = (run: Pick<StoredRun, 'results'>) => metricsTable(storedMetrics(run));

function btree(result: BtreeResult, run: StoredRun): Part[] {
  const table: Table = {
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
    rows: result.sizes.map(({ rows, variants: v, speedup }) => [
      count(rows),
      ms(v.none.medianMs),
      ms(v.customer_id.medianMs),
      times(speedup.customer_id),
      ms(v.customer_id_order_date.medianMs),
      times(speedup.customer_id_order_date),
      `${bytes(v.customer_id.indexBytes ?? 0)} / ${bytes(v.customer_id_order_date.indexBytes ?? 0)}`,
      `${v.none.shape.nodeTypes.join(' › ')} → ${v.customer_id.shape.nodeTypes.join(' › ')}`,
    ]),
  };
  return [
    {
      text: `Query: \`${result.query}\`. Median server execution time (EXPLAIN ANALYZE, TIMING OFF) of ${run.params.repetitions} runs after a warm-up; each run looks up a different customer (~10 orders each).`,
    },
    { table },
    { chart: 'btree', spec: btreeSpec(result) },
  ];
}

function gin(result: GinResult): Part[] {
  const upTo = (rate: number | null) => (rate === null ? 'no match rate' : `${rate * 100} %`);
  const crossover: Table = {
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
  const sizes: Table = {
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
  const claim = result.labClaim;
  return [
    {
      text: `Query: \`${result.query}\`, probes matching an exact share of the rows. “GIN forced” is the index path with \`enable_seqscan = off\`: what the index costs where the planner would not use it.`,
    },
    { chart: 'gin-crossover', spec: ginCrossoverSpec(result) },
    { heading: 'Crossover table' },
    { table: crossover },
    {
      list: result.crossover.map(
        (row) =>
          `${count(row.rows)} products: the planner uses the index up to ${upTo(row.plannerUsesIndexUpTo)} match rate; the index path is faster up to ${upTo(row.indexFasterUpTo)}.`,
      ),
    },
    { heading: 'The lab’s claim' },
    { quote: claim.claim },
    { text: `**${claim.holds ? 'Holds' : 'Does not hold'}** (${claim.agreements} of ${claim.cells} cells agree). ${claim.verdict}` },
    { heading: 'Index size: jsonb_path_ops vs default jsonb_ops' },
    { table: sizes },
  ];
}

function cache(result: CacheResult): Part[] {
  const table: Table = {
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
  const text =
    'Wall clock at the client, median. The hit is one GET through `@upstash/redis` (the app’s client and protocol); the miss is the top-products aggregate over every order line.';
  return [{ text }, { table }];
}

function orders(result: OrdersResult): Part[] {
  const table: Table = {
    header: ['calls', 'concurrency', 'p50', 'p95', 'p99', 'max', 'orders/s', 'errors'],
    numeric: [0, 1, 2, 3, 4, 5, 6, 7],
    rows: [
      [
        count(result.calls),
        String(result.concurrency),
        ...[result.p50Ms, result.p95Ms, result.p99Ms, result.maxMs].map(ms),
        result.ordersPerSecond.toFixed(0),
        String(result.errors),
      ],
    ],
  };
  return [
    {
      text: `The real \`createOrder\` placing orders against a copy of the shop’s tables (${result.clonedTables.join(', ')}) in the bench schema, on connections with \`search_path=bench\`; wall clock per call after ${result.warmups} warm-up orders.`,
    },
    { table },
    { chart: 'orders', spec: ordersSpec(result) },
    ...(result.firstError ? [{ text: `First error: ${result.firstError}` }] : []),
  ];
}

export function runDoc(run: StoredRun): Doc {
  const metrics = storedMetrics(run);
  const sizes = run.params?.sizes;
  const env = run.environment;
  const ratios = ratiosSpec(metrics);
  const sections: Section[] = [
    {
      id: 'run',
      title: '',
      parts: [
        {
          facts: [
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
                ? `B-tree orders ${sizes.btreeOrders.map(compact).join(', ')}; GIN products ${sizes.ginProducts.map(compact).join(', ')}; ` +
                  `cache ${compact(sizes.cacheOrderItems)} order lines / ${compact(sizes.cacheProducts)} products; ` +
                  `orders ${sizes.orderCalls} calls on ${compact(sizes.orderProducts)} products, concurrency ${run.params.concurrency}`
                : '–',
            ],
          ],
        },
      ],
    },
    {
      id: 'headline',
      title: 'Headline',
      parts: [{ table: metricsTable(metrics) }, ...(ratios ? [{ chart: 'ratios', spec: ratios }] : [])],
    },
  ];
  const results = run.results ?? {};
  const build = { btree: (r: unknown) => btree(r as BtreeResult, run), gin, cache, orders } as Record<SuiteName, (r: unknown) => Part[]>;
  for (const suite of SUITES.filter((s) => run.params?.suites?.includes(s))) {
    const result = results[suite] as { error?: string } | undefined;
    const plans = Object.entries(run.plans ?? {}).filter(([key]) => key.startsWith(`${suite}/`));
    const parts: Part[] = !result
      ? [{ text: 'Not run.' }]
      : result.error
        ? [{ text: `**Failed:** ${result.error}` }]
        : [...build[suite](result), { plans: plans.map(([key, plan]) => [key, planText(plan)]) }];
    sections.push({ id: suite, title: TITLES[suite], parts });
  }
  const settings = Object.entries(env?.postgres?.settings ?? {}).map(([name, value]) => `${name}=${value}`);
  const timings = Object.entries(run.timings ?? {}).sort(([a], [b]) => a.localeCompare(b));
  sections.push({
    id: 'environment',
    title: 'Environment',
    parts: [
      {
        facts: [
          ['PostgreSQL', env?.postgres?.version?.split(' on ')[0] ?? 'unknown'],
          [
            'machine',
            `${env?.cpus} × ${env?.cpuModel}, ${Math.round((env?.memoryMb ?? 0) / 1024)} GB RAM, ${env?.platform}/${env?.arch}, Node ${env?.node}`,
          ],
          ['load average at start', env?.loadAverage?.join(' / ') ?? '–'],
          [
            'calibration factor',
            env?.calibrationFactor === undefined ? '–' : `${env.calibrationFactor} (1 = reference machine; higher = slower)`,
          ],
          ['server settings', settings.join(', ')],
          ...(env?.lambda
            ? [
                [
                  'Lambda',
                  `${env.lambda.functionName} (${env.lambda.memoryLimitInMB} MB${env.lambda.region ? `, ${env.lambda.region}` : ''})`,
                ] as [string, string],
              ]
            : []),
        ],
      },
      ...(timings.length
        ? [
            { heading: 'Where the time went' },
            { table: { header: ['phase', 'time'], numeric: [1], rows: timings.map(([phase, t]) => [phase, `${t} ms`]) } },
          ]
        : []),
    ],
  });
  return { title: `Benchmark run ${run.runId} — ${run.status}, scale ${run.params?.scale ?? '?'}, ${run.startedAt}`, metrics, sections };
}
