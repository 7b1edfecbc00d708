import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { pooledUrl, startPooler, stopPooler } from '../../scripts/lib/pgbouncer.js';
import { parseBenchmarkEvent } from '../../shared/benchmarks/request.js';
import { runBenchmarks } from '../../shared/benchmarks/run-benchmarks.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { cacheKey, createRedis } from '../../shared/clients/redis.js';
import { parseConfig } from '../../shared/config.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { lambdaContext } from '../helpers/lambda.js';
import { TINY_SIZES } from './helpers.js';

/**
 * runBenchmarks where the functions reach PostgreSQL through a transaction pooler (PgBouncer here, RDS
 * Proxy in the cloud): its session work (advisory lock, session settings, search_path) runs on a direct
 * connection of its own (BENCHMARK_DATABASE_URL), while normal orders keep flowing through the pooler.
 * The run must reach the direct run's conclusions, touch no live table and leave no setting behind on
 * the pooled connections.
 */
const POOLER = { port: 6434, dir: `${ROOT}.cache/pgbouncer-bench-test/` };
const directUrl = process.env.DATABASE_URL!;
const pgbouncer = inject('prerequisites').pgbouncer;

const sql = testSql();
let fx: Fixtures;
let pooled: Sql;

/** runBenchmarks' Lambda context: 15 minutes, as deployed. */
const benchmarkContext = () => ({ ...lambdaContext('runBenchmarks'), getRemainingTimeInMillis: () => 900_000 });

/** What a run concludes, independent of timings. */
function conclusions(summary: Awaited<ReturnType<typeof runBenchmarks>>) {
  const results = summary.results as Record<string, any>;
  return {
    status: summary.status,
    btree: results.btree.sizes.map((size: any) => [size.rows, size.variants.none.usedIndex, size.variants.customer_id.usedIndex]),
    gin: results.gin.cells.map((cell: any) => [cell.selectivity, cell.matchedRows, cell.seq.shape.indexes, cell.forced.shape.indexes]),
    cacheMeasured: results.cache.redisHit.samplesMs.length >= 25 && results.cache.postgres.medianMs > 0,
    orders: [results.orders.errors, results.orders.ordersStored === results.orders.warmups + TINY_SIZES.orderCalls],
  };
}

/** Row counts of the live tables the stream of orders does not write. */
async function untouchedTables() {
  const [row] = await sql<[{ customers: number; products: number; stock: number; keys: number }]>`
    select (select count(*)::int from customers) as customers, (select count(*)::int from products) as products,
           (select sum(stock_quantity)::int from products where product_id <> ${fx.productIds[0]!}) as stock,
           (select count(*)::int from idempotency_keys) as keys`;
  return row;
}

describe.skipIf(!pgbouncer?.available)('runBenchmarks with the functions behind a transaction pooler', () => {
  beforeAll(async () => {
    await startPooler(directUrl, POOLER);
    await resetShop(sql);
    fx = await insertFixtures(sql, { customers: 3, products: 4, stock: 100_000 });
    const config = parseConfig({ ...process.env, DATABASE_URL: pooledUrl(directUrl, POOLER.port), DATABASE_PREPARE: 'false' });
    pooled = postgres(config.database.url, {
      ...postgresOptions(config.database, 'ecommerce-pipeline-test-stream'),
      max: 8,
    }) as unknown as Sql;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    await pooled?.end({ timeout: 5 });
    await sql.end({ timeout: 5 });
    await stopPooler(POOLER);
  });

  it('refuses to run through the pooler without a session connection of its own, and builds nothing', async () => {
    vi.resetModules();
    vi.stubEnv('DATABASE_URL', pooledUrl(directUrl, POOLER.port));
    vi.stubEnv('DATABASE_PREPARE', 'false');
    vi.stubEnv('BENCHMARK_DATABASE_URL', '');
    const { handler } = await import('../../functions/runBenchmarks.js');
    const error = await handler({ sizes: TINY_SIZES }, benchmarkContext()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BENCHMARK_NEEDS_SESSION' });
    const [bench] = await sql<[{ exists: boolean }]>`select exists (select 1 from pg_namespace where nspname = 'bench') as exists`;
    expect(bench!.exists).toBe(false);
  });

  it('reaches the conclusions of a direct run, while orders flow through the pooler; no live table touched, no setting leaked', async () => {
    const config = parseConfig(process.env);
    const direct = await runBenchmarks(
      {
        sql,
        database: config.database,
        applicationName: 'ecommerce-pipeline-tests',
        redis: createRedis(config.redis),
        cacheKey,
        remainingTimeMs: () => 900_000,
      },
      parseBenchmarkEvent({ sizes: TINY_SIZES, repetitions: 5 }),
    );
    expect(direct.status).toBe('succeeded');

    vi.resetModules();
    vi.stubEnv('DATABASE_URL', pooledUrl(directUrl, POOLER.port));
    vi.stubEnv('DATABASE_PREPARE', 'false');
    vi.stubEnv('BENCHMARK_DATABASE_URL', directUrl);
    const { handler } = await import('../../functions/runBenchmarks.js');
    const { closeSql } = await import('../../shared/clients/postgres.js');

    const before = await untouchedTables();
    let streaming = true;
    let placed = 0;
    const stream = (async () => {
      while (streaming) {
        await createOrder(pooled, { customerId: fx.customerIds[0]!, items: [{ productId: fx.productIds[0]!, quantity: 1 }] });
        placed++;
      }
    })();
    let throughPooler: Awaited<ReturnType<typeof runBenchmarks>>;
    try {
      throughPooler = (await handler({ sizes: TINY_SIZES, repetitions: 5 }, benchmarkContext())) as Awaited<
        ReturnType<typeof runBenchmarks>
      >;
    } finally {
      streaming = false;
      await stream;
      await closeSql();
    }

    expect(conclusions(throughPooler)).toEqual(conclusions(direct));
    expect(placed).toBeGreaterThan(0);
    expect(await untouchedTables()).toEqual(before);
    const [orders] = await sql<[{ n: number }]>`select count(*)::int as n from orders`;
    expect(orders!.n).toBe(placed);

    // Every pooled server connection, checked at once: the server's defaults, nothing the run set.
    const settings = await Promise.all(
      Array.from({ length: 8 }, () =>
        pooled.begin(async (tx) => {
          const [row] = await tx<[{ seqscan: string; path: string }]>`
            select current_setting('enable_seqscan') as seqscan, current_setting('search_path') as path, pg_sleep(0.05)`;
          return row;
        }),
      ),
    );
    for (const row of settings) expect(row).toMatchObject({ seqscan: 'on', path: '"$user", public' });
  }, 120_000);
});
