/**
 * The read side through its real handlers (functions/listCustomerOrders.ts and functions/listProducts.ts in
 * process: middy, validation, the cursor, the query, zod, JSON), each next to the same SQL measured in the
 * same run:
 *   history — a customer's first page vs postgres.js sending customerOrdersQuery itself (goal ≤ 2×), and vs
 *     that query with the (customer_id, order_date desc, order_id desc) B-tree dropped (goal ≥ 500× faster,
 *     set at 1M orders); page 50 vs page 1 of a customer with 1,050 orders (keyset: the same cost).
 *   catalog — an attribute filter matching ~0.5 % of 100k products (the seed's own catalogue: the value whose
 *     share is nearest 0.5 %) and the rarest value that still fills a page, vs the same query with the GIN
 *     index dropped (goal ≥ 20× faster at 0.5 %, set at 100k products).
 * An index is dropped inside a transaction that is rolled back: that transaction's planner no longer sees
 * it, nothing has to be rebuilt, and the benches run one at a time, so nobody waits on its lock. The
 * indexed sides are measured in two halves around it, so a drift in the machine's load hits both.
 */

import { seed } from '../scripts/db/seed.js';
import type { Handler } from '../scripts/lib/lambda-events.js';
import { type Goal, metric } from '../shared/benchmarks/metric.js';
import { type Summary, summarize } from '../shared/benchmarks/stats.js';
import type { Sql } from '../shared/clients/postgres.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { createScratch, dropScratch, pool } from './lib/fixtures.js';
import { tokenSigner } from './lib/http.js';
import { interleave } from './lib/measure.js';
import type { BenchOutput } from './lib/result.js';

const PROFILES: Record<Profile, { iterations: number; unindexedRuns: number; catalogProducts: number }> = {
  full: { iterations: 2_000, unindexedRuns: 15, catalogProducts: 100_000 },
  quick: { iterations: 300, unindexedRuns: 5, catalogProducts: 20_000 },
  tiny: { iterations: 30, unindexedRuns: 3, catalogProducts: 2_000 },
};
/** The routes' default page size, and a customer whose history is long enough for page 50. */
const PAGE = 20;
const HEAVY_BUYER = { email: 'heavy-buyer@bench.invalid', orders: 1_050 };
const FILTERS = ['the ~0.5 % filter', 'the rarest filter that fills a page'] as const;

type Get = (
  path: string,
  options: { query?: Record<string, string>; pathParameters?: Record<string, string>; authorization?: string },
) => Promise<{ nextCursor: string | null }>;

/** Points the shared/ modules at `databaseUrl` (straight, prepared) before any of them reads its configuration. */
async function handlerCaller(ctx: SuiteContext, databaseUrl: string, handler: string) {
  Object.assign(process.env, ctx.functionEnv, { DATABASE_URL: databaseUrl, DATABASE_PREPARE: 'true', LOG_LEVEL: 'ERROR' });
  const { httpEvent, lambdaContext } = await import('../scripts/lib/lambda-events.js');
  const { closeSql } = await import('../shared/clients/postgres.js');
  const fn = (await import(`../functions/${handler}.js`)).handler as Handler;
  const get: Get = async (path, options) => {
    const answer = await fn(httpEvent({ method: 'GET', path, ...options }), lambdaContext(handler));
    if (answer.statusCode !== 200) throw new Error(`${handler} answered ${answer.statusCode}: ${answer.body}`);
    return JSON.parse(answer.body ?? '{}');
  };
  return { get, closeSql };
}

/** `runs` executions of `query` in a transaction where `index` is dropped, then rolled back; latencies (ms). */
async function withoutIndex(sql: Sql, index: string, runs: number, query: (tx: Sql) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const rollback = new Error('rollback');
  await sql
    .begin(async (tx) => {
      await tx.unsafe(`set local statement_timeout = 0; drop index ${index}`);
      await query(tx as unknown as Sql); // warm: the table's pages
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await query(tx as unknown as Sql);
        latencies.push(performance.now() - started);
      }
      throw rollback;
    })
    .catch((error) => {
      if (error !== rollback) throw error;
    });
  return latencies;
}

/** The handler and the same SQL interleaved call by call, in two halves around the unindexed runs; p50s and all. */
async function compare<T>(
  iterations: number,
  viaHandler: (input: T) => Promise<unknown>,
  viaSql: (input: T) => Promise<unknown>,
  unindexed: () => Promise<number[]>,
  /** The input of each round (a customer, say), the same for the handler and the SQL. */
  nextInput: () => T = () => undefined as T,
) {
  let input = nextInput();
  const fns = [() => viaHandler(input), () => viaSql(input)];
  const draw = () => {
    input = nextInput();
  };
  await interleave(300, fns, draw); // warm: JIT, pools, statements, token cache (50 rounds left --quick's p50s 30–45 % high)
  const first = await interleave(Math.ceil(iterations / 2), fns, draw);
  const without = await unindexed();
  const second = await interleave(Math.floor(iterations / 2), fns, draw);
  const [handler, sameSql, withoutIndex] = [[...first[0]!, ...second[0]!], [...first[1]!, ...second[1]!], without].map((s) =>
    summarize(s),
  ) as Summary[];
  return { handler: handler!, sameSql: sameSql!, withoutIndex: withoutIndex! };
}

/** A goal set at full scale: shown in every run, judged only there. */
const atScale = (goal: Goal, judged: boolean, scale: string) => ({
  goal,
  judge: judged,
  ...(judged ? {} : { note: `the goal is set at ${scale} (full run)` }),
});

export async function history(ctx: SuiteContext): Promise<BenchOutput> {
  const o = PROFILES[ctx.profile];
  const { get, closeSql } = await handlerCaller(ctx, ctx.dataset.directUrl, 'listCustomerOrders');
  const { customerOrdersQuery } = await import('../shared/orders/history.js');
  const { OID } = await import('../shared/clients/postgres.js');
  const token = tokenSigner(ctx.functionEnv);
  const raw = pool(ctx.dataset.directUrl, 1, true, { connection: { statement_timeout: 0 } });
  const forgetHeavyBuyer = async () => {
    await raw`delete from orders where customer_id = (select customer_id from customers where email = ${HEAVY_BUYER.email})`;
    await raw`delete from customers where email = ${HEAVY_BUYER.email}`;
  };
  const firstPage = (sql: Sql, customerId: number) =>
    sql.unsafe(customerOrdersQuery(false), [sql.typed(customerId, OID.int4), sql.typed(PAGE + 1, OID.int4)] as never[], { prepare: true });
  const ordersOf = async (customerId: number, cursor?: string) =>
    get(`/customers/${customerId}/orders`, {
      pathParameters: { customerId: String(customerId) },
      query: cursor ? { cursor } : {},
      authorization: await token(customerId),
    });
  try {
    await forgetHeavyBuyer(); // an interrupted run's
    const [{ heavyId }] = (await raw`
      insert into customers (name, email) values ('Bench heavy buyer', ${HEAVY_BUYER.email}) returning customer_id as "heavyId"`) as unknown as [
      { heavyId: number },
    ];
    await raw`
      with two as (select product_id, price from products order by product_id limit 2),
      placed as (
        insert into orders (customer_id, order_date, total_amount)
        select ${heavyId}, now() - make_interval(hours => g), (select sum(price) from two) from generate_series(1, ${HEAVY_BUYER.orders}) g
        returning order_id)
      insert into order_items (order_id, product_id, quantity, unit_price) select order_id, product_id, 1, price from placed, two`;
    await raw`analyze orders`;

    // Typical customers, a different one each call (~10 orders each at 1M orders / 100k customers).
    const customers = (await raw`select customer_id from customers where customer_id <> ${heavyId} order by random() limit 200`).map(
      (r) => r.customer_id as number,
    );
    let next = 0;
    const nextCustomer = () => customers[next++ % customers.length]!;
    // Each round asks the handler and the same SQL for the same customer (their pages differ in size).
    const first = await compare(
      o.iterations,
      (customerId: number) => ordersOf(customerId),
      (customerId: number) => firstPage(raw, customerId),
      () => withoutIndex(raw, 'orders_customer_id_idx', o.unindexedRuns, (tx) => firstPage(tx, nextCustomer())),
      nextCustomer,
    );

    // Page 50 of the heavy buyer: the cursor the handler itself hands out after 49 pages.
    let cursor: string | undefined;
    for (let n = 1; n < 50; n++) cursor = (await ordersOf(heavyId, cursor)).nextCursor ?? undefined;
    if (!cursor) throw new Error('the heavy buyer has fewer than 50 pages of orders');
    const page50Cursor = cursor;
    const [page1, page50] = (await interleave(o.iterations, [() => ordersOf(heavyId), () => ordersOf(heavyId, page50Cursor)])).map((s) =>
      summarize(s),
    ) as Summary[];

    const [{ n: orders }] = (await raw`select count(*)::int as n from orders`) as unknown as [{ n: number }];
    const row = (metricName: string, ours: Summary, reference: Summary, more: object = {}) =>
      metric('history', { metric: `${metricName}, p50`, ours: ours.p50, reference: reference.p50, unit: 'ms', ...more });
    return {
      metrics: [
        row('GET /customers/{id}/orders first page through the handler vs the same SQL in postgres.js', first.handler, first.sameSql, {
          goal: { on: 'ratio', op: '<=', value: 2 },
        }),
        row(
          `first page through the handler vs the same SQL without its B-tree (${orders.toLocaleString('en-US')} orders)`,
          first.handler,
          first.withoutIndex,
          atScale({ on: 'ratio', op: '<=', value: 1 / 500, text: 'ratio ≤ 1/500 (≥ 500× faster)' }, orders >= 1_000_000, '1M orders'),
        ),
        row('the same SQL with vs without its B-tree (the index alone)', first.sameSql, first.withoutIndex),
        row(
          `page 50 vs page 1 of a ${HEAVY_BUYER.orders.toLocaleString('en-US')}-order history through the handler (keyset)`,
          page50!,
          page1!,
          {
            goal: { on: 'ratio', op: '<=', value: 1.5, text: 'ratio ≤ 1.5 (the same cost)' },
          },
        ),
      ],
      details: { ...o, orders, ...first, page1, page50 },
    };
  } finally {
    await forgetHeavyBuyer();
    await raw.end({ timeout: 5 });
    await closeSql();
  }
}

export async function catalog(ctx: SuiteContext): Promise<BenchOutput> {
  const o = PROFILES[ctx.profile];
  const database = `${ctx.dataset.database}_catalog`;
  const url = await createScratch(ctx.baseUrl, database, { recreate: true });
  const raw = pool(url, 1, true, { connection: { statement_timeout: 0 } });
  try {
    await seed(url, { customers: 1_000, products: o.catalogProducts, orders: 1_000, seed: 1, reset: true });
    await raw`vacuum analyze products`;
    const { get, closeSql } = await handlerCaller(ctx, url, 'listProducts');
    const { catalogQuery } = await import('../shared/products/catalog.js');
    // The catalogue's string attributes by share: the one nearest 0.5 %, and the rarest that fills a page.
    const shares = (await raw`
      select e.key, e.value #>> '{}' as value, count(*)::int as n
      from products p, jsonb_each(p.metadata) e where jsonb_typeof(e.value) = 'string'
      group by 1, 2 having count(*) > ${PAGE} order by 3`) as unknown as Array<{ key: string; value: string; n: number }>;
    const target = 0.005 * o.catalogProducts;
    const halfPercent = shares.reduce((a, b) => (Math.abs(b.n - target) < Math.abs(a.n - target) ? b : a));
    const metrics = [];
    const details: Record<string, unknown> = { ...o };
    for (const [label, pick] of [
      [FILTERS[0], halfPercent],
      [FILTERS[1], shares[0]!],
    ] as const) {
      const query = catalogQuery({ attributes: { [pick.key]: pick.value } }, { limit: PAGE });
      const typed = (sql: Sql) => query.params.map((v, i) => sql.typed(v as never, query.types[i]!)) as never[];
      // Unnamed, as the handler sends it (shared/products/catalog.ts): planned with its values every time.
      const viaSql = (sql: Sql) => sql.unsafe(query.text, typed(sql), { prepare: false });
      const measured = await compare(
        o.iterations,
        () => get('/products', { query: { [`attr.${pick.key}`]: pick.value } }),
        () => viaSql(raw),
        () => withoutIndex(raw, 'products_metadata_idx', o.unindexedRuns * 4, viaSql),
      );
      const plan = await raw.unsafe<Array<{ 'QUERY PLAN': string }>>(`explain ${query.text}`, typed(raw));
      const filter = `${pick.key}=${pick.value}: ${pick.n.toLocaleString('en-US')} of ${o.catalogProducts.toLocaleString('en-US')} products`;
      const goal = { on: 'ratio', op: '<=', value: 1 / 20, text: 'ratio ≤ 1/20 (≥ 20× faster)' } as const;
      metrics.push(
        metric('catalog', {
          metric: `GET /products ${label} (${filter}) through the handler vs the same SQL without the GIN index, p50`,
          ours: measured.handler.p50,
          reference: measured.withoutIndex.p50,
          unit: 'ms',
          ...(label === FILTERS[0] ? atScale(goal, o.catalogProducts >= 100_000, '100k products') : {}),
        }),
        metric('catalog', {
          metric: `${label}: through the handler vs the same SQL in postgres.js, p50`,
          ours: measured.handler.p50,
          reference: measured.sameSql.p50,
          unit: 'ms',
        }),
      );
      details[label] = { filter, ...measured, plan: plan.map((line) => line['QUERY PLAN']).join('\n') };
    }
    await closeSql();
    return { metrics, details };
  } finally {
    await raw.end({ timeout: 5 });
    await dropScratch(ctx.baseUrl, database);
  }
}
