/**
 * Postgres, the source of truth for top products: the aggregate over order_items, and the per-day
 * sales the leaderboard is rebuilt and reconciled from.
 */
import { intArray, OID, type Sql } from '../clients/postgres.js';

/** The most products a top-products answer holds (and what a snapshot stores: every limit is cut from it). */
export const MAX_LIMIT = 100;

export interface TopProduct {
  productId: number;
  name: string;
  unitsSold: number;
  /** Decimal string with two places ("1234.50"), like every amount in the API. */
  revenue: string;
}

/**
 * Top `limit` products by units sold (ties by product id) over orders since `since` (all time when
 * null). Measured at 1M orders / 2.5M lines: 0.7–2 s all time, 0.25–1.2 s for 7–30 days — which is
 * why requests are served from Redis and this runs only when the leaderboard cannot answer.
 */
export async function queryTopProducts(sql: Sql, window: { since: Date | null }, limit: number): Promise<TopProduct[]> {
  const { since } = window;
  const rows = await sql<Array<{ productId: number; name: string; unitsSold: number | string; revenue: string }>>`
    select p.product_id as "productId", p.name, s.units as "unitsSold", s.revenue::text as revenue
    from (
      select oi.product_id, sum(oi.quantity)::bigint as units, sum(oi.quantity * oi.unit_price) as revenue
      from order_items oi
      ${since ? sql`join orders o using (order_id) where o.order_date >= ${since}` : sql``}
      group by oi.product_id
      order by units desc, oi.product_id
      limit ${sql.typed(limit, OID.int4)}
    ) s
    join products p using (product_id)
    order by s.units desc, p.product_id`;
  return rows.map((row) => ({ ...row, unitsSold: Number(row.unitsSold) }));
}

/**
 * What the sales are now, as far as the leaderboard is concerned: the generation (moved on by any change
 * to the sales other than a new order: sql/00005_sales_generation.sql) and the newest order id (which only
 * a restore can move backwards).
 */
export interface SalesSource {
  generation: string;
  maxOrderId: number;
}

const SOURCE_COLUMNS = `(select generation::text from sales_generation) as generation,
  coalesce((select max(order_id) from orders), 0) as "maxOrderId"`;

export async function salesSource(sql: Sql): Promise<SalesSource> {
  const [row] = await sql.unsafe<[SalesSource]>(`select ${SOURCE_COLUMNS}`);
  return row;
}

/** A leaderboard built from `built` still describes the sales `now` (new orders aside). */
export function sameSales(built: SalesSource, now: SalesSource): boolean {
  return built.generation === now.generation && now.maxOrderId >= built.maxOrderId;
}

/** Names for the leaderboard's product ids (a primary-key lookup, ≤ 100 ids) and the sales source, in one round trip. */
export async function productNamesAndSource(sql: Sql, productIds: number[]): Promise<{ names: Map<number, string>; source: SalesSource }> {
  const [row] = await sql<[SalesSource & { names: Array<{ productId: number; name: string }> }]>`
    select ${sql.unsafe(SOURCE_COLUMNS)},
      coalesce((select json_agg(json_build_object('productId', product_id, 'name', name))
                from products where product_id = any(${intArray(sql, productIds)}::int[])), '[]') as names`;
  return {
    names: new Map(row.names.map((p) => [p.productId, p.name])),
    source: { generation: row.generation, maxOrderId: row.maxOrderId },
  };
}

export interface DaySales {
  /** UTC day (YYYY-MM-DD); null for the all-time rows of a full rebuild. */
  day: string | null;
  productId: number;
  units: number;
  /** Revenue in integer cents. */
  cents: number;
}

interface SalesRow {
  day: string | null;
  productId: number;
  units: number | string;
  cents: number | string;
}

const toSales = (row: SalesRow): DaySales => ({
  day: row.day,
  productId: row.productId,
  units: Number(row.units),
  cents: Number(row.cents),
});

/**
 * Sales per (UTC day, product) since `since` (a few days: the reconcile's "recent" pass). The lateral
 * subquery makes Postgres walk orders by the order_date index and fetch each order's lines through
 * the (order_id, product_id) key, instead of hashing all of order_items (measured at 1M orders,
 * two days: ~0.1 s instead of 0.6–0.8 s).
 */
export async function salesByDaySince(sql: Sql, since: Date): Promise<DaySales[]> {
  const rows = await sql<SalesRow[]>`
    select to_char(o.order_date at time zone 'UTC', 'YYYY-MM-DD') as day, oi.product_id as "productId",
           sum(oi.quantity)::bigint as units, (sum(oi.quantity * oi.unit_price) * 100)::bigint as cents
    from orders o
    cross join lateral (
      select i.product_id, i.quantity, i.unit_price from order_items i where i.order_id = o.order_id offset 0
    ) oi
    where o.order_date >= ${since}
    group by 1, 2`;
  return rows.map(toSales);
}

/**
 * Everything a full rebuild needs in one pass over order_items, streamed: sales per (UTC day,
 * product) for days since `since`, ordered by day, then all-time sales per product (`day` null) — and
 * the sales source those rows describe, read from the same snapshot (repeatable read). Runs in its own
 * transaction with a generous statement timeout (measured ~9 s at 1M orders).
 */
export async function streamFullSales(
  sql: Sql,
  since: Date,
  onBatch: (rows: DaySales[]) => Promise<void>,
  options: { statementTimeoutMs?: number; batchSize?: number } = {},
): Promise<SalesSource> {
  const timeout = `${options.statementTimeoutMs ?? 300_000}ms`;
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    await tx`select set_config('statement_timeout', ${timeout}, true)`;
    const [source] = await tx.unsafe<[SalesSource]>(`select ${SOURCE_COLUMNS}`);
    const cursor = tx<Array<SalesRow & { allTime: number }>>`
      select s.day, s.product_id as "productId", sum(s.quantity)::bigint as units,
             (sum(s.quantity * s.unit_price) * 100)::bigint as cents, grouping(s.day) as "allTime"
      from (
        select case when o.order_date >= ${since} then to_char(o.order_date at time zone 'UTC', 'YYYY-MM-DD') end as day,
               oi.product_id, oi.quantity, oi.unit_price
        from order_items oi join orders o using (order_id)
      ) s
      group by grouping sets ((s.day, s.product_id), (s.product_id))
      having grouping(s.day) = 1 or s.day is not null
      order by grouping(s.day), s.day, s.product_id`.cursor(options.batchSize ?? 5_000);
    for await (const rows of cursor) {
      await onBatch(rows.map((row) => toSales({ ...row, day: row.allTime === 1 ? null : row.day })));
    }
    return source;
  }) as Promise<SalesSource>;
}
