import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../../bench/lib/context.js';
import { ORDER_FIXTURE, withOrderFixture, withSql } from '../../bench/lib/fixtures.js';

/**
 * The orders and pooler benches measure createOrder against pgbench on this fixture. On a shop without
 * orders the first connections planned each order line's foreign-key check as a scan of the empty orders
 * table and kept the plan (pgbench fell from 1,800 to 600 orders/s in 12 s): it needs a known history.
 */
describe('bench/lib/fixtures: the order fixture', () => {
  it('holds an order history, analyzed, before anything is measured', { timeout: 120_000 }, async () => {
    const ctx = { baseUrl: process.env.DATABASE_URL! } as SuiteContext;
    const seen = await withOrderFixture(ctx, 'shop_bench_fixture_test', (url) =>
      withSql(url, async (sql) => {
        const [row] = await sql<Array<{ orders: number; lines: number; orderStats: number; lineStats: number }>>`
          select (select count(*) from orders)::int as orders,
                 (select count(*) from order_items)::int as lines,
                 (select reltuples from pg_class where oid = 'orders'::regclass)::int as "orderStats",
                 (select reltuples from pg_class where oid = 'order_items'::regclass)::int as "lineStats"`;
        return row!;
      }),
    );
    expect(seen.orders).toBeGreaterThan(0);
    expect(seen.orders).toBe(ORDER_FIXTURE.orders);
    expect(seen.lines).toBeGreaterThanOrEqual(seen.orders);
    expect(seen.orderStats).toBe(seen.orders);
    expect(seen.lineStats).toBe(seen.lines);
  });
});
