import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIN_SELECTIVITIES, parseBenchmarkEvent } from '../../shared/benchmarks/request.js';
import { BENCHMARK_LOCK_ID, type RunBenchmarksDeps, runBenchmarks } from '../../shared/benchmarks/run-benchmarks.js';
import { finishRun, getRun, insertRun, markAbandonedRuns } from '../../shared/benchmarks/store.js';
import { cacheKey, createRedis } from '../../shared/clients/redis.js';
import { parseConfig } from '../../shared/config.js';
import type { AppError } from '../../shared/errors.js';
import { canCreateRoles, insertFixtures, resetShop, temporaryRole, testSql } from '../helpers/db.js';
import { TINY_SIZES } from './helpers.js';

/**
 * runBenchmarks in-process against shop_test: refusals (time budget, lock) store nothing and build
 * nothing; a tiny run measures every suite, stores itself, and leaves the live tables and their
 * indexes exactly as they were.
 */
const sql = testSql();
const config = parseConfig(process.env);
const redis = createRedis(config.redis);
const mayCreateRoles = await canCreateRoles(sql);

function deps(remainingMs = 900_000): RunBenchmarksDeps {
  return {
    sql,
    database: config.database,
    applicationName: 'ecommerce-pipeline-tests',
    redis,
    cacheKey,
    remainingTimeMs: () => remainingMs,
  };
}

async function runCount(): Promise<number> {
  const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from benchmark_runs`;
  return row!.count;
}

async function benchSchemaExists(): Promise<boolean> {
  const [row] = await sql<Array<{ exists: boolean }>>`select exists (select 1 from pg_namespace where nspname = 'bench') as exists`;
  return row!.exists;
}

/** Row counts and index definitions of every live table: what a run must leave untouched. */
async function liveSnapshot() {
  const tables = await sql<Array<{ name: string }>>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' and c.relname not in ('benchmark_runs', 'migrations') order by 1`;
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await sql.unsafe<Array<{ count: number }>>(`select count(*)::int as count from public.${name}`);
    counts[name] = row!.count;
  }
  const indexes = await sql<Array<{ indexdef: string }>>`select indexdef from pg_indexes where schemaname = 'public' order by indexname`;
  return { counts, indexes: indexes.map((row) => row.indexdef) };
}

beforeAll(async () => {
  await resetShop(sql);
  // Live data the run must not see or change.
  const { customerIds, productIds } = await insertFixtures(sql, { customers: 3, products: 4 });
  await sql`insert into orders (customer_id, total_amount) values (${customerIds[0]!}, 12.50)`;
  await sql`insert into order_items (order_id, product_id, quantity, unit_price) select max(order_id), ${productIds[0]!}, 1, 12.50 from orders`;
});

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe('runBenchmarks (in-process, shop_test)', () => {
  it('refuses up front a scale that would not fit in the time left, storing and building nothing', async () => {
    const before = await runCount();
    const error = (await runBenchmarks(deps(30_000), parseBenchmarkEvent({ scale: 'large' })).catch((e) => e)) as AppError;
    expect(error.code).toBe('BENCHMARK_TOO_LARGE');
    expect(error.message).toMatch(/estimated to take [\d.]+ s, but this invocation has 30\.0 s left of which 20\.0 s may be used/);
    expect(await runCount()).toBe(before);
    expect(await benchSchemaExists()).toBe(false);
  });

  it.skipIf(!mayCreateRoles)(
    'refuses up front a user that may not create its bench schema (the functions’ own role), storing nothing',
    async () => {
      await sql`drop role if exists bench_without_create_test`;
      const role = await temporaryRole(sql, 'bench_without_create_test', 'select, insert, update, delete');
      try {
        const before = await runCount();
        const error = (await runBenchmarks({ ...deps(), sessionUrl: role.url }, parseBenchmarkEvent({ sizes: TINY_SIZES })).catch(
          (e) => e,
        )) as AppError;
        expect(error.code).toBe('BENCHMARK_NEEDS_CREATE');
        expect(error.message).toMatch(/CREATE on the database.*BENCHMARK_DATABASE_URL/);
        expect(await runCount()).toBe(before);
        expect(await benchSchemaExists()).toBe(false);
      } finally {
        await role.drop();
      }
    },
  );

  it('a run marked abandoned by a later one (it had lost its session and lock) stays abandoned when it finishes after all', async () => {
    const request = parseBenchmarkEvent({ sizes: TINY_SIZES });
    const { runId } = await insertRun(sql, { trigger: request.trigger, params: request, estimatedMs: 1, environment: {} as never });
    expect(await markAbandonedRuns(sql)).toBeGreaterThanOrEqual(1);
    const stored = await finishRun(sql, runId, { status: 'succeeded', results: {}, plans: {}, timings: {}, error: null });
    expect(stored.status).toBe('abandoned');
    expect((await getRun(sql, runId))?.status).toBe('abandoned');
  });

  it('stops when its session (and the lock in it) ends under it, and leaves the bench schema to the next run', async () => {
    const run = runBenchmarks(deps(), parseBenchmarkEvent({ sizes: TINY_SIZES }));
    let settled = false;
    run.then(
      () => (settled = true),
      () => (settled = true),
    );
    let killed = 0;
    let killedPid = 0;
    for (let tries = 0; killed === 0 && !settled && tries < 400; tries++) {
      const rows = await sql<Array<{ pid: number }>>`
        select pid, pg_terminate_backend(pid) from pg_stat_activity
        where application_name = 'ecommerce-pipeline-tests-bench' and query not like '%pg_try_advisory_lock%'
          and exists (select 1 from benchmark_runs where status = 'running')`;
      killed = rows.length;
      killedPid = rows[0]?.pid ?? 0;
      if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(killed).toBe(1);
    // Nothing of the run goes on in a new session (postgres.js would reconnect at its next statement): without
    // the lock, that would be work another run's `bench` may be under.
    let reconnected = 0;
    while (!settled) {
      const [row] = await sql<Array<{ sessions: number }>>`
        select count(*)::int as sessions from pg_stat_activity
        where application_name = 'ecommerce-pipeline-tests-bench' and pid <> ${killedPid}`;
      reconnected = Math.max(reconnected, row!.sessions);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const summary = await run;
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/session ended under the run/);
    expect(reconnected, 'bench sessions seen after the kill').toBe(0);
    await sql`drop schema if exists bench cascade`;
  });

  it('refuses to start while another session holds the benchmark lock', async () => {
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(${BENCHMARK_LOCK_ID})`;
      const before = await runCount();
      const error = (await runBenchmarks(deps(), parseBenchmarkEvent({ sizes: TINY_SIZES })).catch((e) => e)) as AppError;
      expect(error.code).toBe('BENCHMARK_ALREADY_RUNNING');
      expect(error.message).toMatch(/already running/);
      expect(await runCount()).toBe(before);
    } finally {
      await holder`select pg_advisory_unlock(${BENCHMARK_LOCK_ID})`;
      holder.release();
    }
  });

  it('measures every suite on bench fixtures, stores the run and leaves the live tables untouched', async () => {
    const [stale] = await sql<Array<{ runId: number }>>`
      insert into benchmark_runs (status, trigger, params) values ('running', 'invoke', '{}') returning run_id as "runId"`;
    const before = await liveSnapshot();

    const summary = await runBenchmarks(deps(), parseBenchmarkEvent({ sizes: TINY_SIZES, repetitions: 5 }));

    expect(await liveSnapshot()).toEqual(before);
    expect(await benchSchemaExists()).toBe(false);
    expect((await getRun(sql, stale!.runId))?.status).toBe('abandoned');

    expect(summary.status).toBe('succeeded');
    expect(summary.error).toBeNull();
    const results = summary.results as Record<string, any>;
    // B-tree: every size, three variants, five timed samples each, the index used when present.
    expect(results.btree.sizes.map((size: any) => size.rows)).toEqual([1_000, 2_000]);
    for (const size of results.btree.sizes) {
      expect(size.variants.none.samplesMs).toHaveLength(5);
      expect(size.variants.none.usedIndex).toBe(false);
      expect(size.variants.customer_id.usedIndex).toBe(true);
      expect(size.variants.customer_id.indexBytes).toBeGreaterThan(0);
      expect(size.speedup.customer_id).toBeGreaterThan(0);
    }
    // GIN: one cell per selectivity, each probe matching exactly its share of the rows.
    expect(results.gin.cells).toHaveLength(GIN_SELECTIVITIES.length);
    for (const cell of results.gin.cells) {
      expect(cell.matchedRows).toBe(Math.ceil(cell.selectivity * 1_000));
      expect(cell.seq.shape.indexes).toEqual([]);
      expect(cell.forced.shape.indexes).toEqual(['gin_products_1000_path_ops_idx']);
    }
    expect(results.gin.indexSizes[0].jsonbPathOpsBytes).toBeGreaterThan(0);
    expect(results.gin.indexSizes[0].jsonbOpsBytes).toBeGreaterThan(0);
    expect(typeof results.gin.labClaim.holds).toBe('boolean');
    // Cache: both sides measured, the hit is a real round trip.
    expect(results.cache.redisHit.samplesMs.length).toBeGreaterThanOrEqual(25);
    expect(results.cache.postgres.medianMs).toBeGreaterThan(0);
    expect(results.cache.speedup).toBeGreaterThan(0);
    // Orders: the real createOrder placed every order in the bench copy.
    expect(results.orders.errors).toBe(0);
    expect(results.orders.ordersStored).toBe(results.orders.warmups + 20);
    expect(results.orders.clonedTables).toEqual(expect.arrayContaining(['customers', 'products', 'orders', 'order_items']));
    expect(results.orders.p95Ms).toBeGreaterThanOrEqual(results.orders.p50Ms);

    const stored = await getRun(sql, summary.runId);
    expect(stored?.plans?.['btree/2000/customer_id']?.Plan).toBeDefined();
    expect(stored?.plans?.['gin/1000/0.5/forced']?.['Execution Time']).toBeGreaterThan(0);
    expect(stored?.plans?.['cache/postgres']).toBeDefined();
    expect(summary.plansStored).toBe(Object.keys(stored!.plans!).length);
    expect(stored?.environment.postgres.version).toMatch(/PostgreSQL/);
    expect(stored?.estimatedMs).toBeGreaterThan(0);
  }, 60_000);
});
