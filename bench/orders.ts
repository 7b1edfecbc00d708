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
 *   4. the same orders through serverless-offline HTTP (ports 3200/3202) to show the HTTP overhead.
 * This is a script, not a test: it prints a table and exits 0 unless something is broken.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2 as HttpEvent, Context } from 'aws-lambda';
import postgres from 'postgres';
import { localEnv, ROOT, withDatabase } from '../scripts/lib/env.js';
import { startOffline, type Offline } from '../scripts/lib/offline.js';
import { postgresOptions, type Sql } from '../shared/clients/postgres.js';
import { migrate } from '../shared/db/migrate.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { logger } from '../shared/logger.js';
import { createOrder, mergeItems, type CreateOrderInput, type Order } from '../shared/orders/create-order.js';
import { withRetry } from '../shared/orders/retry.js';

// ─── options ────────────────────────────────────────────────────────────────────────────────────

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const QUICK = flag('quick');
const DURATION_S = Number(option('duration') ?? (QUICK ? 4 : 10));
const WARMUP_S = QUICK ? 0.5 : 1;
const list = (name: string) => option(name)?.split(',').map((v) => v.trim()).filter(Boolean);
const CONCURRENCY = list('concurrency')?.map(Number) ?? [1, 16, 64];
const VARIANT_CONCURRENCY = [1, 16];
const HTTP_CONCURRENCY = [1, 16];
const CUSTOMERS = 10_000;
const PRODUCTS = 9_999; // a multiple of 3: the random workload takes one product from each third
const HOT_PRODUCTS = 5;
const DATABASE = 'shop_bench_orders';

const env = localEnv();
const BASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop';
const BENCH_URL = withDatabase(BASE_URL, DATABASE);

const log = (line = '') => process.stdout.write(`${line}\n`);

// ─── workloads (the same distributions as bench/sql/order.pgbench.sql) ─────────────────────────

type Workload = 'random' | 'hot';
const WORKLOADS = (list('workload') ?? ['random', 'hot']) as Workload[];

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function randomOrder(workload: Workload): CreateOrderInput {
  let ids: number[];
  if (workload === 'hot') {
    const x = randomInt(0, HOT_PRODUCTS - 1);
    ids = [1 + x, 1 + ((x + 1) % HOT_PRODUCTS), 1 + ((x + 2) % HOT_PRODUCTS)];
  } else {
    const third = PRODUCTS / 3;
    ids = [randomInt(1, third), randomInt(third + 1, 2 * third), randomInt(2 * third + 1, 3 * third)];
  }
  // Lines in random order: createOrder must sort them into lock order itself.
  ids.sort(() => Math.random() - 0.5);
  return { customerId: randomInt(1, CUSTOMERS), items: ids.map((productId) => ({ productId, quantity: randomInt(1, 3) })) };
}

// ─── measurement ────────────────────────────────────────────────────────────────────────────────

interface Measured {
  tps: number;
  p50: number;
  p95: number;
  ops: number;
  errors: number;
  firstError?: string;
}

/** One measured segment: per-call latencies (ms) over `seconds` of wall time. */
interface Segment {
  latencies: number[];
  seconds: number;
  errors: number;
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Pools segments of one configuration: throughput over their total time, percentiles over all calls. */
function summarise(segments: Segment[]): Measured {
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const sorted = Float64Array.from(segments.flatMap((s) => s.latencies)).sort();
  const errors = segments.reduce((sum, s) => sum + s.errors, 0);
  const firstError = segments.find((s) => s.firstError)?.firstError;
  return { tps: sorted.length / seconds, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), ops: sorted.length, errors, ...(firstError ? { firstError } : {}) };
}

/**
 * Runs configurations A and B alternately as A B B A, each segment half the duration, and pools each
 * side: on a shared, noisy machine a drift in background load then hits both sides alike.
 */
async function abba(a: (seconds: number) => Promise<Segment>, b: (seconds: number) => Promise<Segment>, seconds: number): Promise<[Measured, Measured]> {
  const half = Math.max(1, Math.round(seconds / 2));
  const a1 = await a(half);
  const b1 = await b(half);
  const b2 = await b(half);
  const a2 = await a(half);
  return [summarise([a1, a2]), summarise([b1, b2])];
}

/** Like abba for n configurations: A B C … then … C B A, half the duration each; pooled per configuration. */
async function rotate(configs: Array<(seconds: number) => Promise<Segment>>, seconds: number): Promise<Measured[]> {
  const half = Math.max(1, Math.round(seconds / 2));
  const segments: Segment[][] = configs.map(() => []);
  const indices = configs.map((_, i) => i);
  for (const order of [indices, [...indices].reverse()]) {
    for (const i of order) segments[i]!.push(await configs[i]!(half));
  }
  return segments.map(summarise);
}

/** `concurrency` loops calling `op` back to back for `seconds`; latency per call in ms. */
async function closedLoop(concurrency: number, seconds: number, op: () => Promise<void>, warmupSeconds = WARMUP_S): Promise<Segment> {
  const run = async (duration: number, record: boolean): Promise<Segment> => {
    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    const started = performance.now();
    const deadline = started + duration * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          try {
            await op();
            if (record) latencies.push(performance.now() - t0);
          } catch (error) {
            errors++;
            firstError ??= error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
          }
        }
      }),
    );
    return { latencies, seconds: (performance.now() - started) / 1000, errors, ...(firstError ? { firstError } : {}) };
  };
  if (warmupSeconds > 0) await run(warmupSeconds, false);
  return run(seconds, true);
}

// ─── pgbench ────────────────────────────────────────────────────────────────────────────────────

/** pgbench on PATH, else the newest /usr/lib/postgresql/<version>/bin/pgbench (Debian/Ubuntu layout). */
function findPgbench(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'pgbench')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? path.join(base, versions[0], 'bin', 'pgbench') : undefined;
}

async function pgbench(binary: string, workload: Workload, concurrency: number, seconds: number): Promise<Segment> {
  const url = new URL(BENCH_URL);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'pgbench-orders-'));
  const argv = [
    '-n', // no vacuum of pgbench's own tables (we have none)
    '-M', 'prepared',
    '-c', String(concurrency),
    '-j', String(Math.min(concurrency, os.cpus().length)),
    '-T', String(Math.max(1, Math.round(seconds))),
    '-D', `ncustomers=${CUSTOMERS}`,
    '-D', `nproducts=${PRODUCTS}`,
    '-D', `hot=${workload === 'hot' ? 1 : 0}`,
    '-f', path.join(ROOT, 'bench/sql/order.pgbench.sql'),
    '-l', '--log-prefix', path.join(logDir, 'tx'),
    '-h', url.hostname,
    '-p', url.port || '5432',
    '-U', decodeURIComponent(url.username || 'postgres'),
    decodeURIComponent(url.pathname.slice(1)),
  ];
  const childEnv = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(binary, argv, { env: childEnv });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? Number.NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    if (code !== 0 || Number.isNaN(tps)) throw new Error(`pgbench failed (exit ${code}): ${stderr.slice(-2000)}`);
    // Per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
    const latencies: number[] = [];
    for (const file of readdirSync(logDir)) {
      for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3 && fields[2] !== 'failed' && fields[2] !== 'skipped') latencies.push(Number(fields[2]) / 1000);
      }
    }
    // pgbench's own tps excludes connection set-up; express it as the time those transactions took.
    return { latencies, seconds: latencies.length / tps, errors: failed };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
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
  const sql = postgres(withDatabase(BASE_URL, 'postgres'), { max: 1, onnotice: () => {} }) as unknown as Sql;
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function dropDatabase(): Promise<void> {
  await admin((sql) => sql`drop database if exists ${sql(DATABASE)} with (force)`);
}

async function prepareDatabase(): Promise<void> {
  await dropDatabase();
  await migrate(BENCH_URL);
  const sql = pool(1);
  try {
    await sql`
      insert into customers (name, email)
      select 'Bench customer ' || g, 'bench' || g || '@example.test' from generate_series(1, ${CUSTOMERS}) g`;
    // Generous stock (no order ever fails for stock), prices 1.00–100.99.
    await sql`
      insert into products (name, price, stock_quantity, metadata)
      select 'Bench product ' || g, 1 + (g % 100) + (g % 97) / 100.0, 1000000000, jsonb_build_object('bench', true)
      from generate_series(1, ${PRODUCTS}) g`;
    await sql`vacuum analyze`;
  } finally {
    await sql.end();
  }
}

/** Keeps every run on equal footing: hot rows accumulate dead versions quickly. */
async function tidy(): Promise<void> {
  const sql = pool(1);
  try {
    await sql`vacuum analyze products`;
    await sql`checkpoint`.catch(() => {}); // needs superuser / pg_checkpoint; best effort
  } finally {
    await sql.end();
  }
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
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => (response.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`))));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  try {
    // Every concurrent request beyond the warm workers starts a cold worker thread (bundle load, new
    // pool): warm up with rounds of `concurrency` parallel requests until three rounds in a row take < 0.5 s.
    const warmupDeadline = performance.now() + 60_000;
    for (let fast = 0; fast < 3 && performance.now() < warmupDeadline; ) {
      const t0 = performance.now();
      await Promise.allSettled(Array.from({ length: concurrency }, () => post(JSON.stringify(randomOrder(workload)))));
      fast = performance.now() - t0 < 500 ? fast + 1 : 0;
    }
    return await closedLoop(concurrency, seconds, () => post(JSON.stringify(randomOrder(workload))), WARMUP_S);
  } finally {
    agent.destroy();
  }
}

type Handler = (event: HttpEvent, context: Context) => Promise<{ statusCode?: number; body?: string }>;
let handlerInProcess: Handler | undefined;

/**
 * The Lambda handler itself, invoked in this process with an API Gateway v2 event: middy stack, zod
 * validation, createOrder, recordSale (the local Upstash gateway), JSON response. Its container pool
 * is sized to the concurrency (one process serving concurrent calls, unlike one Lambda container).
 */
async function measureHandler(workload: Workload, concurrency: number, seconds: number): Promise<Segment> {
  await tidy();
  if (!handlerInProcess) {
    Object.assign(process.env, localEnv({ DATABASE_URL: BENCH_URL, DATABASE_POOL_MAX: String(Math.max(...HTTP_CONCURRENCY)), LOG_LEVEL: 'ERROR' }));
    handlerInProcess = (await import('../functions/createOrder.js')).handler as unknown as Handler;
  }
  const handler = handlerInProcess;
  return closedLoop(concurrency, seconds, async () => {
    const response = await handler(httpEvent(randomOrder(workload)), lambdaContext());
    if (response.statusCode !== 201) throw new Error(`handler ${response.statusCode}: ${String(response.body).slice(0, 200)}`);
  });
}

function httpEvent(body: unknown): HttpEvent {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'POST /orders',
    rawPath: '/orders',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: 'POST', path: '/orders', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: randomUUID(),
      routeKey: 'POST /orders',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'createOrder',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:createOrder',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/createOrder',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

// ─── report ─────────────────────────────────────────────────────────────────────────────────────

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');

function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  log(line(headers));
  log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) log(line(row));
}

const errorNote = (m: Measured) => (m.errors > 0 ? ` (${m.errors} errors: ${m.firstError ?? 'see pgbench'})` : '');

async function main(): Promise<void> {
  // The numbers, not the per-order logs (createOrder's retry notes, the handler's access log).
  logger.setLogLevel('ERROR');
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
    const ratios: Array<{ workload: Workload; concurrency: number; ratio: number }> = [];
    for (const workload of WORKLOADS) {
      for (const concurrency of CONCURRENCY) {
        const free = await freeConnections();
        if (free < concurrency + 2) log(`warning: only ${free} free connections for concurrency ${concurrency}`);
        const [ours, reference] = await abba(
          (seconds) => measureInProcess(workload, concurrency, (sql, input) => createOrder(sql, input), seconds),
          async (seconds) => {
            await tidy();
            return pgbench(pgbenchBinary, workload, concurrency, seconds);
          },
          DURATION_S,
        );
        const ratio = ours.tps / reference.tps;
        ratios.push({ workload, concurrency, ratio });
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
        log(`  ${workload} c=${concurrency}: createOrder ${f0(ours.tps)} tps${errorNote(ours)} · pgbench ${f0(reference.tps)} tps${errorNote(reference)}`);
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
            variantRows.push([variant.name, String(statements.get(variant)), workload, String(concurrency), f0(m.tps), f2(m.p50), f2(m.p95)]);
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
        offline = await startOffline(
          localEnv({ DATABASE_URL: BENCH_URL, LOG_LEVEL: 'ERROR', STAGE: 'bench' }),
          { httpPort: 3200, lambdaPort: 3202, stage: 'bench' },
        );
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
          log('The same orders: createOrder in process · the Lambda handler in process · HTTP through serverless-offline — orders/s, latency ms');
          table(['workload', 'conc', 'createOrder/s', 'p50', 'p95', 'handler/s', 'p50', 'p95', 'HTTP/s', 'p50', 'p95'], httpRows);
          log('(handler = middy stack + validation + createOrder + recordSale to the local Upstash gateway + JSON. serverless-offline');
          log(' runs each concurrent request in its own worker thread with its own pool of DATABASE_POOL_MAX=2, so concurrency 64');
          log(' over HTTP would need 128 connections, above max_connections here: not run.)');
        } finally {
          await offline.stop();
        }
      }
    }
  } finally {
    if (flag('keep-db')) log(`kept ${DATABASE}`);
    else await dropDatabase();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:orders failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
