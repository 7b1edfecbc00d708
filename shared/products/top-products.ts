import type { Redis } from '@upstash/redis';
import type { Sql } from '../clients/postgres.js';

export interface TopProduct {
  productId: number;
  name: string;
  unitsSold: number;
  revenue: string;
}

export interface TopProductsQuery {
  limit: number;
  /** Only orders of the last N days; undefined = all time. */
  days?: number;
}

export interface TopProductsResult {
  products: TopProduct[];
  generatedAt: string;
  window: { days: number | null };
}

/** The source of truth: an aggregate over order_items (joined to orders only for a time window). */
export async function queryTopProducts(sql: Sql, query: TopProductsQuery): Promise<TopProduct[]> {
  const since = query.days === undefined ? null : new Date(Date.now() - query.days * 86_400_000);
  return sql<TopProduct[]>`
    select p.product_id as "productId", p.name, s.units::int as "unitsSold", s.revenue::text as revenue
    from (
      select oi.product_id, sum(oi.quantity) as units, sum(oi.quantity * oi.unit_price) as revenue
      from order_items oi
      ${since ? sql`join orders o using (order_id) where o.order_date >= ${since}` : sql``}
      group by oi.product_id
      order by units desc, oi.product_id
      limit ${query.limit}
    ) s
    join products p using (product_id)
    order by s.units desc, p.product_id`;
}

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** Cache-aside read through Redis (Upstash REST); Postgres answers when the cache cannot. */
export async function getTopProducts(
  deps: { sql: Sql; redis: Redis; key: (query: TopProductsQuery) => string; ttlSeconds: number },
  query: TopProductsQuery,
): Promise<{ result: TopProductsResult; cache: CacheStatus }> {
  const key = deps.key(query);
  let cacheWorks = true;
  try {
    const cached = await deps.redis.get<TopProductsResult>(key);
    if (cached) return { result: cached, cache: 'HIT' };
  } catch {
    cacheWorks = false;
  }
  const result: TopProductsResult = {
    products: await queryTopProducts(deps.sql, query),
    generatedAt: new Date().toISOString(),
    window: { days: query.days ?? null },
  };
  if (cacheWorks) {
    try {
      await deps.redis.set(key, result, { ex: deps.ttlSeconds });
    } catch {
      cacheWorks = false;
    }
  }
  return { result, cache: cacheWorks ? 'MISS' : 'BYPASS' };
}
