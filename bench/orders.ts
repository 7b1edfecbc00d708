/**
 * How close is createOrder to the raw speed of Postgres? On a scratch database holding the order fixture
 * (bench/lib/fixtures.ts), for 3-item orders over random products and over 5 hot products:
 *   run       createOrder in process vs pgbench running createOrder's own statement (-M prepared, the same
 *             parameters drawn in SQL: what Postgres gives our design at most) at the same concurrency,
 *             rotated halves; goal ≥ 0.9× at concurrency 16 in both workloads. pgbench running the minimal
 *             multi-statement order transaction (bench/sql/order.pgbench.sql) is a second, informational row;
 *   variants  (opt-in) the design alternatives of docs/orders.md: statements per order (postgres.js debug
 *             hook) and throughput of a 7-statement and a 4-statement version against the single statement;
 *   overHttp  (opt-in) the same orders through the Lambda handler in process and over HTTP through a
 *             serverless-offline of its own on this database, against createOrder in process.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { type Handler, httpEvent, lambdaContext } from '../scripts/lib/lambda-events.js';
import { startOffline } from '../scripts/lib/sls.js';
import { type Metric, metric } from '../shared/benchmarks/metric.js';
import type { Sql } from '../shared/clients/postgres.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { type CreateOrderInput, createOrder, mergeItems, type Order } from '../shared/orders/create-order.js';
import { withRetry } from '../shared/orders/retry.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { connectedPool, ORDER_FIXTURE, pool, randomOrder, tidied, type Workload, withOrderFixture } from './lib/fixtures.js';
import { request, tokenSigner } from './lib/http.js';
import { closedLoop, type Measured, PROCESS_WARMUP_S, rotate } from './lib/measure.js';
import { orderPgbench } from './lib/pgbench.js';
import type { BenchOutput } from './lib/result.js';

const PROFILES: Record<Profile, { durationS: number; warmupS: number; concurrency: number[]; workloads: Workload[] }> = {
  full: { durationS: 10, warmupS: 1, concurrency: [1, 4, 16, 64], workloads: ['random', 'hot'] },
  quick: { durationS: 2, warmupS: 0.5, concurrency: [16], workloads: ['random', 'hot'] },
  tiny: { durationS: 1, warmupS: 0, concurrency: [4], workloads: ['random'] },
};
/** Its own serverless-offline (the suite's runs on the data set): next to npm start's 3000 and the tests' 3100. */
const OFFLINE_PORTS = { httpPort: 3200, lambdaPort: 3202 };
/** The opt-ins compare at 1 and 16: over HTTP each concurrent request is a worker thread with its own pool. */
const optInConcurrency = (profile: Profile) => (profile === 'tiny' ? [1] : [1, 16]);
const DATABASE = 'shop_bench_orders';
/** The goal's concurrency: createOrder ≥ 0.9× pgbench running its statement at 16 callers. */
const GOAL_CONCURRENCY = 16;

type Place = (sql: Sql, input: CreateOrderInput) => Promise<unknown>;
const chosen: Place = (sql, input) => createOrder(sql, input);

/** A rotate() configuration: orders placed in process by `c` callers on a pool of their own (after a tidy-up). */
const inProcess = (ctx: SuiteContext, url: string, workload: Workload, c: number, place: Place = chosen) =>
  tidied(ctx, url, c, async (seconds) => {
    const sql = await connectedPool(url, c, true);
    return closedLoop(c, seconds, () => place(sql, randomOrder(workload)), PROFILES[ctx.profile].warmupS).finally(() => sql.end());
  });

/** Each workload × concurrency of the profile (or of `concurrency`), measured by `cell`. */
async function cells<T>(ctx: SuiteContext, concurrency: number[], cell: (workload: Workload, concurrency: number) => Promise<T>) {
  const out: Array<{ workload: Workload; concurrency: number } & T> = [];
  for (const workload of PROFILES[ctx.profile].workloads) {
    for (const c of concurrency) out.push({ workload, concurrency: c, ...(await cell(workload, c)) });
  }
  return out;
}

const errorNote = (...measured: Measured[]) =>
  measured.some((m) => m.errors)
    ? { note: `errors: ${measured.map((m) => `${m.errors}${m.firstError ? ` (${m.firstError})` : ''}`).join(' / ')}` }
    : {};

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const { durationS, warmupS, concurrency } = PROFILES[ctx.profile];
  const measured = await withOrderFixture(ctx, DATABASE, async (url) => {
    if (PROCESS_WARMUP_S[ctx.profile]) await inProcess(ctx, url, 'random', GOAL_CONCURRENCY)(PROCESS_WARMUP_S[ctx.profile]);
    return cells(ctx, concurrency, async (workload, c) => {
      const configurations = [
        inProcess(ctx, url, workload, c),
        tidied(ctx, url, c, (s) => orderPgbench(url, workload, c, s, 'prepared', 'statement', warmupS)),
        tidied(ctx, url, c, (s) => orderPgbench(url, workload, c, s, 'prepared', 'minimal', warmupS)),
      ];
      const [createOrder, pgbench, minimal] = (await rotate(configurations, durationS)) as [Measured, Measured, Measured];
      const tps = (m: Measured) => m.tps.toFixed(0);
      console.log(`  ${workload} c=${c}: createOrder ${tps(createOrder)} orders/s, pgbench ${tps(pgbench)}, minimal ${tps(minimal)}`);
      return { createOrder, pgbench, minimal, ratio: createOrder.tps / pgbench.tps };
    });
  });
  const metrics = measured.flatMap((m) => [
    metric('orders', {
      metric: `createOrder vs pgbench running its statement, ${m.workload} products, c=${m.concurrency}`,
      ours: m.createOrder.tps,
      reference: m.pgbench.tps,
      unit: 'orders/s',
      goal: m.concurrency === GOAL_CONCURRENCY ? { on: 'ratio', op: '>=', value: 0.9 } : null,
      ...errorNote(m.createOrder, m.pgbench),
    }),
    metric('orders', {
      metric: `createOrder vs pgbench running the minimal 5-statement transaction, ${m.workload} products, c=${m.concurrency}`,
      ours: m.createOrder.tps,
      reference: m.minimal.tps,
      unit: 'orders/s',
      ...errorNote(m.minimal),
    }),
  ]);
  return {
    metrics,
    details: { database: DATABASE, customers: ORDER_FIXTURE.customers, products: ORDER_FIXTURE.products, durationS, cells: measured },
  };
}

/**
 * The statement-per-step shape: BEGIN, lock products, check customer, insert order, insert lines, update
 * stock, COMMIT — 7 statements, 7 round trips.
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

const VARIANTS: Array<{ name: string; place: Place }> = [
  { name: 'v1: 7 statements (BEGIN, 5, COMMIT)', place: createOrderSevenStatements },
  { name: 'few: 4 statements (BEGIN, lock, write, COMMIT)', place: createOrderFewStatements },
  { name: 'chosen: 1 statement (CTEs, autocommit)', place: chosen },
  { name: 'chosen + Idempotency-Key (new key each)', place: (sql, input) => createOrder(sql, input, { idempotencyKey: randomUUID() }) },
];

/** The design alternatives, each against the chosen single statement, rotated so load drift favours none. */
export async function variants(ctx: SuiteContext): Promise<BenchOutput> {
  const measured = await withOrderFixture(ctx, DATABASE, async (url) => {
    const statements: number[] = [];
    for (const variant of VARIANTS) {
      let count = 0;
      const sql = pool(url, 1, true, { debug: () => void count++ });
      await variant.place(sql, randomOrder('random')); // prepares the statements
      count = 0;
      await variant.place(sql, randomOrder('random'));
      await sql.end();
      statements.push(count);
    }
    const rows = await cells(ctx, optInConcurrency(ctx.profile), async (workload, c) => ({
      variants: await rotate(
        VARIANTS.map((v) => inProcess(ctx, url, workload, c, v.place)),
        PROFILES[ctx.profile].durationS,
      ),
    }));
    return { statements, rows };
  });
  const metrics = measured.rows.flatMap((row) =>
    VARIANTS.map((v, i) =>
      metric('orders-variants', {
        metric: `${v.name}, ${measured.statements[i]} statements per order vs chosen, ${row.workload} products, c=${row.concurrency}`,
        ours: row.variants[i]!.tps,
        reference: row.variants[2]!.tps,
        unit: 'orders/s',
        ...errorNote(row.variants[i]!),
      }),
    ),
  );
  const variantsCounted = VARIANTS.map((v, i) => ({ name: v.name, statements: measured.statements[i] }));
  return { metrics, details: { database: DATABASE, variants: variantsCounted, cells: measured.rows } };
}

/**
 * createOrder in process, the Lambda handler in process (middy, validation, createOrder, recordSale to the
 * local Upstash gateway, JSON) and HTTP through serverless-offline, which runs each concurrent request in a
 * worker thread with its own pool of DATABASE_POOL_MAX=2 (so c=64 over HTTP would need 128 connections).
 */
export async function overHttp(ctx: SuiteContext): Promise<BenchOutput> {
  const { durationS, warmupS } = PROFILES[ctx.profile];
  const concurrency = optInConcurrency(ctx.profile);
  const measured = await withOrderFixture(ctx, DATABASE, async (url) => {
    // The sales recordSale counts go to a corner of the suite's cache namespace, deleted with it.
    const env = {
      ...ctx.functionEnv,
      DATABASE_URL: url,
      DATABASE_PREPARE: 'true',
      CACHE_NAMESPACE: `${ctx.functionEnv.CACHE_NAMESPACE}:orders`,
    };
    Object.assign(process.env, env, { DATABASE_POOL_MAX: String(Math.max(...concurrency)) });
    const handler = (await import('../functions/createOrder.js')).handler as unknown as Handler;
    const bearer = tokenSigner(env);
    const offline = await startOffline(env, { ...OFFLINE_PORTS, stage: 'bench' });
    try {
      return await cells(ctx, concurrency, async (workload, c) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: c });
        const post = async () => {
          const order = randomOrder(workload);
          const headers = { 'content-type': 'application/json', authorization: await bearer(order.customerId) };
          const answer = await request(agent, `${offline.httpUrl}/orders`, { method: 'POST', headers, body: JSON.stringify(order) });
          if (answer.status !== 201) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
        };
        const viaHandler = async () => {
          const order = randomOrder(workload);
          const event = httpEvent({ method: 'POST', path: '/orders', body: order, authorization: await bearer(order.customerId) });
          const response = await handler(event, lambdaContext('createOrder'));
          if (response.statusCode !== 201) throw new Error(`handler ${response.statusCode}: ${String(response.body).slice(0, 200)}`);
        };
        try {
          // Every concurrent request beyond the warm workers starts a cold worker thread (bundle load, new pool):
          // rounds of `c` parallel requests until three in a row take < 0.5 s (at most a minute).
          const deadline = performance.now() + 60_000;
          for (let fast = 0; fast < 3 && performance.now() < deadline; ) {
            const t0 = performance.now();
            await Promise.allSettled(Array.from({ length: c }, post));
            fast = performance.now() - t0 < 500 ? fast + 1 : 0;
          }
          const configurations = [
            inProcess(ctx, url, workload, c),
            ...[viaHandler, post].map((op) => tidied(ctx, url, c, (s) => closedLoop(c, s, op, warmupS))),
          ];
          const [inProcessM, handlerM, httpM] = (await rotate(configurations, durationS)) as [Measured, Measured, Measured];
          return { inProcess: inProcessM, handler: handlerM, http: httpM };
        } finally {
          agent.destroy();
        }
      });
    } finally {
      await offline.stop();
    }
  });
  const metrics: Metric[] = measured.flatMap((m) =>
    (['handler', 'http'] as const).map((path) =>
      metric('orders-http', {
        metric: `${path === 'handler' ? 'Lambda handler in process' : 'HTTP via serverless-offline'} vs createOrder in process, ${m.workload} products, c=${m.concurrency}`,
        ours: m[path].tps,
        reference: m.inProcess.tps,
        unit: 'orders/s',
        ...errorNote(m[path]),
      }),
    ),
  );
  return { metrics, details: { database: DATABASE, durationS, cells: measured } };
}
