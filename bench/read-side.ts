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
import { metric } from '../shared/benchmarks/metric.js';
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
/** The history's page size (the route's default) and the customer whose history is long enough for page 50. */
const PAGE = 20;
const HEAVY_BUYER = { email: 'heavy-buyer@bench.invalid', orders: 1_050 };

/** Points the shared/ modules at `databaseUrl` (straight, prepared) before any of them reads its configuration. */
async function handlers(ctx: SuiteContext, databaseUrl: string) {
  Object.assign(process.env, ctx.functionEnv, { DATABASE_URL: databaseUrl, DATABASE_PREPARE: 'true', LOG_LEVEL: 'ERROR' });
  const { httpEvent, lambdaContext } = await import('../scripts/lib/lambda-events.js');
  const { closeSql } = await import('../shared/clients/postgres.js');
  /** GET `path` through `handler`; the body, parsed, when it answers 200. */
  const call =
    (handler: import('../scripts/lib/lambda-events.js').Handler, name: string) =>
    async (
      path: string,
      options: { query?: Record<string, string>; pathParameters?: Record<string, string>; authorization?: string | null },
    ) => {
      const answer = await handler(httpEvent({ method: 'GET', path, authorization: null, ...options }), lambdaContext(name));
      if (answer.statusCode !== 200) throw new Error(`${name} answered ${answer.statusCode}: ${answer.body}`);
      return JSON.parse(answer.body ?? '{}') as Record<string, unknown> & { nextCursor: string | null };
    };
  return { call, closeSql };
}

/** `runs` executions of `query` in a transaction where `index` is dropped, then rolled back; latencies (ms). */
async function withoutIndex(sql: Sql, index: string, runs: number, query: (tx: Sql) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  await sql
    .begin(async (tx) => {
      await tx.unsafe(`set local statement_timeout = 0; drop index ${index}`);
      await query(tx as unknown as Sql); // warm: the table's pages
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await query(tx as unknown as Sql);
        latencies.push(performance.now() - started);
      }
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return latencies;
}
class Rollback extends Error {}

/** Two halves of `fns` interleaved call by call, with `between` measured in the middle. */
async function around<T>(iterations: number, fns: Array<() => Promise<unknown>>, between: () => Promise<T>): Promise<[number[][], T]> {
  const first = await interleave(Math.ceil(iterations / 2), fns);
  const middle = await between();
  const second = await interleave(Math.floor(iterations / 2), fns);
  return [first.map((samples, i) => [...samples, ...second[i]!]), middle];
}

export async function history(ctx: SuiteContext): Promise<BenchOutput> {
  const o = PROFILES[ctx.profile];
  const { call, closeSql } = await handlers(ctx, ctx.dataset.directUrl);
  const { handler } = await import('../functions/listCustomerOrders.js');
  const { customerOrdersQuery } = await import('../shared/orders/history.js');
  const { OID } = await import('../shared/clients/postgres.js');
  const list = call(handler, 'listCustomerOrders');
  const token = tokenSigner(ctx.functionEnv);
  const raw = pool(ctx.dataset.directUrl, 1, true, { connection: { statement_timeout: 0 } });
  const forgetHeavyBuyer = async () => {
    await raw`delete from orders where customer_id = (select customer_id from customers where email = ${HEAVY_BUYER.email})`;
    await raw`delete from customers where email = ${HEAVY_BUYER.email}`;
  };
  const firstPage = (sql: Sql, customerId: number) =>
    sql.unsafe(customerOrdersQuery(false), [sql.typed(customerId, OID.int4), sql.typed(PAGE + 1, OID.int4)] as never[], { prepare: true });
  try {
    await forgetHeavyBuyer(); // an interrupted run's
    const [heavy] = await raw<Array<{ customerId: number }>>`
      insert into customers (name, email) values ('Bench heavy buyer', ${HEAVY_BUYER.email}) returning customer_id as "customerId"`;
    const heavyId = heavy!.customerId;
    await raw`
      with placed as (
        insert into orders (customer_id, order_date, total_amount)
        select ${heavyId}, now() - make_interval(hours => g), (select sum(price) from (select price from products order by product_id limit 2) two)
        from generate_series(1, ${HEAVY_BUYER.orders}) g
        returning order_id)
      insert into order_items (order_id, product_id, quantity, unit_price)
      select placed.order_id, p.product_id, 1, p.price
      from placed cross join (select product_id, price from products order by product_id limit 2) p`;
    await raw`analyze orders`;

    // Typical customers, a different one each call (their history is ~10 orders at 1M orders / 100k customers).
    const customers = (
      await raw<Array<{ id: number }>>`
      select customer_id as id from customers where customer_id <> ${heavyId} order by random() limit 200`
    ).map((r) => r.id);
    let next = 0;
    const nextCustomer = () => customers[next++ % customers.length]!;
    const viaHandler = async () => {
      const id = nextCustomer();
      await list(`/customers/${id}/orders`, { pathParameters: { customerId: String(id) }, authorization: await token(id) });
    };
    const viaSql = () => firstPage(raw, nextCustomer());
    await interleave(50, [viaHandler, viaSql]); // warm: pools, JIT, prepared statements

    const [[handlerMs, sqlMs], unindexedMs] = await around(o.iterations, [viaHandler, viaSql], () =>
      withoutIndex(raw, 'orders_customer_id_idx', o.unindexedRuns, (tx) => firstPage(tx, nextCustomer())),
    );

    // Page 50 of the heavy buyer: the cursor is the one the handler itself hands out after walking 49 pages.
    const auth = await token(heavyId);
    const page = (cursor?: string) =>
      list(`/customers/${heavyId}/orders`, {
        pathParameters: { customerId: String(heavyId) },
        query: cursor ? { cursor } : {},
        authorization: auth,
      });
    let cursor: string | undefined;
    for (let n = 1; n < 50; n++) cursor = (await page(cursor)).nextCursor ?? undefined;
    if (!cursor) throw new Error('the heavy buyer has fewer than 50 pages of orders');
    const page50 = cursor;
    const [page1Ms, page50Ms] = await interleave(o.iterations, [() => page(), () => page(page50)]);

    const [h, s, u, p1, p50] = [handlerMs!, sqlMs!, unindexedMs, page1Ms!, page50Ms!].map((samples) => summarize(samples)) as Summary[];
    const [orders] = await raw<Array<{ n: number }>>`select count(*)::int as n from orders`;
    const atScale = orders!.n >= 1_000_000;
    return {
      metrics: [
        metric('history', {
          metric: 'GET /customers/{id}/orders first page through the handler vs the same SQL in postgres.js, p50',
          ours: h!.p50,
          reference: s!.p50,
          unit: 'ms',
          goal: { on: 'ratio', op: '<=', value: 2 },
        }),
        metric('history', {
          metric: `first page through the handler vs the same SQL without its B-tree (${orders!.n.toLocaleString('en-US')} orders), p50`,
          ours: h!.p50,
          reference: u!.p50,
          unit: 'ms',
          goal: { on: 'ratio', op: '<=', value: 1 / 500, text: 'ratio ≤ 1/500 (≥ 500× faster)' },
          judge: atScale,
          ...(atScale ? {} : { note: 'the 500× goal is set at 1M orders (full run)' }),
        }),
        metric('history', {
          metric: 'the same SQL with vs without its B-tree (the index alone), p50',
          ours: s!.p50,
          reference: u!.p50,
          unit: 'ms',
        }),
        metric('history', {
          metric: `page 50 vs page 1 of a ${HEAVY_BUYER.orders.toLocaleString('en-US')}-order history through the handler (keyset), p50`,
          ours: p50!.p50,
          reference: p1!.p50,
          unit: 'ms',
          goal: { on: 'ratio', op: '<=', value: 1.5, text: 'ratio ≤ 1.5 (the same cost)' },
        }),
      ],
      details: { ...o, orders: orders!.n, handler: h, sameSql: s, withoutIndex: u, page1: p1, page50: p50 },
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
    const { call, closeSql } = await handlers(ctx, url);
    const { handler } = await import('../functions/listProducts.js');
    const { catalogQuery } = await import('../shared/products/catalog.js');
    const list = call(handler, 'listProducts');
    // The catalogue's string attributes by share: the one nearest 0.5 %, and the rarest that fills a page.
    const shares = await raw<Array<{ key: string; value: string; n: number }>>`
      select e.key, e.value #>> '{}' as value, count(*)::int as n
      from products p, jsonb_each(p.metadata) e where jsonb_typeof(e.value) = 'string'
      group by 1, 2 having count(*) > ${PAGE} order by 3`;
    const near = (share: number) =>
      shares.reduce((a, b) => (Math.abs(b.n - share * o.catalogProducts) < Math.abs(a.n - share * o.catalogProducts) ? b : a));
    const filters = [
      { label: 'the ~0.5 % filter', pick: near(0.005) },
      { label: 'the rarest filter that fills a page', pick: shares[0]! },
    ];
    const rows = [];
    const details: Record<string, unknown> = { ...o, products: o.catalogProducts };
    for (const { label, pick } of filters) {
      const filter = { attributes: { [pick.key]: pick.value } };
      const query = catalogQuery(filter, { limit: PAGE });
      const viaHandler = () => list('/products', { query: { [`attr.${pick.key}`]: pick.value } });
      const typed = (sql: Sql) => query.params.map((v, i) => sql.typed(v as never, query.types[i]!)) as never[];
      // Unnamed, as the handler sends it (shared/products/catalog.ts): planned with its values every time.
      const viaSql = (sql: Sql) => sql.unsafe(query.text, typed(sql), { prepare: false });
      await interleave(50, [viaHandler, () => viaSql(raw)]);
      const [[handlerMs, sqlMs], unindexedMs] = await around(o.iterations, [viaHandler, () => viaSql(raw)], () =>
        withoutIndex(raw, 'products_metadata_idx', o.unindexedRuns * 4, viaSql),
      );
      const [h, s, u] = [handlerMs!, sqlMs!, unindexedMs].map((samples) => summarize(samples)) as Summary[];
      const plan = await raw.unsafe<Array<{ 'QUERY PLAN': string }>>(`explain ${query.text}`, typed(raw));
      const filterText = `${pick.key}=${pick.value}: ${pick.n.toLocaleString('en-US')} of ${o.catalogProducts.toLocaleString('en-US')} products`;
      const atScale = o.catalogProducts >= 100_000;
      const halfPercent = pick === filters[0]!.pick;
      rows.push(
        metric('catalog', {
          metric: `GET /products ${label} (${filterText}) through the handler vs the same SQL without the GIN index, p50`,
          ours: h!.p50,
          reference: u!.p50,
          unit: 'ms',
          ...(halfPercent
            ? {
                goal: { on: 'ratio', op: '<=', value: 1 / 20, text: 'ratio ≤ 1/20 (≥ 20× faster)' },
                judge: atScale,
                ...(atScale ? {} : { note: 'the 20× goal is set at 100k products (full run)' }),
              }
            : {}),
        }),
        metric('catalog', {
          metric: `${label}: through the handler vs the same SQL in postgres.js, p50`,
          ours: h!.p50,
          reference: s!.p50,
          unit: 'ms',
        }),
      );
      details[label] = {
        filter: filterText,
        handler: h,
        sameSql: s,
        withoutIndex: u,
        plan: plan.map((line) => line['QUERY PLAN']).join('\n'),
      };
    }
    await closeSql();
    return { metrics: rows, details };
  } finally {
    await raw.end({ timeout: 5 });
    await dropScratch(ctx.baseUrl, database);
  }
}
