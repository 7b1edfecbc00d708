/**
 * tsx scripts/report/analytics-plans.ts [--database shop_analytics_scratch] [--orders 1000000] [--keep]
 *
 * Shows the plans of GET /analytics/summary's queries at scale (docs/benchmarks.md): creates a scratch
 * database next to DATABASE_URL's (never `shop` itself), applies the migrations, generates customers,
 * products with category/brand metadata, orders over two years and ~2 lines per order with SQL, then
 * prints EXPLAIN (ANALYZE, BUFFERS) of each statement for a 30-day window. Drops the scratch database
 * afterwards unless --keep.
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { analyticsQueries, analyticsWindow } from '../../shared/analytics/summary.js';
import type { Sql } from '../../shared/clients/postgres.js';
import { migrate } from '../../shared/db/migrate.js';
import { localEnv, withDatabase } from '../lib/env.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'shop_analytics_scratch' },
    orders: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
  },
});
const database = values.database!;
if (['shop', 'shop_test', 'postgres'].includes(database)) throw new Error(`refusing to use ${database} as a scratch database`);
const orders = Number(values.orders);
const customers = Math.max(10, Math.round(orders / 10));
const products = 10_000;
const base = localEnv().DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop';
const url = withDatabase(base, database);
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

await migrate(url, log);
const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 0 } }) as unknown as Sql;
try {
  // Reuse a complete data set from an earlier --keep run; otherwise generate it.
  const [existing] = await sql<Array<{ count: number; filled: boolean }>>`
    select count(*)::int as count, coalesce(bool_and(total_amount > 0), false) as filled from orders`;
  if (existing!.count !== orders || !existing!.filled) {
    await sql`truncate order_items, orders, products, customers restart identity cascade`;
    await time(
      `${customers} customers`,
      () => sql`
      insert into customers (name, email) select 'Customer ' || g, 'c' || g || '@example.test' from generate_series(1, ${customers}) g`,
    );
    await time(
      `${products} products`,
      () => sql`
      insert into products (name, price, stock_quantity, metadata)
      select 'Product ' || g, 5 + g % 200 + 0.99, 1000,
             jsonb_build_object('category', 'category-' || lpad((g % 40)::text, 2, '0'), 'brand', 'brand-' || lpad((g % 500)::text, 3, '0'))
      from generate_series(1, ${products}) g`,
    );
    // Orders spread evenly over two years up to now, inserted in date order as a live shop's are (a
    // later order has a higher id and sits later in the table). Each order's lines are a function of
    // its id, so its total is computed here from the same expressions and no mass UPDATE (which would
    // scatter the rows) is needed.
    const line = (id: string) => ({
      productId: `(1 + ((hashint4(${id}::int) & 2147483647)::bigint + l * 7919) % ${products})`,
      quantity: `(1 + (${id} + l) % 3)`,
      unitPrice: `(5.99 + ((hashint4(${id}::int) & 2147483647)::bigint + l * 7919) % ${products} % 200)`,
    });
    const orderLine = line('g');
    await time(`${orders} orders`, () =>
      sql.unsafe(`
      insert into orders (customer_id, order_date, total_amount)
      select 1 + (hashint4(g) & 2147483647) % ${customers},
             now() - (${orders} - g) * (interval '730 days' / ${orders}) - ((hashint4(g + 7) & 2147483647) % 600) * interval '1 second',
             t.total
      from generate_series(1, ${orders}) g,
           lateral (select sum(${orderLine.quantity} * ${orderLine.unitPrice}) as total from generate_series(1, 2) l) t
      order by g`),
    );
    const itemLine = line('o.order_id');
    await time(`${orders * 2} order lines`, () =>
      sql.unsafe(`
      insert into order_items (order_id, product_id, quantity, unit_price)
      select o.order_id, ${itemLine.productId}, ${itemLine.quantity}, ${itemLine.unitPrice}
      from orders o, generate_series(1, 2) l
      order by o.order_id, l`),
    );
  }
  await time('vacuum analyze', () => sql`vacuum (analyze)`);

  const [version] = await sql<Array<{ version: string }>>`select version()`;
  const window = analyticsWindow(Number(values.days));
  const queries = analyticsQueries(sql, { days: Number(values.days), top: 10 }, window);
  const [inWindow] = await sql<Array<{ count: number }>>`
    select count(*)::int as count from orders where order_date >= ${window.from} and order_date < ${window.to}`;
  console.log(
    `${version!.version.split(' on ')[0]} — ${orders.toLocaleString('en-US')} orders, ${(orders * 2).toLocaleString('en-US')} order lines, ` +
      `${customers.toLocaleString('en-US')} customers, ${products.toLocaleString('en-US')} products; ${inWindow!.count.toLocaleString('en-US')} orders in the ${values.days}-day window.\n`,
  );
  for (const [name, query] of Object.entries(queries)) {
    await sql`explain (analyze) ${query}`; // warm the cache first: the figures below are warm
    const plan = await sql<Array<{ 'QUERY PLAN': string }>>`explain (analyze, buffers) ${query}`;
    console.log(`### ${name}\n\n\`\`\`\n${plan.map((row) => row['QUERY PLAN']).join('\n')}\n\`\`\`\n`);
  }
} finally {
  await sql.end({ timeout: 5 });
  if (!values.keep) {
    const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
    await admin`drop database if exists ${admin(database)}`;
    await admin.end({ timeout: 5 });
    log(`dropped ${database}`);
  }
}
