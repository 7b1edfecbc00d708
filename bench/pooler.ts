/**
 * PgBouncer (transaction mode, the local stand-in for RDS Proxy: the suite's own instance, see
 * bench/lib/context.ts) under the orders workload, on a scratch database holding the order fixture:
 *
 *   1. createOrder through PgBouncer (postgres.js prepare: false, as a cloud stage behind a pooler runs) vs
 *      pgbench running createOrder's statement through PgBouncer (-M extended: unnamed statements, what a
 *      transaction pooler allows before PgBouncer 1.21), and vs createOrder straight at Postgres (prepared):
 *      goal ≥ 0.9× both — one round trip per order either way (tests/clients/round-trips.test.ts);
 *   2. the pooler's own cost: pgbench through PgBouncer vs straight at Postgres (-M prepared), and what
 *      prepare: false costs createOrder by itself (straight at Postgres, false vs true: the statement is
 *      parsed and planned on every call — still one round trip, its parameter types being known);
 *   3. connection scale: many simulated Lambda containers (bench/lib/containers.ts) placing orders at once
 *      through PgBouncer — connection errors (goal 0) and the most server connections PgBouncer held.
 * The same storm straight at Postgres is the opt-in `pooler-direct`: on a machine others share, it
 * exhausts max_connections for everyone for a moment (tests/pooler asserts that it does).
 */
import os from 'node:os';
import { withDatabase } from '../scripts/lib/env.js';
import { pooledUrl } from '../scripts/lib/pgbouncer.js';
import { portAnswers } from '../scripts/lib/process.js';
import { metric } from '../shared/benchmarks/metric.js';
import type { Sql } from '../shared/clients/postgres.js';
import { createOrder } from '../shared/orders/create-order.js';
import { poolerMonitor, simulateContainers } from './lib/containers.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { connectedPool, freeConnections, pool, randomOrder, tidied, withOrderFixture, withSql } from './lib/fixtures.js';
import { closedLoop, type Measured, PROCESS_WARMUP_S, rotate, type Segment } from './lib/measure.js';
import { orderPgbench } from './lib/pgbench.js';
import type { BenchOutput } from './lib/result.js';

type Options = { durationS: number; warmupS: number; concurrency: number; containers: number; ordersPerContainer: number };
const PROFILES: Record<Profile, Options> = {
  full: { durationS: 10, warmupS: 1, concurrency: 16, containers: 300, ordersPerContainer: 3 },
  quick: { durationS: 2, warmupS: 0.5, concurrency: 16, containers: 120, ordersPerContainer: 2 },
  tiny: { durationS: 1, warmupS: 0, concurrency: 4, containers: 20, ordersPerContainer: 1 },
};
/** A storm of `containers` containers ordering as 100 customers over 50 products (ids of the order fixture). */
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const stormOf = (o: Options) => ({
  containers: o.containers,
  ordersPerContainer: o.ordersPerContainer,
  customerIds: ids(100),
  productIds: ids(50),
});
const maxConnections = (url: string) =>
  withSql(url, async (sql) => Number((await sql<[{ max: string }]>`select current_setting('max_connections') as max`)[0].max));

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const port = ctx.poolerPort;
  if (!port || !(await portAnswers(port))) {
    const skipped = 'the suite’s PgBouncer is not running (is pgbouncer installed? Debian/Ubuntu: apt-get install pgbouncer)';
    return { metrics: [], details: {}, skipped };
  }
  const o = PROFILES[ctx.profile];
  const database = 'shop_bench_pooler';
  const free = await freeConnections(ctx.baseUrl);
  console.log(`pooler: PgBouncer 127.0.0.1:${port} (transaction mode); ${free} free server connections now`);
  return withOrderFixture(ctx, database, async (direct) => {
    const pooled = pooledUrl(direct, port);
    // 1 + 2, rotated halves. Straight at Postgres one pool per setting for the whole rotation, warm as PgBouncer's server
    // connections are: a new pool per segment timed new backends' first plans against the pooler's warm ones.
    const viaPooler = pool(pooled, o.concurrency, false);
    const straight = [await connectedPool(direct, o.concurrency, false), await connectedPool(direct, o.concurrency, true)];
    const orders = (sql: Sql, seconds: number, warmupS = o.warmupS) =>
      closedLoop(o.concurrency, seconds, async () => void (await createOrder(sql, randomOrder('random'))), warmupS);
    const segment = (measure: (seconds: number) => Promise<Segment>) => tidied(ctx, direct, o.concurrency, measure);
    // pgbench straight at Postgres opens new backends each run (catalogs and plans to load).
    const directWarmupS = Math.max(o.warmupS, 0.5);
    const configurations = [
      segment((seconds) => orders(viaPooler, seconds)),
      segment((seconds) => orderPgbench(pooled, 'random', o.concurrency, seconds, 'extended', 'statement', o.warmupS)),
      segment((seconds) => orderPgbench(direct, 'random', o.concurrency, seconds, 'prepared', 'statement', directWarmupS)),
      ...straight.map((sql) => segment((seconds) => orders(sql, seconds))),
    ];
    const warmedThenRotated = async () => {
      await orders(viaPooler, PROCESS_WARMUP_S[ctx.profile], 0);
      for (const sql of straight) await orders(sql, Math.min(1, PROCESS_WARMUP_S[ctx.profile]), 0);
      return rotate(configurations, o.durationS);
    };
    const measured = await warmedThenRotated().finally(() => Promise.all([viaPooler, ...straight].map((sql) => sql.end({ timeout: 5 }))));
    const [ours, refPooled, refDirect, unprepared, prepared] = measured as [Measured, Measured, Measured, Measured, Measured];

    // 3: connection scale through PgBouncer.
    const monitor = poolerMonitor(pooledUrl(withDatabase(ctx.baseUrl, 'pgbouncer'), port), database);
    const storm = await simulateContainers({ ...stormOf(o), url: pooled, prepare: false, sample: monitor.sample }).finally(() =>
      monitor.close(),
    );
    const c = `c=${o.concurrency}`;
    return {
      metrics: [
        metric('pooler', {
          metric: `createOrder via PgBouncer (prepare:false) vs pgbench via PgBouncer, ${c}`,
          ours: ours.tps,
          reference: refPooled.tps,
          unit: 'orders/s',
          goal: { on: 'ratio', op: '>=', value: 0.9 },
          ...(ours.errors + refPooled.errors > 0 ? { note: `${ours.errors} / ${refPooled.errors} errors` } : {}),
        }),
        metric('pooler', {
          metric: `createOrder via PgBouncer (prepare:false) vs straight at Postgres (prepare:true), ${c}`,
          ours: ours.tps,
          reference: prepared.tps,
          unit: 'orders/s',
          goal: { on: 'ratio', op: '>=', value: 0.9 },
        }),
        metric('pooler', {
          metric: `pgbench via PgBouncer vs straight at Postgres (the pooler's cost), ${c}`,
          ours: refPooled.tps,
          reference: refDirect.tps,
          unit: 'orders/s',
        }),
        metric('pooler', {
          metric: `createOrder straight at Postgres: prepare:false vs prepare:true, ${c}`,
          ours: unprepared.tps,
          reference: prepared.tps,
          unit: 'orders/s',
        }),
        metric('pooler', {
          metric: `${o.containers} containers at once through PgBouncer: connection errors`,
          ours: storm.connectionErrors,
          unit: 'errors',
          goal: { on: 'ours', op: '<=', value: 0, text: '0' },
        }),
        metric('pooler', {
          metric: `${o.containers} containers: server connections PgBouncer held vs client connections`,
          ours: monitor.peak.serverConnections,
          reference: o.containers,
          unit: 'conns',
        }),
      ],
      details: {
        database,
        options: o,
        cpus: os.cpus().length,
        freeConnectionsBefore: free,
        createOrderViaPooler: ours,
        pgbenchViaPooler: refPooled,
        pgbenchDirect: refDirect,
        createOrderDirectUnprepared: unprepared,
        createOrderDirectPrepared: prepared,
        storm,
        poolerPeak: monitor.peak,
        maxConnections: await maxConnections(direct),
      },
    };
  });
}

/** The same storm straight at PostgreSQL (named prepared statements, as a direct stage runs): what the pooler prevents. */
export async function direct(ctx: SuiteContext): Promise<BenchOutput> {
  const o = PROFILES[ctx.profile];
  return withOrderFixture(ctx, 'shop_bench_pooler_direct', async (url) => {
    const storm = await simulateContainers({ ...stormOf(o), url, prepare: true });
    const max = await maxConnections(url);
    return {
      metrics: [
        metric('pooler-direct', {
          metric: `${o.containers} containers at once straight at PostgreSQL (max_connections ${max}): orders placed vs attempted`,
          ours: storm.ordersPlaced,
          reference: storm.ordersAttempted,
          unit: 'orders',
        }),
        metric('pooler-direct', {
          metric: `${o.containers} containers straight at PostgreSQL: connection errors`,
          ours: storm.connectionErrors,
          unit: 'errors',
        }),
      ],
      details: { options: o, storm, maxConnections: max },
    };
  });
}
