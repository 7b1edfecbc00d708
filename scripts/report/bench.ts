/** A bench result file (bench/lib/result.ts) as a report Doc: the metrics, then each bench's details as tables and charts. */
import path from 'node:path';
import type { FunctionCold } from '../../bench/cold-start.js';
import { formatLoad, type LoadResult, type PoolerPeak } from '../../bench/lib/containers.js';
import { CPU_GROUPS } from '../../bench/lib/cpu.js';
import { formatTally, type Measured, type ScalingPoint } from '../../bench/lib/measure.js';
import type { BenchRecord, SuiteResult } from '../../bench/lib/result.js';
import type { Mix, Step } from '../../bench/load.js';
import type { RequestCount } from '../../bench/round-trips.js';
import { num } from '../../shared/benchmarks/metric.js';
import type { Summary } from '../../shared/benchmarks/stats.js';
import { kb } from '../lib/package-report.js';
import { coldStartSpec, loadCpuSpec, loadSpec, ratiosSpec, roundTripsSpec, scalingSpec } from './charts.js';
import type { Doc, Part, Section } from './document.js';
import { fixed, grid, metricsTable } from './table.js';

/** Where `--docs` writes: the generated section of docs/performance.md and its charts. */
export const DOCS = {
  file: path.resolve(import.meta.dirname, '../../docs/performance.md'),
  charts: path.resolve(import.meta.dirname, '../../docs/performance'),
};

// biome-ignore lint/suspicious/noExplicitAny: details are each bench's own JSON, read by its builder below
type Details = any;

const tps = (m: Measured) => [fixed(m.tps, 0), fixed(m.p50, 2), fixed(m.p95, 2)];
const table = (caption: string, header: string, rows: unknown[][]): Part => ({
  table: grid(
    header,
    rows.map((r) => r.map(String)),
    caption,
  ),
});
const summaries = (caption: string, rows: Array<[string, Summary]>) =>
  table(
    caption,
    'path|p50|p95|p99|n',
    rows.map(([name, s]) => [name, ...[s.p50, s.p95, s.p99].map((v) => fixed(v, 2)), s.n]),
  );
const storm = (where: string, result: LoadResult, maxConnections: number, peak?: PoolerPeak) =>
  `${formatLoad(`Containers (pool max 1 each) ${where}`, result)} (max_connections ${maxConnections})` +
  (peak ? `; PgBouncer held at most ${peak.serverConnections} server connections, ${peak.clientsWaiting} clients waited at most.` : '.');

const BUILDERS: Record<string, (d: Details, cpus: number) => Part[]> = {
  seed: (d) => {
    const row = (name: string, key: 'ours' | 'reference') => {
      const { rows, elapsedMs, phasesMs } = d[key];
      const total = Object.values(rows as Record<string, number>).reduce((a, b) => a + b, 0);
      const phases = Object.entries(phasesMs as Record<string, number>).map(([phase, ms]) => `${phase} ${fixed(ms / 1000)}`);
      return [name, fixed(elapsedMs / 1000), num((total * 1000) / elapsedMs), d.walMb[key], d.loadBefore[key], phases.join(', ')];
    };
    return [
      table(`${d.counts.orders.toLocaleString('en-US')} orders`, 'load|s|rows/s|WAL MB|load before|phases (s)', [
        row('ours (COPY)', 'ours'),
        row('reference (generate_series)', 'reference'),
      ]),
    ];
  },
  orders: (d) => [
    table(
      'createOrder in process vs pgbench running its statement, and the minimal transaction (orders/s, latency ms)',
      'workload|conc|createOrder/s|p50|p95|statement/s|p50|p95|minimal/s|p50|p95',
      d.cells.map((c: Details) => [
        c.workload,
        c.concurrency,
        ...tps(c.createOrder),
        ...tps(c.pgbench),
        ...(c.minimal ? tps(c.minimal) : ['–', '–', '–']),
      ]),
    ),
    ...(new Set(d.cells.map((c: Details) => c.concurrency)).size < 2
      ? []
      : [
          {
            chart: 'orders-scaling',
            spec: scalingSpec(
              'createOrder and its pgbench references by concurrency',
              'orders/s',
              d.cells.flatMap((c: Details) =>
                Object.entries({ createOrder: c.createOrder, 'pgbench: its statement': c.pgbench, 'pgbench: minimal': c.minimal })
                  .filter(([, m]) => m)
                  .map(([series, m]) => ({ panel: `${c.workload} products`, x: c.concurrency, series, y: (m as Measured).tps })),
              ),
            ),
          },
        ]),
  ],
  'orders-variants': (d) => {
    const rows = d.cells.flatMap((c: Details) =>
      d.variants.map((v: Details, i: number) => [v.name, v.statements, c.workload, c.concurrency, ...tps(c.variants[i])]),
    );
    return [
      table('Design alternatives in process (statements = round trips per order)', 'variant|stmts|workload|conc|orders/s|p50|p95', rows),
    ];
  },
  'orders-http': (d) => [
    table(
      'createOrder in process · the Lambda handler in process · HTTP via serverless-offline (orders/s, latency ms)',
      'workload|conc|createOrder/s|p50|p95|handler/s|p50|p95|HTTP/s|p50|p95',
      d.cells.map((c: Details) => [c.workload, c.concurrency, ...tps(c.inProcess), ...tps(c.handler), ...tps(c.http)]),
    ),
  ],
  'top-products': (d) => [
    {
      text: `${d.dataset.orders.toLocaleString('en-US')} orders, ${d.dataset.items.toLocaleString('en-US')} lines; leaderboard rebuild ${fixed(d.reconcile.fullRebuildMs / 1000)} s (${d.reconcile.daySets} day sets), recent pass ${d.reconcile.recentPassMs} ms; handler statuses ${formatTally(d.handlerStatuses)}.`,
    },
    summaries('GET /products/top?limit=10 in process (ms); a refresh is what a MISS costs, the first of a window builds its past days', [
      ['uncached aggregate, all time', d.uncachedAggregateAllTime],
      ['uncached aggregate, 30 days', d.uncachedAggregate30Days],
      ['cache hit through the handler', d.handlerHit],
      ['raw @upstash/redis GET', d.rawGet],
      ...Object.entries(d.refreshFromLeaderboard as Record<string, Summary>).map(([window, s]): [string, Summary] => [
        `refresh, ${window}`,
        s,
      ]),
    ]),
  ],
  carts: (d) => {
    const rows = d.cells.flatMap((c: Details) =>
      (['domain', 'raw'] as const).map((w) => {
        const m: Measured = c[w];
        const step = (s: string) => [fixed(m.parts?.[s]?.p50, 2), fixed(m.parts?.[s]?.p95, 2)];
        return [
          w,
          c.concurrency,
          fixed(m.tps),
          ...step('save'),
          ...step('get'),
          fixed(m.p50, 2),
          fixed(m.p95, 2),
          m.ops,
          formatTally(m.errorKinds) || 0,
        ];
      }),
    );
    return [
      {
        text: `${d.server}, TTL index: ${d.ttlIndex}. A domain save is 2 round trips (read the newest version, insert the next), a raw one 1.`,
      },
      table('Save+get pairs (latency ms)', 'workload|conc|pairs/s|save p50|save p95|get p50|get p95|pair p50|pair p95|pairs|failed', rows),
    ];
  },
  'round-trips': (d) => [
    table(
      'Per warm request: Postgres counted on the wire by a TCP proxy, statements by the postgres.js debug hook',
      'request|PG statements|PG trips (prepared)|PG trips (prepare: false)|Redis requests|Redis commands (billed)|Mongo commands|minimum',
      d.prepared.map((p: RequestCount, i: number) => [
        p.request,
        p.pgStatements,
        p.pgRoundTrips,
        d.unprepared[i].pgRoundTrips,
        p.redis,
        p.redisCommands,
        p.mongo,
        d.minimum[p.request]?.total ?? '–',
      ]),
    ),
    {
      list: Object.entries(d.minimum as Record<string, { total: number; why: string }>).map(
        ([request, m]) => `minimum for ${request}: ${m.total} — ${m.why}`,
      ),
    },
    { chart: 'round-trips', spec: roundTripsSpec(d.prepared) },
  ],
  'cold-start': (d) => [
    table(
      `Median of ${d.runs} fresh processes; init = \`await import(bundle)\`${d.initOnly ? ` (timed for ${d.initOnly.join(', ')} in this profile)` : ''}`,
      'function|bundle|zipped|zip from npm run package|init CPU ms|init wall ms|process wall ms',
      d.functions.map((f: FunctionCold) => [
        f.name,
        kb(f.rawBytes),
        kb(f.zippedBytes),
        f.packagedZippedBytes === undefined ? '–' : kb(f.packagedZippedBytes),
        fixed(f.initCpuMs?.median),
        fixed(f.initMs?.median),
        fixed(f.processMs?.median, 0),
      ]),
    ),
    { chart: 'cold-start', spec: coldStartSpec(d.functions) },
  ],
  pooler: (d) => [
    table(`Random 3-item orders at concurrency ${d.options.concurrency} (orders/s, latency ms)`, 'path|orders/s|p50|p95|errors', [
      ['createOrder via PgBouncer (prepare: false)', ...tps(d.createOrderViaPooler), d.createOrderViaPooler.errors],
      ['pgbench via PgBouncer (-M extended)', ...tps(d.pgbenchViaPooler), d.pgbenchViaPooler.errors],
      ['pgbench straight at Postgres (-M prepared)', ...tps(d.pgbenchDirect), d.pgbenchDirect.errors],
      ['createOrder straight at Postgres, prepare: false', ...tps(d.createOrderDirectUnprepared), d.createOrderDirectUnprepared.errors],
      ['createOrder straight at Postgres, prepare: true', ...tps(d.createOrderDirectPrepared), d.createOrderDirectPrepared.errors],
    ]),
    { text: storm('through PgBouncer', d.storm, d.maxConnections, d.poolerPeak) },
  ],
  'pooler-direct': (d) => [{ text: storm('straight at PostgreSQL', d.storm, d.maxConnections) }],
  'http-overhead': (d) => [
    summaries('One request at a time, interleaved (ms)', [
      ['(a) GET /products/top hit, handler in process', d.stats.inProcess],
      ['(b) GET /products/top hit, HTTP via serverless-offline', d.stats.offline],
      ['(c) bare node:http, same bytes', d.stats.bare],
      ['(d) serverless-offline floor: 400 from validation', d.stats.offlineFloor],
      ['(e) POST /orders, handler in process', d.stats.orderInProcess],
      ['(f) POST /orders, HTTP via serverless-offline', d.stats.orderOffline],
    ]),
    { text: `Statuses: ${formatTally(d.statuses)}.` },
  ],
  load: (d, cpus) => {
    const mixes: Array<{ mix: Mix; steps: Step[]; stopReason: string }> = d.mixes;
    const groups = CPU_GROUPS.filter((g) => g !== 'redis');
    const rows = mixes.flatMap(({ mix, steps }) =>
      steps.map((s) => [
        mix.name,
        s.concurrency,
        fixed(s.throughput),
        ...[s.latency.p50, s.latency.p95, s.latency.p99].map((v) => fixed(v)),
        (['top', 'cart', 'order'] as const).map((r) => fixed(s.routes[r].latency.p95, 0)).join(' / '),
        `${s.errors}${s.errors ? ` (${formatTally(s.errorKinds)})` : ''}`,
        s.outOfStock,
        groups.map((g) => fixed(s.cpu?.[g] ?? 0, 2)).join(' / '),
      ]),
    );
    const { ordersPlaced, unitsSold, mismatched, oversold, negative, orphanOrders } = d.invariants;
    const series = mixes.map((m) => ({ name: m.mix.name, steps: m.steps }));
    const cpu = loadCpuSpec(series, cpus);
    return [
      table(
        'Closed loop, one request in flight per connection; cores = CPU seconds per second of each group of processes',
        `mix|connections|req/s|p50 ms|p95 ms|p99 ms|p95 top / cart / order ms|errors|409 out of stock|cores: ${groups.join(' / ')}`,
        rows,
      ),
      {
        text:
          `Stopped: ${mixes.map((m) => `${m.mix.name} — ${m.stopReason}`).join('; ')}. Afterwards (SQL): ${ordersPlaced} orders placed, ${unitsSold} units; ` +
          `stock invariant violations **${mismatched}**, oversold products **${oversold}**, negative stock ${negative}, orders without lines ${orphanOrders}.`,
      },
      { chart: 'load-throughput', spec: loadSpec(series) },
      ...(cpu ? [{ chart: 'load-cpu', spec: cpu }] : []),
    ];
  },
  analytics: (d) => [
    {
      text: `${d.postgres}; ${d.ordersInWindow.toLocaleString('en-US')} of ${d.orders.toLocaleString('en-US')} orders in the ${d.days}-day window; warm cache.`,
    },
    ...Object.entries(d.plans as Record<string, string>).map(([title, code]) => ({ code, title })),
  ],
};

/** createOrder (random products), a top-products hit and getCart by concurrency, each next to its reference, from one run. */
function scalingSection(benches: BenchRecord[]): Section[] {
  const of = (name: string): Details => benches.find((b) => b.name === name && b.status === 'ok')?.details ?? {};
  const orders = of('orders').cells?.filter((c: Details) => c.workload === 'random');
  const panels = Object.entries<ScalingPoint[] | undefined>({
    'createOrder vs pgbench (its statement), orders/s': orders?.map((c: Details) => ({
      concurrency: c.concurrency,
      ours: c.createOrder,
      reference: c.pgbench,
    })),
    'top-products hit vs raw GET, req/s': of('top-products').scaling,
    'getCart vs raw findOne, req/s': of('carts').scaling,
  }).filter((e): e is [string, ScalingPoint[]] => (e[1]?.length ?? 0) > 1);
  const rows = panels.flatMap(([panel, ps]) =>
    ps.map((p) => [panel, p.concurrency, ...[p.ours.tps, p.reference.tps].map((v) => fixed(v, 0)), fixed(p.ours.tps / p.reference.tps, 2)]),
  );
  const points = panels.flatMap(([panel, ps]) =>
    ps.flatMap((p) => (['ours', 'reference'] as const).map((series) => ({ panel, x: p.concurrency, series, y: p[series].tps }))),
  );
  if (!panels.length) return [];
  const caption = 'Throughput by concurrency, each next to its reference measured in the same run (closed loops)';
  const spec = scalingSpec('Throughput by concurrency: ours vs its reference', 'per second', points);
  return [{ id: 'scaling', title: 'scaling', parts: [table(caption, 'path|conc|ours|reference|ratio', rows), { chart: 'scaling', spec }] }];
}

/** The detail sections of a bench that ran (printed after each bench, and in the report). */
export function benchSections(record: BenchRecord, cpus: number): Section[] {
  const build = BUILDERS[record.name];
  return record.status === 'ok' && build ? [{ id: record.name, title: record.name, parts: build(record.details, cpus) }] : [];
}

export function benchDoc(result: SuiteResult, source: string): Doc {
  const m = result.machine;
  const flags = [result.profile === 'full' ? '' : `--${result.profile}`, result.only ? `--only ${result.only.join(',')}` : '']
    .filter(Boolean)
    .join(' ');
  const ratios = ratiosSpec(result.metrics);
  const notRun = result.benches.filter((b) => b.status !== 'ok');
  const lead =
    `Run of ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC: \`npm run bench${flags ? ` -- ${flags}` : ''}\`, ${(result.durationMs / 1000).toFixed(0)} s; ` +
    `${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, ${m.postgres?.version.split(' on ')[0] ?? 'PostgreSQL'} (max_connections ${m.postgres?.settings.max_connections ?? '?'}), ${m.mongo ?? 'Mongo'}; ` +
    `load average ${m.loadBefore[0]} → ${m.loadAfter[0]}. Data set: ${JSON.stringify((result.setup.dataset as { counts?: unknown } | undefined)?.counts ?? {})}. ` +
    `Functions: ${String(result.setup.functions ?? '')}. Source: \`${source}\` (git-ignored).`;
  const summary: Part[] = [{ text: lead }, { table: metricsTable(result.metrics) }];
  if (notRun.length) summary.push({ list: notRun.map((b) => `**${b.name}: ${b.status}** — ${b.error}`) });
  if (ratios) summary.push({ chart: 'ratios', spec: ratios });
  return {
    title: `npm run bench, ${result.startedAt}`,
    metrics: result.metrics,
    sections: [
      { id: 'summary', title: '', parts: summary },
      ...scalingSection(result.benches),
      ...result.benches.flatMap((b) => benchSections(b, m.cpus)),
    ],
  };
}
