import type { TransactionSql } from 'postgres';
import type { Sql } from '../clients/postgres.js';

/**
 * The lab's "show analytics", as an API: over the last N days (whole UTC days, today included) —
 * revenue per day, order count, average order value, top customers by spend, and the best categories
 * and brands from the products' JSONB metadata (`metadata->>'category'`, `metadata->>'brand'`).
 *
 * Money is numeric in Postgres and a decimal string here (never a float). Order totals come from
 * `orders.total_amount`; category and brand revenue from the order lines (quantity × the unit price
 * snapshotted at order time). Every query is bounded by the `orders.order_date` window, so it reads
 * the window through orders_order_date_idx, not the whole history (plans at 1M orders:
 * docs/benchmarks.md).
 */

export const MAX_DAYS = 365;
export const MAX_TOP = 50;

export interface AnalyticsQuery {
  days: number;
  top: number;
}

export interface DayRevenue {
  /** UTC calendar day, YYYY-MM-DD. */
  day: string;
  orders: number;
  revenue: string;
}

export interface TopCustomer {
  customerId: number;
  name: string;
  orders: number;
  spend: string;
}

export interface DimensionSales {
  /** The category or brand; null for products whose metadata has none. */
  name: string | null;
  /** Units sold and revenue (quantity × unit price paid) of its products in the window. */
  units: number;
  revenue: string;
  /** How many of its products sold in the window. */
  products: number;
}

export interface AnalyticsSummary {
  window: { days: number; from: string; to: string; timeZone: 'UTC' };
  orders: number;
  revenue: string;
  /** Revenue ÷ orders, rounded to cents; null when there were no orders. */
  averageOrderValue: string | null;
  customers: number;
  revenueByDay: DayRevenue[];
  topCustomers: TopCustomer[];
  topCategories: DimensionSales[];
  topBrands: DimensionSales[];
  generatedAt: string;
}

const DAY_MS = 86_400_000;

/** [from, to): from the start of the UTC day `days - 1` days before `now`, to the start of the next UTC day. */
export function analyticsWindow(days: number, now: Date = new Date()): { from: Date; to: Date } {
  const startOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: new Date(startOfToday - (days - 1) * DAY_MS), to: new Date(startOfToday + DAY_MS) };
}

interface DailyRow {
  day: string | null;
  orders: number;
  revenue: string;
  aov: string | null;
  customers: number;
}

interface DimensionRow {
  dimension: 'category' | 'brand';
  name: string | null;
  units: number;
  revenue: string;
  products: number;
}

/** The summary's three statements, not yet run (so they can be EXPLAINed too: bench/analytics.ts). */
export function analyticsQueries(sql: Sql | TransactionSql, query: AnalyticsQuery, window: { from: Date; to: Date }) {
  const { from, to } = window;
  return {
    // Per day and in total in one pass (the empty grouping set is the total row, day = null).
    daily: sql<DailyRow[]>`
      select (order_date at time zone 'UTC')::date::text as day,
             count(*)::int as orders,
             sum(total_amount)::text as revenue,
             round(avg(total_amount), 2)::text as aov,
             count(distinct customer_id)::int as customers
      from orders
      where order_date >= ${from} and order_date < ${to}
      group by grouping sets (((order_date at time zone 'UTC')::date), ())`,

    topCustomers: sql<TopCustomer[]>`
      select s.customer_id as "customerId", c.name, s.orders, s.spend::text as spend
      from (
        select customer_id, count(*)::int as orders, sum(total_amount) as spend
        from orders
        where order_date >= ${from} and order_date < ${to}
        group by customer_id
        order by spend desc, customer_id
        limit ${query.top}
      ) s
      join customers c using (customer_id)
      order by s.spend desc, s.customer_id`,

    // Categories and brands: the window's order lines summed per product first (a few thousand rows at
    // most), then joined to products once per product and grouped both ways in one pass. The window's
    // order ids are collected first (orders_order_date_idx) and their lines fetched by id (order_items'
    // unique (order_id, product_id) index): a plain join makes the planner hash-join against a
    // sequential scan of every order line ever written, which grows with the history, not the window. Units
    // are summed as bigint: a category can pass 2^31 units in a year.
    dimensions: sql<DimensionRow[]>`
      with sold as (
        select oi.product_id, sum(oi.quantity) as units, sum(oi.quantity * oi.unit_price) as revenue
        from order_items oi
        where oi.order_id = any (array(select order_id from orders where order_date >= ${from} and order_date < ${to}))
        group by oi.product_id
      ), grouped as (
        select case when grouping(p.category) = 0 then 'category' else 'brand' end as dimension,
               case when grouping(p.category) = 0 then p.category else p.brand end as name,
               sum(s.units)::bigint as units, sum(s.revenue) as revenue, count(*)::int as products
        from sold s
        join (select product_id, metadata ->> 'category' as category, metadata ->> 'brand' as brand from products) p
          on p.product_id = s.product_id
        group by grouping sets ((p.category), (p.brand))
      ), ranked as (
        select *, row_number() over (partition by dimension order by revenue desc, name nulls last) as rank
        from grouped
      )
      select dimension, name, units, revenue::text as revenue, products
      from ranked where rank <= ${query.top}
      order by dimension, rank`,
  };
}

export async function getAnalyticsSummary(sql: Sql, query: AnalyticsQuery, now: Date = new Date()): Promise<AnalyticsSummary> {
  const { from, to } = analyticsWindow(query.days, now);
  // One snapshot for the three statements, so that the totals, the top customers and the categories count
  // the same orders, also when an order commits between two of them (window `to` is the end of today).
  const [daily, topCustomers, dimensions] = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const queries = analyticsQueries(tx, query, { from, to });
    return [await queries.daily, await queries.topCustomers, await queries.dimensions] as const;
  });

  const total = daily.find((row) => row.day === null);
  const byDay = new Map(daily.filter((row) => row.day !== null).map((row) => [row.day!, row]));
  const revenueByDay: DayRevenue[] = [];
  for (let time = from.getTime(); time < to.getTime(); time += DAY_MS) {
    const day = new Date(time).toISOString().slice(0, 10);
    const row = byDay.get(day);
    revenueByDay.push({ day, orders: row?.orders ?? 0, revenue: row?.revenue ?? '0.00' });
  }
  const pick = (dimension: 'category' | 'brand'): DimensionSales[] =>
    dimensions
      .filter((row) => row.dimension === dimension)
      .map(({ name, units, revenue, products }) => ({ name, units, revenue, products }));

  return {
    window: { days: query.days, from: from.toISOString(), to: to.toISOString(), timeZone: 'UTC' },
    orders: total?.orders ?? 0,
    revenue: total?.revenue ?? '0.00',
    averageOrderValue: total?.aov ?? null,
    customers: total?.customers ?? 0,
    revenueByDay,
    topCustomers: [...topCustomers],
    topCategories: pick('category'),
    topBrands: pick('brand'),
    generatedAt: now.toISOString(),
  };
}
