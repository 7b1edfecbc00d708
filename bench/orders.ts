/**
 * npm run bench:orders [-- --quick] [--duration <s>] [--no-http] [--no-variants] [--keep-db]
 *                      [--workload random,hot] [--concurrency 1,16,64]
 *
 * How close is createOrder to the raw speed of Postgres? In one run, on its own scratch database
 * (shop_bench_orders: created, migrated, 10k customers + 10k products with generous stock, dropped at
 * the end), for two workloads of 3-item orders — random products, and 5 hot products:
 *   1. createOrder called in process (no HTTP) at concurrency 1, 16, 64: throughput, p50, p95;
 *   2. pgbench running the reference minimal SQL transaction (bench/sql/order.pgbench.sql,
 *      -M prepared) at the same concurrency for the same duration; the ratio createOrder / pgbench
 *      (goal: ≥ 0.8 at concurrency 16 in both workloads);
 *   3. the design alternatives, for the record (docs/orders.md): statements per order counted with
 *      postgres.js's debug hook, and throughput of the lead's first version (7 statements), a
 *      few-statements version (BEGIN / lock+check / write / COMMIT) and the single statement, plus
 *      the single statement with an Idempotency-Key;
 *   4. the same orders through serverless-offline HTTP (ports 3200/3202) to show the HTTP overhead
 *      (each request with a bearer token for its customer).
 * This is a script, not a test: it prints a table and exits 0 unless something is broken.
 * `npm run bench` runs 1 + 2 through `run()` (the HTTP view is its http-overhead benchmark).
 */
import './lib/quiet-logs.js'; // before anything that loads shared/logger.ts
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { localEnv, withDatabase } from '../scripts/lib/env.js';
import { type Handler, httpEvent, lambdaContext } from '../scripts/lib/lambda-events.js';
import { type Offline, startOffline } from '../scripts/lib/offline.js';
import { postgresOptions, type Sql } from '../shared/clients/postgres.js';
import { migrate } from '../shared/db/migrate.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { type CreateOrderInput, createOrder, mergeItems, type Order } from '../shared/orders/create-order.js';
import { withRetry } from '../shared/orders/retry.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { abba, closedLoop as closedLoopWith, type Measured, rotate, type Segment } from './lib/measure.js';
import { fillOrderFixture, ORDER_FIXTURE, pgbenchDefines, randomOrder, tidyOrderFixture, type Workload } from './lib/order-fixture.js';
import { findPgbench, pgbench as runPgbench } from './lib/pgbench.js';
import { deleteNamespace } from './lib/redis.js';
import { type BenchOutput, type Metric, metric } from './lib/result.js';
import { whenConnectionFree } from './lib/scratch.js';
import { f0, f2, formatTable } from './lib/table.js';
import { tokenSigner } from './lib/tokens.js';

// ─── options ────────────────────────────────────────────────────────────────────────────────────

export interface OrdersBenchOptions {
  /** Seconds per measured configuration (split into two halves, A B B A). */
  durationS: number;
  warmupS: number;
  concurrency: number[];
  workloads: Workload[];
  variants: boolean;
  http: boolean;
  keepDb: boolean;
}

export const DEFAULT_OPTIONS: OrdersBenchOptions = {
  durationS: 10,
  warmupS: 1,
  concurrency: [1, 16, 64],
  workloads: ['random', 'hot'],
  variants: true,
  http: true,
  keepDb: false,
};

// Set by configure() (the CLI's flags, or the suite's profile).
let DURATION_S = DEFAULT_OPTIONS.durationS;
let WARMUP_S = DEFAULT_OPTIONS.warmupS;
let CONCURRENCY = DEFAULT_OPTIONS.concurrency;
let WORKLOADS = DEFAULT_OPTIONS.workloads;
const VARIANT_CONCURRENCY = [1, 16];
const HTTP_CONCURRENCY = [1, 16];
const CUSTOMERS = ORDER_FIXTURE.customers;
const PRODUCTS = ORDER_FIXTURE.products; // a multiple of 3: the random workload takes one product from each third
const DATABASE = 'shop_bench_orders';
/** recordSale's Redis keys for the handler and HTTP measurements: never the dev stage's leaderboard. */
const CACHE_NAMESPACE = 'ecommerce-pipeline:bench-orders';

function configure(options: OrdersBenchOptions): void {
  DURATION_S = options.durationS;
  WARMUP_S = options.warmupS;
  CONCURRENCY = options.concurrency;
  WORKLOADS = options.workloads;
}

const env = localEnv();
const BASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop';
const BENCH_URL = withDatabase(BASE_URL, DATABASE);
/** A bearer token per customer: POST /orders acts for the customer in the body. */
const bearer = tokenSigner(env);

const log = (line = '') => process.stdout.write(`${line}\n`);

// ─── workloads (the same distributions as bench/sql/order.pgbench.sql) ─────────────────────────

// randomOrder: bench/lib/order-fixture.ts

// ─── measurement (bench/lib/measure.ts, bench/lib/pgbench.ts) ──────────────────────────────────

const closedLoop = (concurrency: number, seconds: number, op: () => Promise<void>, warmupSeconds = WARMUP_S) =>
  closedLoopWith(concurrency, seconds, op, warmupSeconds);

function pgbench(binary: string, workload: Workload, concurrency: number, seconds: number): Promise<Segment> {
  return runPgbench({
    binary,
    url: BENCH_URL,
    script: ORDER_FIXTURE.pgbenchScript,
    concurrency,
    seconds,
    protocol: 'prepared',
    defines: pgbenchDefines(workload),
  });
}

// ─── the design alternatives (benchmark only; production uses createOrder) ────────────────────

/**
 * The lead's first version, kept verbatim in spirit: BEGIN, lock products, check customer, insert
 * order, insert lines, update stock, COMMIT — 7 statements, 7 round trips.
 */
async function createOrderSevenStatements(sql: Sql, input: CreateOrderInput): Promise<Order> {
  const items = mergeItems(input.items);
  const productIds = items.map((item) => item.productId);
  const quantities = items.map((item) => item.quantity);
  return withRetry(() =>
    sql.begin(async (tx) => {
      const locked = await tx<Array<{ productId: number; price: string; stock: number }>>`
        select product_id as "productId", price, stock_quantity as stock from products
        where product_id = any(${productIds}::int[]) order by product_id for update`;
      const [customer] = await tx`select 1 from customers where customer_id = ${input.customerId}`;
      if (!customer) throw new NotFoundError('CUSTOMER_NOT_FOUND', 'no customer');
      const found = new Map(locked.map((row) => [row.productId, row]));
      if (productIds.some((id) => !found.has(id))) throw new NotFoundError('PRODUCT_NOT_FOUND', 'no product');
      if (items.some((item) => item.quantity > found.get(item.productId)!.stock)) throw new ConflictError('INSUFFICIENT_STOCK', 'short');
      const [order] = await tx<Array<{ orderId: number; orderDate: Date; totalAmount: string }>>`
        insert into orders (customer_id, total_amount)
        select ${input.customerId}, sum(p.price * l.quantity)
        from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity) join products p using (product_id)
        returning order_id as "orderId", order_date as "orderDate", total_amount as "totalAmount"`;
      const lines = await tx<Array<{ productId: number; quantity: number; unitPrice: string }>>`
        insert into order_items (order_id, product_id, quantity, unit_price)
        select ${order!.orderId}, l.product_id, l.quantity, p.price
        from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity) join products p using (product_id)
        returning product_id as "productId", quantity, unit_price as "unitPrice"`;
      await tx`
        update products p set stock_quantity = p.stock_quantity - l.quantity
        from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity)
        where p.product_id = l.product_id`;
      return {
        orderId: order!.orderId,
        customerId: input.customerId,
        orderDate: order!.orderDate.toISOString(),
        totalAmount: order!.totalAmount,
        items: [...lines].sort((a, b) => a.productId - b.productId),
      };
    }),
  );
}

/**
 * The best "few statements" shape: BEGIN; one statement locks the products (ascending ids) and reads
 * the customer; checks in JS; one statement with CTEs inserts the order and lines and updates stock;
 * COMMIT — 4 round trips.
 */
async function createOrderFewStatements(sql: Sql, input: CreateOrderInput): Promise<Order> {
  const items = mergeItems(input.items);
  const productIds = items.map((item) => item.productId);
  const quantities = items.map((item) => item.quantity);
  return withRetry(() =>
    sql.begin(async (tx) => {
      const [check] = await tx<Array<{ customer: boolean; rows: Array<{ id: number; stock: number }> }>>`
        with locked as materialized (
          select product_id, stock_quantity from products
          where product_id = any(${productIds}::int[]) order by product_id for update
        )
        select exists (select from customers where customer_id = ${input.customerId}) as customer,
               coalesce(json_agg(json_build_object('id', product_id, 'stock', stock_quantity)), '[]') as rows
        from locked`;
      if (!check!.customer) throw new NotFoundError('CUSTOMER_NOT_FOUND', 'no customer');
      const stock = new Map(check!.rows.map((row) => [row.id, row.stock]));
      if (productIds.some((id) => !stock.has(id))) throw new NotFoundError('PRODUCT_NOT_FOUND', 'no product');
      if (items.some((item) => item.quantity > stock.get(item.productId)!)) throw new ConflictError('INSUFFICIENT_STOCK', 'short');
      const [written] = await tx<Array<{ order: Order }>>`
        with l as (
          select l.product_id, l.quantity, p.price
          from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity) join products p using (product_id)
        ),
        o as (
          insert into orders (customer_id, total_amount) select ${input.customerId}, sum(price * quantity) from l
          returning order_id, order_date, total_amount
        ),
        i as (insert into order_items (order_id, product_id, quantity, unit_price) select o.order_id, l.product_id, l.quantity, l.price from o, l),
        s as (
          update products p set stock_quantity = p.stock_quantity - l.quantity
          from l where p.product_id = any(${productIds}::int[]) and p.product_id = l.product_id
        )
        select json_build_object(
          'orderId', o.order_id, 'customerId', ${input.customerId}::int,
          'orderDate', to_char(o.order_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'totalAmount', o.total_amount::text,
          'items', (select json_agg(json_build_object('productId', product_id, 'quantity', quantity, 'unitPrice', price::text) order by product_id) from l)
        ) as order
        from o`;
      return written!.order;
    }),
  );
}

type Variant = { name: string; place: (sql: Sql, input: CreateOrderInput) => Promise<unknown> };

const VARIANTS: Variant[] = [
  { name: 'v1: 7 statements (BEGIN, 5, COMMIT)', place: createOrderSevenStatements },
  { name: 'few: 4 statements (BEGIN, lock, write, COMMIT)', place: createOrderFewStatements },
  { name: 'chosen: 1 statement (CTEs, autocommit)', place: (sql, input) => createOrder(sql, input) },
  {
    name: 'chosen + Idempotency-Key (new key each)',
    place: (sql, input) => createOrder(sql, input, { idempotencyKey: randomUUID() }),
  },
];

// ─── database ───────────────────────────────────────────────────────────────────────────────────

function pool(max: number, extra: Partial<postgres.Options<Record<string, postgres.PostgresType>>> = {}): Sql {
  const options = postgresOptions(
    { url: BENCH_URL, poolMax: max, prepare: true, connectTimeoutSeconds: 10, idleTimeoutSeconds: 60, statementTimeoutMs: 30_000 },
    'bench-orders',
  );
  return postgres(BENCH_URL, { ...options, ...extra }) as unknown as Sql;
}

async function admin<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
  return whenConnectionFree(async () => {
    const sql = postgres(withDatabase(BASE_URL, 'postgres'), { max: 1, onnotice: () => {} }) as unknown as Sql;
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
}

async function dropDatabase(): Promise<void> {
  await admin((sql) => sql`drop database if exists ${sql(DATABASE)} with (force)`);
}

async function prepareDatabase(): Promise<void> {
  await dropDatabase();
  await whenConnectionFree(() => migrate(BENCH_URL));
  const sql = pool(1);
  try {
    // Generous stock (no order ever fails for stock), prices 1.00–100.99.
    await fillOrderFixture(sql);
  } finally {
    await sql.end();
  }
}

/** Keeps every run on equal footing: hot rows accumulate dead versions quickly. */
async function tidy(): Promise<void> {
  await whenConnectionFree(async () => {
    const sql = pool(1);
    try {
      await tidyOrderFixture(sql);
    } finally {
      await sql.end();
    }
  });
}

/** Waits (≤ 60 s) until `needed` connections are free, so a run does not fail on a busy shared server. */
async function awaitFreeConnections(needed: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let free = await freeConnections();
  while (free < needed && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    free = await freeConnections();
  }
  if (free < needed) log(`warning: only ${free} free connections, ${needed} wanted`);
}

async function freeConnections(): Promise<number> {
  return admin(async (sql) => {
    const [row] = await sql<Array<{ free: number }>>`
      select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
             - (select count(*) from pg_stat_activity)::int as free`;
    return row!.free;
  });
}

/** Statements each variant sends per order (postgres.js debug hook; BEGIN/COMMIT included). */
async function countStatements(variant: Variant): Promise<number> {
  let count = 0;
  const sql = pool(1, { debug: () => void count++ });
  try {
    await variant.place(sql, randomOrder('random')); // prepares the statements
    count = 0;
    await variant.place(sql, randomOrder('random'));
    return count;
  } finally {
    await sql.end();
  }
}

async function measureInProcess(workload: Workload, concurrency: number, place: Variant['place'], seconds: number): Promise<Segment> {
  await tidy();
  await awaitFreeConnections(concurrency + 2);
  const sql = pool(concurrency);
  try {
    return await closedLoop(concurrency, seconds, async () => {
      await place(sql, randomOrder(workload));
    });
  } finally {
    await sql.end();
  }
}

// ─── HTTP through serverless-offline ────────────────────────────────────────────────────────────

async function measureHttp(offline: Offline, workload: Workload, concurrency: number, seconds: number): Promise<Segment> {
  await tidy();
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL('/orders', offline.httpUrl);
  const post = async (order: CreateOrderInput) => {
    const body = JSON.stringify(order);
    const authorization = await bearer(order.customerId);
    return new Promise<void>((resolve, reject) => {
      const request = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () =>
            response.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`)),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  };
  try {
    // Every concurrent request beyond the warm workers starts a cold worker thread (bundle load, new
    // pool): warm up with rounds of `concurrency` parallel requests until three rounds in a row take < 0.5 s.
    const warmupDeadline = performance.now() + 60_000;
    for (let fast = 0; fast < 3 && performance.now() < warmupDeadline; ) {
      const t0 = performance.now();
      await Promise.allSettled(Array.from({ length: concurrency }, () => post(randomOrder(workload))));
      fast = performance.now() - t0 < 500 ? fast + 1 : 0;
    }
    return await closedLoop(concurrency, seconds, () => post(randomOrder(workload)), WARMUP_S);
  } finally {
    agent.destroy();
  }
}

let handlerInProcess: Handler | undefined;

/**
 * The Lambda handler itself, invoked in this process with an API Gateway v2 event: middy stack, zod
 * validation, createOrder, recordSale (the local Upstash gateway), JSON response. Its container pool
 * is sized to the concurrency (one process serving concurrent calls, unlike one Lambda container).
 */
async function measureHandler(workload: Workload, concurrency: number, seconds: number): Promise<Segment> {
  await tidy();
  if (!handlerInProcess) {
    Object.assign(
      process.env,
      localEnv({
        DATABASE_URL: BENCH_URL,
        DATABASE_POOL_MAX: String(Math.max(...HTTP_CONCURRENCY)),
        LOG_LEVEL: 'ERROR',
        STAGE: 'bench',
        CACHE_NAMESPACE,
      }),
    );
    handlerInProcess = (await import('../functions/createOrder.js')).handler as unknown as Handler;
  }
  const handler = handlerInProcess;
  return closedLoop(concurrency, seconds, async () => {
    const order = randomOrder(workload);
    const event = httpEvent({ method: 'POST', path: '/orders', body: order, authorization: await bearer(order.customerId) });
    const response = await handler(event, lambdaContext('createOrder'));
    if (response.statusCode !== 201) throw new Error(`handler ${response.statusCode}: ${String(response.body).slice(0, 200)}`);
  });
}

// ─── report ─────────────────────────────────────────────────────────────────────────────────────

function table(headers: string[], rows: string[][]): void {
  log(formatTable(headers, rows));
}

const errorNote = (m: Measured) => (m.errors > 0 ? ` (${m.errors} errors: ${m.firstError ?? 'see pgbench'})` : '');

interface Ratio {
  workload: Workload;
  concurrency: number;
  ratio: number;
  ours: Measured;
  reference: Measured;
}

async function bench(options: OrdersBenchOptions): Promise<Ratio[]> {
  configure(options);
  const flag = (name: 'no-variants' | 'no-http' | 'keep-db') =>
    name === 'no-variants' ? !options.variants : name === 'no-http' ? !options.http : options.keepDb;
  const pgbenchBinary = findPgbench();
  if (!pgbenchBinary) throw new Error('pgbench not found on PATH or under /usr/lib/postgresql/*/bin');
  log(`bench:orders — ${DURATION_S}s per run, ${os.cpus().length} CPUs, Node ${process.version}, ${pgbenchBinary}`);
  log(`scratch database ${DATABASE}: ${CUSTOMERS} customers, ${PRODUCTS} products; 3-item orders (quantities 1–3)`);
  log('');

  await prepareDatabase();
  try {
    const [version] = await admin((sql) => sql<Array<{ v: string }>>`select current_setting('server_version') as v`);
    log(`PostgreSQL ${version!.v}; free connections now: ${await freeConnections()}`);

    // 1 + 2: createOrder in process vs pgbench.
    const rows: string[][] = [];
    const ratios: Ratio[] = [];
    for (const workload of WORKLOADS) {
      for (const concurrency of CONCURRENCY) {
        const [ours, reference] = await abba(
          (seconds) => measureInProcess(workload, concurrency, (sql, input) => createOrder(sql, input), seconds),
          async (seconds) => {
            await tidy();
            await awaitFreeConnections(concurrency + 2);
            return pgbench(pgbenchBinary, workload, concurrency, seconds);
          },
          DURATION_S,
        );
        const ratio = ours.tps / reference.tps;
        ratios.push({ workload, concurrency, ratio, ours, reference });
        rows.push([
          workload,
          String(concurrency),
          f0(ours.tps),
          f2(ours.p50),
          f2(ours.p95),
          f0(reference.tps),
          f2(reference.p50),
          f2(reference.p95),
          `${f2(ratio)}×`,
        ]);
        log(
          `  ${workload} c=${concurrency}: createOrder ${f0(ours.tps)} tps${errorNote(ours)} · pgbench ${f0(reference.tps)} tps${errorNote(reference)}`,
        );
      }
    }
    log('');
    log('createOrder (in process, no HTTP) vs pgbench reference transaction — orders/s, latency ms');
    table(['workload', 'conc', 'createOrder/s', 'p50', 'p95', 'pgbench/s', 'p50', 'p95', 'ratio'], rows);
    for (const { workload, ratio } of ratios.filter((r) => r.concurrency === 16)) {
      log(`goal ≥ 0.8× pgbench at concurrency 16, ${workload}: ${f2(ratio)}× ${ratio >= 0.8 ? 'MET' : 'NOT MET'}`);
    }

    // 3: design alternatives.
    if (!flag('no-variants')) {
      log('');
      const variantRows: string[][] = [];
      const statements = new Map<Variant, number>();
      for (const variant of VARIANTS) statements.set(variant, await countStatements(variant));
      for (const workload of WORKLOADS) {
        for (const concurrency of VARIANT_CONCURRENCY) {
          // Two rounds, the second in reverse order, so load drift does not favour any variant.
          const measured = await rotate(
            VARIANTS.map((variant) => (seconds: number) => measureInProcess(workload, concurrency, variant.place, seconds)),
            DURATION_S,
          );
          for (const [index, variant] of VARIANTS.entries()) {
            const m = measured[index]!;
            variantRows.push([
              variant.name,
              String(statements.get(variant)),
              workload,
              String(concurrency),
              f0(m.tps),
              f2(m.p50),
              f2(m.p95),
            ]);
            log(`  ${variant.name} ${workload} c=${concurrency}: ${f0(m.tps)} tps${errorNote(m)}`);
          }
        }
      }
      log('');
      log('Design alternatives (in process) — statements = round trips per order');
      table(['variant', 'stmts', 'workload', 'conc', 'orders/s', 'p50', 'p95'], variantRows);
    }

    // 4: HTTP through serverless-offline.
    if (!flag('no-http')) {
      log('');
      let offline: Offline | undefined;
      try {
        offline = await startOffline(localEnv({ DATABASE_URL: BENCH_URL, LOG_LEVEL: 'ERROR', STAGE: 'bench', CACHE_NAMESPACE }), {
          httpPort: 3200,
          lambdaPort: 3202,
          stage: 'bench',
        });
      } catch (error) {
        log(`HTTP: skipped — ${(error instanceof Error ? error.message : String(error)).split('\n').slice(0, 4).join(' ')}`);
      }
      if (offline) {
        try {
          const httpRows: string[][] = [];
          for (const workload of WORKLOADS) {
            for (const concurrency of HTTP_CONCURRENCY) {
              const [inProcess, viaHandler, overHttp] = (await rotate(
                [
                  (seconds) => measureInProcess(workload, concurrency, (sql, input) => createOrder(sql, input), seconds),
                  (seconds) => measureHandler(workload, concurrency, seconds),
                  (seconds) => measureHttp(offline!, workload, concurrency, seconds),
                ],
                DURATION_S,
              )) as [Measured, Measured, Measured];
              httpRows.push([
                workload,
                String(concurrency),
                f0(inProcess.tps),
                f2(inProcess.p50),
                f2(inProcess.p95),
                f0(viaHandler.tps),
                f2(viaHandler.p50),
                f2(viaHandler.p95),
                f0(overHttp.tps),
                f2(overHttp.p50),
                f2(overHttp.p95),
              ]);
              if (viaHandler.errors) log(`  handler ${workload} c=${concurrency}: ${errorNote(viaHandler)}`);
              log(`  HTTP ${workload} c=${concurrency}: ${f0(overHttp.tps)} tps${errorNote(overHttp)}`);
            }
          }
          log('');
          log(
            'The same orders: createOrder in process · the Lambda handler in process · HTTP through serverless-offline — orders/s, latency ms',
          );
          table(['workload', 'conc', 'createOrder/s', 'p50', 'p95', 'handler/s', 'p50', 'p95', 'HTTP/s', 'p50', 'p95'], httpRows);
          log('(handler = middy stack + validation + createOrder + recordSale to the local Upstash gateway + JSON. serverless-offline');
          log(' runs each concurrent request in its own worker thread with its own pool of DATABASE_POOL_MAX=2, so concurrency 64');
          log(' over HTTP would need 128 connections, above max_connections here: not run.)');
        } finally {
          await offline.stop();
        }
      }
    }
    return ratios;
  } finally {
    if (flag('keep-db')) log(`kept ${DATABASE}`);
    else await dropDatabase();
    if (options.http) {
      // The sales recordSale counted for the scratch orders.
      const { createRedis } = await import('../shared/clients/redis.js');
      const upstash = localEnv();
      await deleteNamespace(
        createRedis({
          url: upstash.UPSTASH_REDIS_REST_URL ?? '',
          token: upstash.UPSTASH_REDIS_REST_TOKEN ?? '',
          namespace: CACHE_NAMESPACE,
          timeoutMs: 5_000,
        }),
        CACHE_NAMESPACE,
      ).catch((error: unknown) => log(`could not delete ${CACHE_NAMESPACE}:* from Redis: ${String(error)}`));
    }
  }
}

const SUITE_OPTIONS: Record<Profile, Partial<OrdersBenchOptions>> = {
  full: { durationS: 10, warmupS: 1, concurrency: [1, 16, 64] },
  quick: { durationS: 2, warmupS: 0.5, concurrency: [16] },
  tiny: { durationS: 1, warmupS: 0, concurrency: [4], workloads: ['random'] },
};

/** The suite's entry: createOrder vs pgbench (1 + 2); no variants, no HTTP (see bench/http-overhead.ts). */
export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const ratios = await bench({ ...DEFAULT_OPTIONS, variants: false, http: false, ...SUITE_OPTIONS[ctx.profile] });
  const metrics: Metric[] = ratios.map((r) =>
    metric('orders', {
      metric: `createOrder vs pgbench, ${r.workload} products, c=${r.concurrency}`,
      ours: r.ours.tps,
      reference: r.reference.tps,
      unit: 'orders/s',
      goal: r.concurrency === 16 ? { on: 'ratio', op: '>=', value: 0.8 } : null,
      ...(r.ours.errors + r.reference.errors > 0 ? { note: `${r.ours.errors} createOrder / ${r.reference.errors} pgbench errors` } : {}),
    }),
  );
  return {
    metrics,
    details: {
      database: DATABASE,
      customers: CUSTOMERS,
      products: PRODUCTS,
      durationS: DURATION_S,
      cells: ratios.map((r) => ({
        workload: r.workload,
        concurrency: r.concurrency,
        ratio: r.ratio,
        createOrder: r.ours,
        pgbench: r.reference,
      })),
    },
  };
}

function cliOptions(argv: string[]): OrdersBenchOptions {
  const flag = (name: string) => argv.includes(`--${name}`);
  const option = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const list = (name: string) =>
    option(name)
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  const quick = flag('quick');
  return {
    durationS: Number(option('duration') ?? (quick ? 4 : 10)),
    warmupS: quick ? 0.5 : 1,
    concurrency: list('concurrency')?.map(Number) ?? [1, 16, 64],
    workloads: (list('workload') ?? ['random', 'hot']) as Workload[],
    variants: !flag('no-variants'),
    http: !flag('no-http'),
    keepDb: flag('keep-db'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  bench(cliOptions(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench:orders failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
