import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsWindow, getAnalyticsSummary } from '../../shared/analytics/summary.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { canCreateRoles, resetShop, temporaryRole, testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';

/**
 * GET /analytics/summary on a known data set: every figure checked twice — against values worked out
 * by hand for this data, and against a plain SQL ground truth written independently of the
 * implementation's queries (no grouping sets, no window functions).
 */
const sql = testSql();
const NOW = new Date();
const DAY = 86_400_000;
const startOfToday = Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate());
/** Noon UTC `daysAgo` days before today (never near a day boundary). */
const at = (daysAgo: number, hour = 12) => new Date(startOfToday - daysAgo * DAY + hour * 3_600_000);

let ids: { ann: number; bob: number; cy: number; dee: number };
let products: { shirt: number; jeans: number; mug: number; poster: number };

async function order(customerId: number, date: Date, lines: Array<[productId: number, quantity: number, unitPrice: string]>) {
  const total = lines.reduce((sum, [, quantity, price]) => sum + quantity * Math.round(Number(price) * 100), 0) / 100;
  const [row] = await sql<Array<{ id: number }>>`
    insert into orders (customer_id, order_date, total_amount) values (${customerId}, ${date}, ${total.toFixed(2)}) returning order_id as id`;
  for (const [productId, quantity, unitPrice] of lines) {
    await sql`insert into order_items (order_id, product_id, quantity, unit_price) values (${row!.id}, ${productId}, ${quantity}, ${unitPrice})`;
  }
}

beforeAll(async () => {
  await resetShop(sql);
  const customers = await sql<Array<{ id: number }>>`
    insert into customers (name, email) values ('Ann', 'ann@example.test'), ('Bob', 'bob@example.test'),
      ('Cy', 'cy@example.test'), ('Dee', 'dee@example.test')
    returning customer_id as id`;
  ids = { ann: customers[0]!.id, bob: customers[1]!.id, cy: customers[2]!.id, dee: customers[3]!.id };
  const rows = await sql<Array<{ id: number }>>`
    insert into products (name, price, stock_quantity, metadata) values
      ('Shirt', 20.00, 100, '{"category": "apparel", "brand": "Acme"}'),
      ('Jeans', 50.00, 100, '{"category": "apparel", "brand": "Denimco"}'),
      ('Mug', 8.50, 100, '{"category": "kitchen", "brand": "Acme"}'),
      ('Poster', 5.00, 100, '{}')
    returning product_id as id`;
  products = { shirt: rows[0]!.id, jeans: rows[1]!.id, mug: rows[2]!.id, poster: rows[3]!.id };

  // Inside a 7-day window (today and the 6 days before):
  await order(ids.ann, at(0, 9), [
    [products.shirt, 2, '20.00'],
    [products.mug, 1, '8.50'],
  ]); // 48.50
  await order(ids.bob, at(0, 15), [[products.jeans, 1, '45.00']]); //                          45.00 (discounted snapshot)
  await order(ids.ann, at(2), [[products.poster, 3, '5.00']]); //                              15.00
  await order(ids.cy, at(6, 0), [
    [products.jeans, 2, '50.00'],
    [products.mug, 2, '8.50'],
  ]); // 117.00, first second of the window
  // Outside it (the 30-day window takes the first one, not the second):
  await order(ids.dee, at(7, 23), [[products.shirt, 10, '20.00']]); //                        200.00, 7 days ago
  await order(ids.dee, at(40), [[products.mug, 1, '8.50']]); //                               8.50, 40 days ago
  await order(ids.bob, at(-1), [[products.shirt, 1, '20.00']]); //                            20.00, tomorrow: never counted
});

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

/** The ground truth: plain SQL over the same window. */
async function groundTruth(days: number) {
  const { from, to } = analyticsWindow(days, NOW);
  const [totals] = await sql<Array<{ orders: number; revenue: string; aov: string | null; customers: number }>>`
    select count(*)::int as orders, coalesce(sum(total_amount), 0.00)::text as revenue,
           round(sum(total_amount) / nullif(count(*), 0), 2)::text as aov, count(distinct customer_id)::int as customers
    from orders where order_date >= ${from} and order_date < ${to}`;
  const perDay = await sql<Array<{ day: string; orders: number; revenue: string }>>`
    select to_char(d at time zone 'UTC', 'YYYY-MM-DD') as day,
           (select count(*)::int from orders o where o.order_date >= d and o.order_date < d + interval '24 hours') as orders,
           (select coalesce(sum(total_amount), 0.00)::text from orders o where o.order_date >= d and o.order_date < d + interval '24 hours') as revenue
    from generate_series(${from}::timestamptz, ${to}::timestamptz - interval '24 hours', interval '24 hours') d
    order by d`;
  const customers = await sql<Array<{ customerId: number; name: string; orders: number; spend: string }>>`
    select c.customer_id as "customerId", c.name, count(*)::int as orders, sum(o.total_amount)::text as spend
    from orders o join customers c on c.customer_id = o.customer_id
    where o.order_date >= ${from} and o.order_date < ${to}
    group by c.customer_id, c.name order by sum(o.total_amount) desc, c.customer_id`;
  const byKey = (key: 'category' | 'brand') => sql<Array<{ name: string | null; units: number; revenue: string; products: number }>>`
    select p.metadata ->> ${key} as name, sum(oi.quantity)::int as units, sum(oi.quantity * oi.unit_price)::text as revenue,
           count(distinct p.product_id)::int as products
    from orders o join order_items oi on oi.order_id = o.order_id join products p on p.product_id = oi.product_id
    where o.order_date >= ${from} and o.order_date < ${to}
    group by 1 order by sum(oi.quantity * oi.unit_price) desc, 1 nulls last`;
  return { totals: totals!, perDay, customers, categories: await byKey('category'), brands: await byKey('brand') };
}

describe('analytics summary (known data set)', () => {
  it('matches the hand-worked figures for the last 7 days', async () => {
    const summary = await getAnalyticsSummary(sql, { days: 7, top: 10 }, NOW);
    expect(summary.window).toEqual({
      days: 7,
      from: new Date(startOfToday - 6 * DAY).toISOString(),
      to: new Date(startOfToday + DAY).toISOString(),
      timeZone: 'UTC',
    });
    expect(summary.orders).toBe(4);
    expect(summary.revenue).toBe('225.50');
    expect(summary.averageOrderValue).toBe('56.38'); // 225.50 / 4 = 56.375, rounded half up
    expect(summary.customers).toBe(3);
    expect(summary.revenueByDay).toHaveLength(7);
    const day = (daysAgo: number) => new Date(startOfToday - daysAgo * DAY).toISOString().slice(0, 10);
    expect(summary.revenueByDay[0]).toEqual({ day: day(6), orders: 1, revenue: '117.00' });
    expect(summary.revenueByDay[4]).toEqual({ day: day(2), orders: 1, revenue: '15.00' });
    expect(summary.revenueByDay[5]).toEqual({ day: day(1), orders: 0, revenue: '0.00' });
    expect(summary.revenueByDay[6]).toEqual({ day: day(0), orders: 2, revenue: '93.50' });
    expect(summary.topCustomers).toEqual([
      { customerId: ids.cy, name: 'Cy', orders: 1, spend: '117.00' },
      { customerId: ids.ann, name: 'Ann', orders: 2, spend: '63.50' },
      { customerId: ids.bob, name: 'Bob', orders: 1, spend: '45.00' },
    ]);
    expect(summary.topCategories).toEqual([
      { name: 'apparel', units: 5, revenue: '185.00', products: 2 },
      { name: 'kitchen', units: 3, revenue: '25.50', products: 1 },
      { name: null, units: 3, revenue: '15.00', products: 1 },
    ]);
    expect(summary.topBrands).toEqual([
      { name: 'Denimco', units: 3, revenue: '145.00', products: 1 },
      { name: 'Acme', units: 5, revenue: '65.50', products: 2 },
      { name: null, units: 3, revenue: '15.00', products: 1 },
    ]);
  });

  it.each([1, 7, 8, 30, 365])('matches the SQL ground truth over %i days', async (days) => {
    const summary = await getAnalyticsSummary(sql, { days, top: 50 }, NOW);
    const truth = await groundTruth(days);
    expect(summary.orders).toBe(truth.totals.orders);
    expect(summary.revenue).toBe(truth.totals.revenue);
    expect(summary.averageOrderValue).toBe(truth.totals.aov);
    expect(summary.customers).toBe(truth.totals.customers);
    expect(summary.revenueByDay).toEqual(truth.perDay);
    expect(summary.topCustomers).toEqual(truth.customers);
    expect(summary.topCategories).toEqual(truth.categories);
    expect(summary.topBrands).toEqual(truth.brands);
    // Line revenue adds up to order revenue (every order's total is the sum of its lines here).
    const lines = summary.topCategories.reduce((sum, row) => sum + Math.round(Number(row.revenue) * 100), 0);
    expect(lines).toBe(Math.round(Number(summary.revenue) * 100));
  });

  it('gives the same days and times whatever DateStyle the server sets for the role (the driver reads ISO only)', async (context) => {
    if (!(await canCreateRoles(sql))) return context.skip('the tests’ PostgreSQL role may not create roles');
    const expected = await getAnalyticsSummary(sql, { days: 7, top: 10 }, NOW);
    expect(expected.revenueByDay.some((day) => day.orders > 0)).toBe(true);
    const role = `analytics_datestyle_${process.pid}`;
    const { url, drop } = await temporaryRole(sql, role, 'select');
    const config = parseConfig(process.env);
    try {
      for (const dateStyle of ['SQL, DMY', 'Postgres, MDY', 'German']) {
        await sql`alter role ${sql(role)} set DateStyle = ${sql.unsafe(`'${dateStyle}'`)}`;
        const other = postgres(url, { ...postgresOptions(config.database, 'ecommerce-pipeline-tests'), max: 1 }) as unknown as Sql;
        try {
          expect((await getAnalyticsSummary(other, { days: 7, top: 10 }, NOW)).revenueByDay, dateStyle).toEqual(expected.revenueByDay);
          const [row] = await other<Array<{ at: Date }>>`select ${sql.unsafe("'2026-03-04 05:06:07.089+00'")}::timestamptz as at`;
          expect(row!.at.toISOString(), dateStyle).toBe('2026-03-04T05:06:07.089Z');
        } finally {
          await other.end();
        }
      }
    } finally {
      await drop();
    }
  });

  it('limits the rankings to `top` and answers an empty window with zeros', async () => {
    const top1 = await getAnalyticsSummary(sql, { days: 7, top: 1 }, NOW);
    expect(top1.topCustomers.map((row) => row.name)).toEqual(['Cy']);
    expect(top1.topCategories.map((row) => row.name)).toEqual(['apparel']);
    expect(top1.topBrands.map((row) => row.name)).toEqual(['Denimco']);
    const empty = await getAnalyticsSummary(sql, { days: 1, top: 5 }, new Date(NOW.getTime() + 100 * DAY));
    expect(empty).toMatchObject({
      orders: 0,
      revenue: '0.00',
      averageOrderValue: null,
      customers: 0,
      topCustomers: [],
      topCategories: [],
      topBrands: [],
    });
    expect(empty.revenueByDay).toEqual([
      { day: new Date(startOfToday + 100 * DAY).toISOString().slice(0, 10), orders: 0, revenue: '0.00' },
    ]);
  });
});

describe('GET /analytics/summary (serverless-offline)', () => {
  it('serves the summary for the last 30 days by default', async () => {
    const response = await api('GET', '/analytics/summary');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    // Orders 0–7 days old; the 40-day-old and tomorrow's are outside.
    expect(response.body).toMatchObject({ orders: 5, revenue: '425.50', averageOrderValue: '85.10', customers: 4 });
    expect(response.body.window.days).toBe(30);
    expect(response.body.revenueByDay).toHaveLength(30);
    expect(response.body.topCustomers[0]).toEqual({ customerId: ids.dee, name: 'Dee', orders: 1, spend: '200.00' });
  });

  it('takes days and top from the query string', async () => {
    const response = await api('GET', '/analytics/summary?days=7&top=2');
    expect(response.status).toBe(200);
    expect(response.body.orders).toBe(4);
    expect(response.body.topCustomers).toHaveLength(2);
  });

  it.each(['days=0', 'days=366', 'days=abc', 'top=0', 'top=51', 'since=2024-01-01'])('rejects ?%s with 400', async (query) => {
    const response = await api('GET', `/analytics/summary?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
  });
});

describe('analytics summary while orders are placed', () => {
  it('counts a category past 2^31 units in its window (a busy year) instead of failing', async () => {
    const [row] = await sql<[{ id: number }]>`
      insert into orders (customer_id, order_date, total_amount) values (${ids.dee}, ${at(1)}, 0.00) returning order_id as id`;
    try {
      await sql`
        insert into order_items (order_id, product_id, quantity, unit_price)
        values (${row.id}, ${products.shirt}, 2000000000, 0.00), (${row.id}, ${products.jeans}, 2000000000, 0.00)`;
      const summary = await getAnalyticsSummary(sql, { days: 7, top: 10 }, NOW);
      // 4,000,000,000 more than the 5 units of apparel (2 shirts, 3 jeans) the window already holds.
      expect(summary.topCategories.find((category) => category.name === 'apparel')?.units).toBe(4_000_000_005);
    } finally {
      await sql`delete from orders where order_id = ${row.id}`;
    }
  });

  it('its figures come from one snapshot: an order committed while it runs is in all of them or in none', async () => {
    const blocker = await sql.reserve();
    let inserted: number | undefined;
    try {
      // The summary's first statement reads orders only; its second joins customers, which this holds.
      await blocker`begin`;
      await blocker`lock table customers in access exclusive mode`;
      const summary = getAnalyticsSummary(sql, { days: 30, top: 50 });
      await expect
        .poll(
          async () =>
            (
              await sql<[{ n: number }]>`
              select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%join customers%'`
            )[0].n,
          { timeout: 5_000 },
        )
        .toBe(1);
      [{ id: inserted }] = await blocker<[{ id: number }]>`
        insert into orders (customer_id, order_date, total_amount) values (${ids.ann}, now(), 10.00) returning order_id as id`;
      await blocker`commit`;
      const result = await summary;
      expect(result.topCustomers.reduce((orders, customer) => orders + customer.orders, 0)).toBe(result.orders);
    } finally {
      blocker.release();
      if (inserted !== undefined) await sql`delete from orders where order_id = ${inserted}`;
    }
  });
});
