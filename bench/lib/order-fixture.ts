/**
 * The shop orders are placed in by the orders and pooler benchmarks: 10,000 customers and 9,999
 * products with stock 10⁹ (no order ever fails for stock), and the two workloads of
 * bench/sql/order.pgbench.sql — 3-item orders over random products (one from each third of the id
 * range) or over 5 hot products. Scratch databases only.
 */
import path from 'node:path';
import type postgres from 'postgres';
import { ROOT } from '../../scripts/lib/env.js';
import type { CreateOrderInput } from '../../shared/orders/create-order.js';

export type Workload = 'random' | 'hot';

export const ORDER_FIXTURE = {
  customers: 10_000,
  /** A multiple of 3: the random workload takes one product from each third. */
  products: 9_999,
  hotProducts: 5,
  pgbenchScript: path.join(ROOT, 'bench/sql/order.pgbench.sql'),
} as const;

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** The same distributions as bench/sql/order.pgbench.sql; lines in random order (createOrder sorts them into lock order). */
export function randomOrder(workload: Workload): CreateOrderInput {
  const { hotProducts, products, customers } = ORDER_FIXTURE;
  let ids: number[];
  if (workload === 'hot') {
    const x = randomInt(0, hotProducts - 1);
    ids = [1 + x, 1 + ((x + 1) % hotProducts), 1 + ((x + 2) % hotProducts)];
  } else {
    const third = products / 3;
    ids = [randomInt(1, third), randomInt(third + 1, 2 * third), randomInt(2 * third + 1, 3 * third)];
  }
  ids.sort(() => Math.random() - 0.5);
  return { customerId: randomInt(1, customers), items: ids.map((productId) => ({ productId, quantity: randomInt(1, 3) })) };
}

/** pgbench -D variables for the workload. */
export function pgbenchDefines(workload: Workload): Record<string, number> {
  return { ncustomers: ORDER_FIXTURE.customers, nproducts: ORDER_FIXTURE.products, hot: workload === 'hot' ? 1 : 0 };
}

/** Fills a freshly migrated database with the fixture (prices 1.00–100.99, stock 10⁹). */
export async function fillOrderFixture(sql: postgres.Sql<Record<string, unknown>>): Promise<void> {
  await sql`
    insert into customers (name, email)
    select 'Bench customer ' || g, 'bench' || g || '@example.test' from generate_series(1, ${ORDER_FIXTURE.customers}) g`;
  await sql`
    insert into products (name, price, stock_quantity, metadata)
    select 'Bench product ' || g, 1 + (g % 100) + (g % 97) / 100.0, 1000000000, jsonb_build_object('bench', true)
    from generate_series(1, ${ORDER_FIXTURE.products}) g`;
  await sql`vacuum analyze`;
}

/** Keeps every run on equal footing: hot rows accumulate dead versions quickly. */
export async function tidyOrderFixture(sql: postgres.Sql<Record<string, unknown>>): Promise<void> {
  await sql`vacuum analyze products`;
  await sql`checkpoint`.catch(() => {}); // needs superuser / pg_checkpoint; best effort
}
