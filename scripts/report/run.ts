/** A stored runBenchmarks run as a report Doc: its metric rows, then each suite's tables, charts, plans and prose. */
import { compact, percent, storedMetrics } from '../../shared/benchmarks/metric.js';
import { planText } from '../../shared/benchmarks/plan-text.js';
import { SUITES, type SuiteName } from '../../shared/benchmarks/request.js';
import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';
import { btreeSpec, ginCrossoverSpec, ordersSpec, ratiosSpec } from './charts.js';
import type { Doc, Part, Section } from './document.js';
import { bytes, count, grid, metricsTable, ms, seconds, times } from './table.js';

const TITLES: Record<SuiteName, string> = {
  btree: 'B-tree: customer order history',
  gin: 'GIN: JSONB containment crossover',
  cache: 'Cache: top products, Redis hit vs Postgres aggregate',
  orders: 'Orders: createOrder latency',
};

/** A run's metric rows as a Table (npm start's tour prints it after its run). */
export const runTable = (run: Pick<StoredRun, 'results'>) => metricsTable(storedMetrics(run));

const SUITE_PARTS: { [S in SuiteName]: (result: never, run: StoredRun) => Part[] } = {
  btree: (result: BtreeResult, run) => [
    {
      text: `Query: \`${result.query}\`. Median server execution time (EXPLAIN ANALYZE, TIMING OFF) of ${run.params.repetitions} runs after a warm-up; each run looks up a different customer (~10 orders each).`,
    },
    {
      table: grid(
        'orders|no index|(customer_id)|speedup|(customer_id, order_date desc)|speedup|index sizes|plans (no index → index)',
        result.sizes.map(({ rows, variants: v, speedup }) => [
          count(rows),
          ...[v.none, v.customer_id].map((m) => ms(m.medianMs)),
          times(speedup.customer_id),
          ms(v.customer_id_order_date.medianMs),
          times(speedup.customer_id_order_date),
          `${bytes(v.customer_id.indexBytes ?? 0)} / ${bytes(v.customer_id_order_date.indexBytes ?? 0)}`,
          `${v.none.shape.nodeTypes.join(' › ')} → ${v.customer_id.shape.nodeTypes.join(' › ')}`,
        ]),
      ),
    },
    { chart: 'btree', spec: btreeSpec(result) },
  ],
  gin: (result: GinResult) => {
    const upTo = (rate: number | null) => (rate === null ? 'no match rate' : `${rate * 100} %`);
    const claim = result.labClaim;
    const crossover = result.cells.map((cell) => [
      count(cell.rows),
      percent(cell.selectivity),
      count(cell.matchedRows),
      count(cell.planner.estimatedRows ?? 0),
      ...[cell.seq, cell.planner].map((m) => ms(m.medianMs)),
      cell.plannerUsedIndex ? 'yes' : 'no',
      ms(cell.forced.medianMs),
      `${cell.indexFaster ? 'index' : 'seq scan'} (${times(Math.max(cell.forcedSpeedup, 1 / cell.forcedSpeedup))})`,
      `${cell.labClaimPredictsIndex ? 'index' : 'no index'}${cell.labClaimPredictsIndex === cell.plannerUsedIndex ? '' : ' ✗'}`,
    ]);
    const sizes = result.indexSizes.map((size) => [
      count(size.rows),
      ...[size.tableBytes, size.jsonbPathOpsBytes, size.jsonbOpsBytes].map(bytes),
      `${Math.round((size.jsonbPathOpsBytes / size.jsonbOpsBytes) * 100)} %`,
      ...[size.jsonbPathOpsBuildMs, size.jsonbOpsBuildMs].map(ms),
    ]);
    return [
      {
        text: `Query: \`${result.query}\`, probes matching an exact share of the rows. “GIN forced” is the index path with \`enable_seqscan = off\`: what the index costs where the planner would not use it.`,
      },
      { chart: 'gin-crossover', spec: ginCrossoverSpec(result) },
      { heading: 'Crossover table' },
      {
        table: grid(
          'products|match rate|rows matched|planner estimate|no index (seq scan)|with GIN, planner|planner used GIN?|GIN forced|faster path|lab claim says',
          crossover,
          undefined,
          [0, 2, 3, 4, 5, 7],
        ),
      },
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
      { table: grid('products|table|jsonb_path_ops|jsonb_ops (default)|path_ops / ops|build path_ops|build ops', sizes) },
    ];
  },
  cache: (result: CacheResult) => [
    {
      text: 'Wall clock at the client, median. The hit is one GET through `@upstash/redis` (the app’s client and protocol); the miss is the top-products aggregate over every order line.',
    },
    {
      table: grid('order lines|products|Postgres aggregate (client)|Postgres (server)|Redis hit (client)|speedup|cached value', [
        [
          ...[result.orderItems, result.products].map(count),
          ...[result.postgres.medianMs, result.postgresServer.executionMs, result.redisHit.medianMs].map(ms),
          times(result.speedup),
          bytes(result.valueBytes),
        ],
      ]),
    },
  ],
  orders: (result: OrdersResult) => [
    {
      text: `The real \`createOrder\` placing orders against a copy of the shop’s tables (${result.clonedTables.join(', ')}) in the bench schema, on connections with \`search_path=bench\`; wall clock per call after ${result.warmups} warm-up orders.`,
    },
    {
      table: grid('calls|concurrency|p50|p95|p99|max|orders/s|errors', [
        [
          count(result.calls),
          String(result.concurrency),
          ...[result.p50Ms, result.p95Ms, result.p99Ms, result.maxMs].map(ms),
          result.ordersPerSecond.toFixed(0),
          String(result.errors),
        ],
      ]),
    },
    { chart: 'orders', spec: ordersSpec(result) },
    ...(result.firstError ? [{ text: `First error: ${result.firstError}` }] : []),
  ],
};

export function runDoc(run: StoredRun): Doc {
  const metrics = storedMetrics(run);
  const [p, env] = [run.params, run.environment];
  const sizes = p?.sizes
    ? `B-tree orders ${p.sizes.btreeOrders.map(compact).join(', ')}; GIN products ${p.sizes.ginProducts.map(compact).join(', ')}; ` +
      `cache ${compact(p.sizes.cacheOrderItems)} order lines / ${compact(p.sizes.cacheProducts)} products; ` +
      `orders ${p.sizes.orderCalls} calls on ${compact(p.sizes.orderProducts)} products, concurrency ${p.concurrency}`
    : '–';
  const facts: Array<[string, string]> = [
    ['status', run.status + (run.error ? ` — ${run.error}` : '')],
    ['trigger', run.trigger],
    ['duration', `${seconds(run.durationMs)} (estimated up front: ${seconds(run.estimatedMs)})`],
    ['repetitions', `${p?.repetitions ?? '–'} timed runs per measurement (median), after a warm-up`],
    ['sizes', sizes],
  ];
  const ratios = ratiosSpec(metrics);
  const sections: Section[] = [
    { id: 'run', title: '', parts: [{ facts }] },
    {
      id: 'headline',
      title: 'Headline',
      parts: [{ table: metricsTable(metrics) }, ...(ratios ? [{ chart: 'ratios', spec: ratios }] : [])],
    },
  ];
  for (const suite of SUITES.filter((s) => p?.suites?.includes(s))) {
    const result = run.results?.[suite] as { error?: string } | undefined;
    const plans = Object.entries(run.plans ?? {}).filter(([key]) => key.startsWith(`${suite}/`));
    const parts: Part[] = !result
      ? [{ text: 'Not run.' }]
      : result.error
        ? [{ text: `**Failed:** ${result.error}` }]
        : [...SUITE_PARTS[suite](result as never, run), { plans: plans.map(([key, plan]) => [key, planText(plan)]) }];
    sections.push({ id: suite, title: TITLES[suite], parts });
  }
  const lambda =
    env?.lambda && `${env.lambda.functionName} (${env.lambda.memoryLimitInMB} MB${env.lambda.region ? `, ${env.lambda.region}` : ''})`;
  const machine = `${env?.cpus} × ${env?.cpuModel}, ${Math.round((env?.memoryMb ?? 0) / 1024)} GB RAM, ${env?.platform}/${env?.arch}, Node ${env?.node}`;
  const settings = Object.entries(env?.postgres?.settings ?? {}).map(([name, value]) => `${name}=${value}`);
  const timings = Object.entries(run.timings ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const environment: Array<[string, string]> = [
    ['PostgreSQL', env?.postgres?.version?.split(' on ')[0] ?? 'unknown'],
    ['machine', machine],
    ['load average at start', env?.loadAverage?.join(' / ') ?? '–'],
    ['calibration factor', `${env?.calibrationFactor ?? '–'} (1 = reference machine; higher = slower)`],
    ['server settings', settings.join(', ')],
    ...(lambda ? [['Lambda', lambda] as [string, string]] : []),
  ];
  sections.push({
    id: 'environment',
    title: 'Environment',
    parts: [
      { facts: environment },
      { heading: 'Where the time went' },
      {
        table: grid(
          'phase|time',
          timings.map(([phase, t]) => [phase, `${t} ms`]),
        ),
      },
    ],
  });
  return { title: `Benchmark run ${run.runId} — ${run.status}, scale ${p?.scale ?? '?'}, ${run.startedAt}`, metrics, sections };
}
