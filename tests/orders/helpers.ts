import postgres from 'postgres';
import { expect } from 'vitest';
import { Rng } from '../../scripts/db/seed-random.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';

/** A pool on the test database sized for concurrency tests (in-process createOrder calls). */
export function ordersPool(max: number, connection: Record<string, string> = {}): Sql {
  const config = parseConfig(process.env);
  const options = postgresOptions(config.database, 'ecommerce-pipeline-orders-tests');
  return postgres(config.database.url, {
    ...options,
    max,
    connection: { ...options.connection, ...connection },
  }) as unknown as Sql;
}

export interface DbState {
  counts: { customers: number; products: number; orders: number; orderItems: number; keys: number };
  stock: Array<{ productId: number; stock: number; price: string }>;
}

/** Everything an order can change: row counts of every table it writes, and each product's stock and price. */
export async function dbState(sql: Sql): Promise<DbState> {
  const [counts] = await sql<Array<DbState['counts']>>`
    select
      (select count(*) from customers)::int as customers,
      (select count(*) from products)::int as products,
      (select count(*) from orders)::int as orders,
      (select count(*) from order_items)::int as "orderItems",
      (select count(*) from idempotency_keys)::int as keys`;
  const stock = await sql<DbState['stock']>`
    select product_id as "productId", stock_quantity as stock, price::text as price from products order by product_id`;
  return { counts: counts!, stock: [...stock] };
}

/** Runs `action` and asserts the database is exactly as before (the contract: every error changes nothing). */
export async function expectUnchanged<T>(sql: Sql, action: () => Promise<T>): Promise<T> {
  const before = await dbState(sql);
  const result = await action();
  expect(await dbState(sql)).toEqual(before);
  return result;
}

/** Rows that would betray a half-written order: orders without lines. (Lines without orders: FK.) */
export async function orphanOrders(sql: Sql): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`
    select count(*)::int as n from orders o where not exists (select from order_items i where i.order_id = o.order_id)`;
  return row!.n;
}

/** Deterministic uniform [0, 1) (the seed's generator) so a failing random workload can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.float();
}

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function shuffle<T>(random: () => number, values: T[]): T[] {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Sets a product's stock (and optionally price) directly. */
export async function setProduct(sql: Sql, productId: number, fields: { stock?: number; price?: string }): Promise<void> {
  if (fields.stock !== undefined) await sql`update products set stock_quantity = ${fields.stock} where product_id = ${productId}`;
  if (fields.price !== undefined) await sql`update products set price = ${fields.price}::numeric where product_id = ${productId}`;
}
