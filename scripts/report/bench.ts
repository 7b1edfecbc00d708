/** A bench result file (bench/lib/result.ts) as a report Doc: the metrics, then each bench's details as tables and charts. */
import path from 'node:path';
import type { FunctionCold } from '../../bench/cold-start.js';
import { formatLoad, type LoadResult, type PoolerPeak } from '../../bench/lib/containers.js';
import type { Measured } from '../../bench/lib/measure.js';
import type { BenchRecord, SuiteResult } from '../../bench/lib/result.js';
import type { Mix, Step } from '../../bench/load.js';
import type { RequestCount } from '../../bench/round-trips.js';
import type { Summary } from '../../shared/benchmarks/stats.js';
import { kb } from '../lib/package-report.js';
import { CPU_GROUPS, coldStartSpec, loadCpuSpec, loadSpec, ratiosSpec, roundTripsSpec } from './charts.js';
import type { Doc, Part, Section } from './document.js';
import { fixed, metricsTable, type Table } from './table.js';

/** Where `--docs` writes: the generated section of docs/performance.md and its charts. */
export const DOCS = {
  file: path.resolve(import.meta.dirname, '../../docs/performance.md'),
  charts: path.resolve(import.meta.dirname, '../../docs/performance'),
};

// biome-ignore lint/suspicious/noExplicitAny: details are each bench's own JSON, read by the bench's builder below
type Details = any;

const tps = (m: Measured) => [fixed(m.tps, 0), fixed(m.p50, 2), fixed(m.p95, 2)];
const errors = (kinds: Record<string, number> = {}) =>
  Object.entries(kinds)
    .map(([kind, n]) => `${kind} ×${n}`)
    .join(', ');
const table = (caption: string, header: string[], rows: string[][]): Part => ({
  table: { caption, header, rows, numeric: header.map((_, i) => i).slice(1) },
});
const summaries = (caption: string, rows: Array<[string, Summary]>) =>
  table(
    caption,
    ['path', 'p50', 'p95', 'p99', 'n'],
    rows.map(([name, s]) => [name, fixed(s.p50, 2), fixed(s.p95, 2), fixed(s.p99, 2), String(s.n)]),
  );

const BUILDERS: Record<string, (d: Details, cpus: number) => Part[]> = {
  seed: (d) => [
    table(
      `${d.counts.orders.toLocaleString('en-US')} orders; phases in seconds`,
      ['load', 's', 'rows/s', 'WAL MB', 'load before', 'phases'],
      [
        ['ours (COPY)', d.ours.rows, d.ours.elapsedMs, d.walMb.ours, d.loadBefore.ours, d.ours.phasesMs],
        [
          'reference (generate_series)',
          d.reference.rows,
          d.reference.elapsedMs,
          d.walMb.reference,
          d.loadBefore.reference,
          d.reference.phasesMs,
        ],
      ].map(([name, rows, ms, wal, load, phases]) => {
        const total = Object.values(rows as Record<string, number>).reduce((a, b) => a + b, 0);
        const phaseText = Object.entries(phases as Record<string, number>)
          .map(([p, t]) => `${p} ${fixed(t / 1000)}`)
          .join(', ');
        return [name, fixed(ms / 1000), fixed((total * 1000) / ms, 0), String(wal), load, phaseText];
      }),
    ),
  ],
  orders: (d) => [
    table(
      'createOrder in process vs pgbench (orders/s, latency ms)',
      ['workload', 'conc', 'createOrder/s', 'p50', 'p95', 'pgbench/s', 'p50', 'p95'],
      d.cells.map((c: Details) => [c.workload, String(c.concurrency), ...tps(c.createOrder), ...tps(c.pgbench)]),
    ),
  ],
  'orders-variants': (d) => [
    table(
      'Design alternatives in process (statements = round trips per order)',
      ['variant', 'stmts', 'workload', 'conc', 'orders/s', 'p50', 'p95'],
      d.cells.flatMap((c: Details) =>
        d.variants.map((v: { name: string; statements: number }, i: number) => [
          v.name,
          String(v.statements),
          c.workload,
          String(c.concurrency),
          ...tps(c.variants[i]),
        ]),
      ),
    ),
  ],
  'orders-http': (d) => [
    table(
      'createOrder in process · the Lambda handler in process · HTTP via serverless-offline (orders/s, latency ms)',
      ['workload', 'conc', 'createOrder/s', 'p50', 'p95', 'handler/s', 'p50', 'p95', 'HTTP/s', 'p50', 'p95'],
      d.cells.map((c: Details) => [c.workload, String(c.concurrency), ...tps(c.inProcess), ...tps(c.handler), ...tps(c.http)]),
    ),
  ],
  'top-products': (d) => [
    {
      text: `${d.dataset.orders.toLocaleString('en-US')} orders, ${d.dataset.items.toLocaleString('en-US')} lines; leaderboard full rebuild ${fixed(d.reconcile.fullRebuildMs / 1000)} s (${d.reconcile.daySets} day sets), recent pass ${d.reconcile.recentPassMs} ms; handler statuses ${errors(d.handlerStatuses)}.`,
    },
    summaries('GET /products/top?limit=10 in process (ms); a refresh is what a MISS costs, the first of a window builds its past days', [
      ['uncached aggregate, all time', d.uncachedAggregateAllTime],
      ['uncached aggregate, 30 days', d.uncachedAggregate30Days],
      ['cache hit through the handler', d.handlerHit],
      ['raw @upstash/redis GET', d.rawGet],
      ...Object.entries(d.refreshFromLeaderboard as Record<string, Summary>).map(([window, s]): [string, Summary] => [
        `refresh from the leaderboard, ${window}`,
        s,
      ]),
    ]),
  ],
  carts: (d) => [
    { text: `${d.server}, TTL index: ${d.ttlIndex}. A domain save is 4 round trips (read, claim, replace, release), a raw one 1.` },
    table(
      'Save+get pairs (latency ms)',
      ['workload', 'conc', 'pairs/s', 'save p50', 'save p95', 'get p50', 'get p95', 'pair p50', 'pair p95', 'pairs', 'failed'],
      d.cells.flatMap((c: Details) =>
        (['domain', 'raw'] as const).map((w) => {
          const m: Measured = c[w];
          const step = (s: string) => [fixed(m.parts?.[s]?.p50, 2), fixed(m.parts?.[s]?.p95, 2)];
          return [
            w,
            String(c.concurrency),
            fixed(m.tps, 1),
            ...step('save'),
            ...step('get'),
            fixed(m.p50, 2),
            fixed(m.p95, 2),
            String(m.ops),
            errors(m.errorKinds) || '0',
          ];
        }),
      ),
    ),
  ],
  'round-trips': (d) => [
    table(
      'Per warm request: Postgres counted on the wire by a TCP proxy, statements by the postgres.js debug hook',
      [
        'request',
        'PG statements',
        'PG trips (prepared)',
        'PG trips (prepare: false)',
        'Redis requests',
        'Redis commands (billed)',
        'Mongo commands',
        'minimum',
      ],
      d.prepared.map((p: RequestCount, i: number) =>
        [
          p.request,
          p.pgStatements,
          p.pgRoundTrips,
          d.unprepared[i].pgRoundTrips,
          p.redis,
          p.redisCommands,
          p.mongo,
          d.minimum[p.request]?.total ?? '–',
        ].map(String),
      ),
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
      ['function', 'bundle', 'zipped', 'zip from npm run package', 'init CPU ms', 'init wall ms', 'process wall ms'],
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
    table(
      `Random 3-item orders at concurrency ${d.options.concurrency} (orders/s, latency ms)`,
      ['path', 'orders/s', 'p50', 'p95', 'errors'],
      [
        ['createOrder via PgBouncer (prepare: false)', d.createOrderViaPooler],
        ['pgbench via PgBouncer (-M extended)', d.pgbenchViaPooler],
        ['pgbench straight at Postgres (-M prepared)', d.pgbenchDirect],
        ['createOrder straight at Postgres, prepare: false', d.createOrderDirectUnprepared],
        ['createOrder straight at Postgres, prepare: true', d.createOrderDirectPrepared],
      ].map(([name, m]) => [name, ...tps(m), String(m.errors)]),
    ),
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
    { text: `Statuses: ${errors(d.statuses)}.` },
  ],
  load: (d, cpus) => {
    const mixes: Array<{ mix: Mix; steps: Step[]; stopReason: string }> = d.mixes;
    const groups = CPU_GROUPS.filter((g) => g !== 'redis');
    const rows = mixes.flatMap(({ mix, steps }) =>
      steps.map((s) => [
        mix.name,
        String(s.concurrency),
        fixed(s.throughput),
        ...(['p50', 'p95', 'p99'] as const).map((p) => fixed(s.latency[p])),
        (['top', 'cart', 'order'] as const).map((r) => fixed(s.routes[r].latency.p95, 0)).join(' / '),
        `${s.errors}${s.errors ? ` (${errors(s.errorKinds)})` : ''}`,
        String(s.outOfStock),
        groups.map((g) => fixed(s.cpu?.[g] ?? 0, 2)).join(' / '),
      ]),
    );
    const inv = d.invariants;
    const cpu = loadCpuSpec(
      mixes.map((m) => ({ name: m.mix.name, steps: m.steps })),
      cpus,
    );
    return [
      table(
        'Closed loop, one request in flight per connection; cores = CPU seconds per second of each group of processes',
        [
          'mix',
          'connections',
          'req/s',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'p95 top / cart / order ms',
          'errors',
          '409 out of stock',
          `cores: ${groups.join(' / ')}`,
        ],
        rows,
      ),
      {
        text:
          `Stopped: ${mixes.map((m) => `${m.mix.name} — ${m.stopReason}`).join('; ')}. Afterwards (SQL): ${inv.ordersPlaced} orders placed, ${inv.unitsSold} units; ` +
          `stock invariant violations **${inv.mismatched}**, oversold products **${inv.oversold}**, negative stock ${inv.negative}, orders without lines ${inv.orphanOrders}.`,
      },
      { chart: 'load-throughput', spec: loadSpec(mixes.map((m) => ({ name: m.mix.name, steps: m.steps }))) },
      ...(cpu ? [{ chart: 'load-cpu', spec: cpu }] : []),
    ];
  },
  analytics: (d) => [
    {
      text: `${d.postgres}; ${d.ordersInWindow.toLocaleString('en-US')} of ${d.orders.toLocaleString('en-US')} orders in the ${d.days}-day window; warm cache.`,
    },
    ...Object.entries(d.plans as Record<string, string>).map(([name, plan]) => ({ code: plan, title: name })),
  ],
};

function storm(where: string, result: LoadResult, maxConnections: number, peak?: PoolerPeak): string {
  const held = peak
    ? `; PgBouncer held at most ${peak.serverConnections} server connections, ${peak.clientsWaiting} clients waited at most`
    : '';
  return `${formatLoad(`Containers (pool max 1 each) ${where}`, result)} (max_connections ${maxConnections})${held}.`;
}

/** The detail sections of the benches that ran (printed after each bench, and in the report). */
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
  const summary: Part[] = [{ text: lead }, { table: metricsTable(result.metrics) as Table }];
  if (notRun.length) summary.push({ list: notRun.map((b) => `**${b.name}: ${b.status}** — ${b.error}`) });
  if (ratios) summary.push({ chart: 'ratios', spec: ratios });
  return {
    title: `npm run bench, ${result.startedAt}`,
    metrics: result.metrics,
    sections: [{ id: 'summary', title: '', parts: summary }, ...result.benches.flatMap((b) => benchSections(b, m.cpus))],
  };
}
