/**
 * The data the benches run on, and its clean-up. Every benchmark database is named shop_bench or
 * shop_bench_<x>: anything else (the dev database `shop`, the tests' `shop_test`, …) is refused before a
 * statement runs, so no benchmark can ever drop or fill a database someone uses.
 */
import path from 'node:path';
import type { Redis } from '@upstash/redis';
import { type Db, MongoClient } from 'mongodb';
import postgres from 'postgres';
import { seed } from '../../scripts/db/seed.js';
import { ROOT, withDatabase } from '../../scripts/lib/env.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { createRedis } from '../../shared/clients/redis.js';
import { parseConfig } from '../../shared/config.js';
import { migrate } from '../../shared/db/migrate.js';
import type { CreateOrderInput } from '../../shared/orders/create-order.js';
import { topProductsKeys } from '../../shared/products/keys.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import type { Counts, SuiteContext } from './context.js';
import type { Segment } from './measure.js';

const SCRATCH = /^shop_bench(_[a-z0-9_]+)?$/;
type Options = postgres.Options<Record<string, postgres.PostgresType>>;

export function assertScratchName(database: string): void {
  if (!SCRATCH.test(database)) {
    throw new Error(`refusing to use database "${database}" for a benchmark: scratch databases are named shop_bench or shop_bench_<name>`);
  }
}

/** The URL of scratch database `database` on the same server as `baseUrl`. */
export function scratchUrl(baseUrl: string, database: string): string {
  assertScratchName(database);
  return withDatabase(baseUrl, database);
}

/** Retries `fn` while the server answers "too many clients" (53300): a shared machine, others benchmark too. */
export async function whenConnectionFree<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if ((error as { code?: string }).code !== '53300' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** One short-lived connection to `url` (by default the server's maintenance database, which always exists). */
export async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>, options: Options = {}): Promise<T> {
  return whenConnectionFree(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {}, ...options }) as unknown as Sql;
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
}
export const withAdmin = <T>(baseUrl: string, fn: (sql: Sql) => Promise<T>) => withSql(withDatabase(baseUrl, 'postgres'), fn);

export async function dropScratch(baseUrl: string, database: string): Promise<void> {
  assertScratchName(database);
  await withAdmin(baseUrl, (sql) => sql.unsafe(`drop database if exists "${database}" with (force)`));
}

/** Creates (or, with recreate, empties by recreating) a scratch database and applies the migrations. */
export async function createScratch(baseUrl: string, database: string, options: { recreate?: boolean } = {}): Promise<string> {
  const url = scratchUrl(baseUrl, database);
  await withAdmin(baseUrl, async (sql) => {
    if (options.recreate) await sql.unsafe(`drop database if exists "${database}" with (force)`);
    const [exists] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!exists) await sql.unsafe(`create database "${database}"`);
  });
  await whenConnectionFree(() => migrate(url));
  return url;
}

/** Connections still free for ordinary roles; waits (≤ 60 s) for `needed` of them: a busy shared server. */
export async function freeConnections(baseUrl: string, needed = 0): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const free = await withAdmin(baseUrl, async (sql) => {
      const [row] = await sql<Array<{ free: number }>>`
        select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
               - (select count(*) from pg_stat_activity)::int as free`;
      return row!.free;
    });
    if (free >= needed || Date.now() > deadline) return free;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Makes sure `url` (the suite's data set) holds a seed of `counts`; reused when it already does. */
export async function ensureDataset(
  baseUrl: string,
  database: string,
  counts: Counts,
  log: (line: string) => void,
): Promise<'reused' | 'seeded'> {
  const url = await createScratch(baseUrl, database);
  const current = await withSql(url, async (sql) => {
    const [row] = await sql<Array<Counts>>`
      select (select count(*) from customers)::int as customers, (select count(*) from products)::int as products,
             (select count(*) from orders)::int as orders`;
    return row!;
  });
  if (current.customers === counts.customers && current.products === counts.products && current.orders === counts.orders) return 'reused';
  log(`data set: seeding ${database} with ${counts.orders.toLocaleString('en-US')} orders (scripts/db/seed.ts) …`);
  await seed(url, { ...counts, seed: 1, reset: true });
  return 'seeded';
}

/**
 * The shop the orders and pooler benches place orders in: the seed's shop (scripts/db/seed.ts) of 10,000
 * customers, 9,999 products and 50,000 orders, analyzed, with stock 10⁹ (no order ever fails for stock), and
 * the two workloads of bench/sql/order.pgbench.sql — 3-item orders over random products (one from each third
 * of the id range, so always distinct) or over 5 hot products. The order history matters: on an empty shop
 * the first connections planned the order lines' foreign-key checks as scans of the empty orders table and
 * kept those plans, so whichever side was measured first slowed down as orders accumulated.
 */
export const ORDER_FIXTURE = {
  customers: 10_000,
  products: 9_999,
  orders: 50_000,
  hotProducts: 5,
  pgbenchScript: path.join(ROOT, 'bench/sql/order.pgbench.sql'),
};

export type Workload = 'random' | 'hot';

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** The same distributions as the pgbench script; lines in random order (createOrder sorts them into lock order). */
export function randomOrder(workload: Workload): CreateOrderInput {
  const { hotProducts, products, customers } = ORDER_FIXTURE;
  const third = products / 3;
  const x = randomInt(0, hotProducts - 1);
  const ids =
    workload === 'hot'
      ? [1 + x, 1 + ((x + 1) % hotProducts), 1 + ((x + 2) % hotProducts)]
      : [randomInt(1, third), randomInt(third + 1, 2 * third), randomInt(2 * third + 1, 3 * third)];
  ids.sort(() => Math.random() - 0.5);
  return { customerId: randomInt(1, customers), items: ids.map((productId) => ({ productId, quantity: randomInt(1, 3) })) };
}

/** pgbench -D variables for the workload. */
const { customers: ncustomers, products: nproducts } = ORDER_FIXTURE;
export const pgbenchDefines = (workload: Workload) => ({ ncustomers, nproducts, hot: workload === 'hot' ? 1 : 0 });

/** A pool as a Lambda container makes one (shared/clients/postgres.ts), sized for a bench. */
export function pool(url: string, max: number, prepare: boolean, extra: Options = {}): Sql {
  const database = { url, poolMax: max, prepare, connectTimeoutSeconds: 10, idleTimeoutSeconds: 60, statementTimeoutMs: 30_000 };
  return postgres(url, { ...postgresOptions(database, 'bench'), ...extra }) as unknown as Sql;
}

/** A bench pool with its `max` connections open, as pgbench connects its clients before its clock starts. */
export async function connectedPool(url: string, max: number, prepare: boolean): Promise<Sql> {
  const sql = pool(url, max, prepare);
  await Promise.all(Array.from({ length: max }, () => sql`select 1`));
  return sql;
}

/** Runs `fn` on a freshly created scratch database holding the order fixture; drops it afterwards. */
export async function withOrderFixture<T>(ctx: SuiteContext, database: string, fn: (url: string) => Promise<T>): Promise<T> {
  const url = await createScratch(ctx.baseUrl, database, { recreate: true });
  try {
    const { customers, products, orders } = ORDER_FIXTURE;
    await seed(url, { customers, products, orders, seed: 1 });
    await withSql(url, async (sql) => {
      await sql`update products set stock_quantity = 1000000000`;
      await sql`vacuum analyze`;
    });
    return await fn(url);
  } finally {
    await dropScratch(ctx.baseUrl, database);
  }
}

/** A rotate() configuration whose segments start alike: hot rows' dead versions vacuumed, a checkpoint, c + 2 connections free. */
export const tidied = (ctx: SuiteContext, url: string, c: number, measure: (s: number) => Promise<Segment>) => async (seconds: number) => {
  await withSql(url, async (sql) => {
    await sql`vacuum analyze products`;
    await sql`checkpoint`.catch(() => {}); // needs superuser / pg_checkpoint; best effort
  });
  await freeConnections(ctx.baseUrl, c + 2);
  return measure(seconds);
};

/** Makes sure the suite's cache namespace holds a loaded top-products leaderboard (a full reconcile if not). */
export async function ensureLeaderboard(env: Record<string, string>, directUrl: string): Promise<'loaded' | 'rebuilt'> {
  const config = parseConfig({ ...env, DATABASE_URL: directUrl, DATABASE_PREPARE: 'true', DATABASE_STATEMENT_TIMEOUT_MS: '300000' });
  const redis = createRedis(config.redis);
  if (await redis.get(topProductsKeys(config.redis.namespace).meta)) return 'loaded';
  const sql = postgres(directUrl, postgresOptions(config.database, 'bench-leaderboard')) as unknown as Sql;
  try {
    await reconcileTopProducts({ sql, redis, namespace: config.redis.namespace }, { mode: 'full' });
    return 'rebuilt';
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Deletes a cache namespace (the leaderboard alone is ~175 MB at 1M orders). */
export async function deleteNamespace(redis: Redis, namespace: string): Promise<number> {
  let cursor: string | number = '0';
  let deleted = 0;
  do {
    const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${namespace}:*`, count: 1000 });
    cursor = next;
    for (let i = 0; i < keys.length; i += 500) deleted += await redis.unlink(...keys.slice(i, i + 500));
  } while (String(cursor) !== '0');
  return deleted;
}

/** Which Mongo-protocol server answers: FerretDB reports its own version next to the wire version. */
export async function mongoServer(db: Db): Promise<string> {
  const build = await db.admin().command({ buildInfo: 1 });
  const ferret = typeof build.ferretdbVersion === 'string' ? `FerretDB ${build.ferretdbVersion} (wire ${build.version})` : undefined;
  return ferret ?? `MongoDB ${build.version}`;
}

/** Drops what a suite run left: the data set, the cache namespace and the Mongo database. */
export async function cleanUp(ctx: SuiteContext, log: (line: string) => void): Promise<void> {
  const config = parseConfig(ctx.functionEnv);
  // A server that accepts the command and never answers (a deadlocked FerretDB) must not hang the run.
  const mongo = new MongoClient(config.mongo.uri, { serverSelectionTimeoutMS: 3000, socketTimeoutMS: 30_000 });
  const steps: Array<[string, () => Promise<unknown>]> = [
    [ctx.dataset.database, () => dropScratch(ctx.baseUrl, ctx.dataset.database)],
    [`Redis ${config.redis.namespace}:*`, () => deleteNamespace(createRedis(config.redis), config.redis.namespace)],
    [`Mongo ${config.mongo.database}`, () => mongo.db(config.mongo.database).dropDatabase()],
  ];
  for (const [what, step] of steps)
    await step().then(
      () => log(`clean-up: dropped ${what}`),
      (error: Error) => log(`clean-up: ${what}: ${error.message}`),
    );
  await mongo.close();
}
