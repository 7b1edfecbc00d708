/**
 * PgBouncer (transaction mode, the local stand-in for RDS Proxy, scripts/lib/pgbouncer.ts — the suite
 * starts its own instance on 127.0.0.1:6434, see bench/lib/context.ts) under the orders workload, on a scratch database (shop_bench_pooler, the
 * orders fixture):
 *
 *   1. createOrder through PgBouncer (postgres.js prepare: false, as a cloud stage behind a pooler runs)
 *      vs pgbench through PgBouncer (-M extended: unnamed statements, what a transaction pooler allows
 *      before PgBouncer 1.21) — the same ≥ 0.8× goal as straight at Postgres (bench/orders.ts);
 *   2. the pooler's own cost: pgbench through PgBouncer vs pgbench straight at Postgres (-M prepared),
 *      and what prepare: false costs createOrder by itself (straight at Postgres, prepare false vs true:
 *      the big statement is planned on every call, and postgres.js describes it first — one more round trip);
 *   3. connection scale: many simulated Lambda containers (a postgres.js pool of max 1 each) placing
 *      orders at once through PgBouncer — connection errors (goal 0) and the most server connections
 *      PgBouncer held (scripts/pooler-load.ts's simulation, by the deploy engineer).
 * The same storm straight at Postgres is deliberately not run here: on a machine others share, it would
 * exhaust max_connections for everyone (tests/pooler and `npm run pooler:load` show it, on purpose).
 */
import './lib/quiet-logs.js'; // before anything that loads shared/logger.ts
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { withDatabase } from '../scripts/lib/env.js';
import { pooledUrl } from '../scripts/lib/pgbouncer.js';
import { portAnswers } from '../scripts/lib/probe.js';
import { poolerMonitor, simulateContainers } from '../scripts/pooler-load.js';
import { postgresOptions, type Sql } from '../shared/clients/postgres.js';
import { migrate } from '../shared/db/migrate.js';
import { createOrder } from '../shared/orders/create-order.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { closedLoop, type Measured, rotate, type Segment } from './lib/measure.js';
import { fillOrderFixture, ORDER_FIXTURE, pgbenchDefines, randomOrder, tidyOrderFixture } from './lib/order-fixture.js';
import { findPgbench, pgbench } from './lib/pgbench.js';
import { type BenchOutput, metric } from './lib/result.js';
import { createScratch, dropScratch, freeConnections, scratchUrl, whenConnectionFree } from './lib/scratch.js';
import { f0, f2, formatTable } from './lib/table.js';

const DATABASE = 'shop_bench_pooler';

const SUITE_OPTIONS: Record<
  Profile,
  { durationS: number; warmupS: number; concurrency: number; containers: number; ordersPerContainer: number }
> = {
  full: { durationS: 10, warmupS: 1, concurrency: 16, containers: 300, ordersPerContainer: 3 },
  quick: { durationS: 2, warmupS: 0.5, concurrency: 16, containers: 120, ordersPerContainer: 2 },
  tiny: { durationS: 1, warmupS: 0, concurrency: 4, containers: 20, ordersPerContainer: 1 },
};

function pool(url: string, max: number, prepare: boolean): Sql {
  const options = postgresOptions(
    { url, poolMax: max, prepare, connectTimeoutSeconds: 10, idleTimeoutSeconds: 60, statementTimeoutMs: 30_000 },
    'bench-pooler',
  );
  return postgres(url, options) as unknown as Sql;
}

async function tidy(url: string): Promise<void> {
  await whenConnectionFree(async () => {
    const sql = pool(url, 1, true);
    try {
      await tidyOrderFixture(sql);
    } finally {
      await sql.end();
    }
  });
}

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const port = ctx.poolerPort;
  if (!port || !(await portAnswers(port))) {
    return {
      metrics: [],
      details: {},
      skipped: 'the suite’s PgBouncer is not running (is pgbouncer installed? Debian/Ubuntu: apt-get install pgbouncer)',
    };
  }
  const binary = findPgbench();
  if (!binary) throw new Error('pgbench not found on PATH or under /usr/lib/postgresql/*/bin');
  const o = SUITE_OPTIONS[ctx.profile];
  const direct = scratchUrl(ctx.baseUrl, DATABASE);
  const pooled = pooledUrl(direct, port);
  const free = await freeConnections(ctx.baseUrl);
  console.log(
    `pooler: PgBouncer 127.0.0.1:${port} (transaction mode) in front of ${new URL(direct).host}; ${free} free server connections now`,
  );
  await createScratch(ctx.baseUrl, DATABASE, { recreate: true });
  try {
    await migrate(direct);
    await whenConnectionFree(async () => {
      const sql = pool(direct, 1, true);
      try {
        await fillOrderFixture(sql);
      } finally {
        await sql.end();
      }
    });

    // 1 + 2: createOrder via PgBouncer, pgbench via PgBouncer, pgbench direct, createOrder direct with
    // prepare false and true — rotated halves.
    const viaPooler = pool(pooled, o.concurrency, false);
    const segment = {
      createOrder: async (seconds: number): Promise<Segment> => {
        await tidy(direct);
        return closedLoop(o.concurrency, seconds, async () => void (await createOrder(viaPooler, randomOrder('random'))), o.warmupS);
      },
      pgbenchPooled: async (seconds: number) => {
        await tidy(direct);
        return pgbench({
          binary,
          url: pooled,
          script: ORDER_FIXTURE.pgbenchScript,
          concurrency: o.concurrency,
          seconds,
          protocol: 'extended',
          defines: pgbenchDefines('random'),
        });
      },
      pgbenchDirect: async (seconds: number) => {
        await tidy(direct);
        return pgbench({
          binary,
          url: direct,
          script: ORDER_FIXTURE.pgbenchScript,
          concurrency: o.concurrency,
          seconds,
          protocol: 'prepared',
          defines: pgbenchDefines('random'),
        });
      },
      // A pool per segment, closed after it: straight at Postgres, connections are what others need too.
      createOrderDirect:
        (prepare: boolean) =>
        async (seconds: number): Promise<Segment> => {
          await tidy(direct);
          const sql = pool(direct, o.concurrency, prepare);
          try {
            return await closedLoop(
              o.concurrency,
              seconds,
              async () => void (await createOrder(sql, randomOrder('random'))),
              Math.max(o.warmupS, 0.5),
            );
          } finally {
            await sql.end({ timeout: 5 });
          }
        },
    };
    let ours: Measured;
    let refPooled: Measured;
    let refDirect: Measured;
    let unprepared: Measured;
    let prepared: Measured;
    try {
      [ours, refPooled, refDirect, unprepared, prepared] = (await rotate(
        [
          segment.createOrder,
          segment.pgbenchPooled,
          segment.pgbenchDirect,
          segment.createOrderDirect(false),
          segment.createOrderDirect(true),
        ],
        o.durationS,
      )) as [Measured, Measured, Measured, Measured, Measured];
    } finally {
      await viaPooler.end({ timeout: 5 });
    }
    console.log(`\nrandom 3-item orders at concurrency ${o.concurrency} (orders/s, latency ms)`);
    console.log(
      formatTable(
        ['path', 'orders/s', 'p50', 'p95', 'errors'],
        [
          ['createOrder via PgBouncer (prepare: false)', f0(ours.tps), f2(ours.p50), f2(ours.p95), String(ours.errors)],
          ['pgbench via PgBouncer (-M extended)', f0(refPooled.tps), f2(refPooled.p50), f2(refPooled.p95), String(refPooled.errors)],
          ['pgbench straight at Postgres (-M prepared)', f0(refDirect.tps), f2(refDirect.p50), f2(refDirect.p95), String(refDirect.errors)],
          [
            'createOrder straight at Postgres, prepare: false',
            f0(unprepared.tps),
            f2(unprepared.p50),
            f2(unprepared.p95),
            String(unprepared.errors),
          ],
          [
            'createOrder straight at Postgres, prepare: true',
            f0(prepared.tps),
            f2(prepared.p50),
            f2(prepared.p95),
            String(prepared.errors),
          ],
        ],
      ),
    );

    // 3: connection scale through PgBouncer.
    const setup = postgres(direct, { max: 1, onnotice: () => {} });
    const [ids] = await setup<Array<{ customers: number[]; products: number[] }>>`
      select (select array_agg(customer_id) from (select customer_id from customers order by customer_id limit 100) c) as customers,
             (select array_agg(product_id) from (select product_id from products order by product_id limit 50) p) as products`;
    const [maxConnections] = await setup<Array<{ max: number }>>`select current_setting('max_connections')::int as max`;
    await setup.end();
    const monitor = poolerMonitor(pooledUrl(withDatabase(ctx.baseUrl, 'pgbouncer'), port), DATABASE);
    const storm = await simulateContainers({
      url: pooled,
      containers: o.containers,
      ordersPerContainer: o.ordersPerContainer,
      prepare: false,
      customerIds: ids!.customers,
      productIds: ids!.products,
      sample: monitor.sample,
    });
    await monitor.close();
    console.log(
      `\n${o.containers} containers (pool max 1 each) × ${o.ordersPerContainer} orders through PgBouncer: ${storm.ordersPlaced}/${storm.ordersAttempted} placed in ` +
        `${storm.durationMs} ms, ${storm.connectionErrors} connection errors, ${storm.otherErrors} other; PgBouncer held at most ` +
        `${monitor.peak.serverConnections} server connections (max_connections ${maxConnections!.max}), ${monitor.peak.clientsWaiting} clients waited at most`,
    );
    return {
      metrics: [
        metric('pooler', {
          metric: `createOrder via PgBouncer (prepare:false) vs pgbench via PgBouncer, c=${o.concurrency}`,
          ours: ours.tps,
          reference: refPooled.tps,
          unit: 'orders/s',
          goal: { on: 'ratio', op: '>=', value: 0.8 },
          ...(ours.errors + refPooled.errors > 0 ? { note: `${ours.errors} / ${refPooled.errors} errors` } : {}),
        }),
        metric('pooler', {
          metric: `pgbench via PgBouncer vs straight at Postgres (the pooler's cost), c=${o.concurrency}`,
          ours: refPooled.tps,
          reference: refDirect.tps,
          unit: 'orders/s',
        }),
        metric('pooler', {
          metric: `createOrder straight at Postgres: prepare:false vs prepare:true, c=${o.concurrency}`,
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
        database: DATABASE,
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
        maxConnections: maxConnections!.max,
      },
    };
  } finally {
    await dropScratch(ctx.baseUrl, DATABASE);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.error('bench/pooler.ts runs inside the suite: npm run bench -- --only pooler [--quick]');
  process.exit(2);
}
