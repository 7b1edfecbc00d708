import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CountingProxy, countingProxy } from '../../bench/lib/proxy.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { listCustomerOrders } from '../../shared/orders/history.js';
import { purgeExpiredIdempotencyKeys } from '../../shared/orders/idempotency.js';
import { getProduct, listProducts } from '../../shared/products/catalog.js';
import { productNamesAndSource } from '../../shared/products/queries.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';

/**
 * Network round trips to PostgreSQL per request, counted on the wire by a proxy, with named prepared
 * statements (a direct connection) and without them (`DATABASE_PREPARE=false`: PgBouncer in transaction
 * mode, RDS Proxy). Each hot-path statement is one round trip either way, warm.
 */
const sql = testSql();
const config = parseConfig(process.env).database;
let fixtures: Fixtures;
let proxy: CountingProxy;
const pools: Record<'prepared' | 'unprepared', Sql> = {} as never;

beforeAll(async () => {
  await resetShop(sql);
  fixtures = await insertFixtures(sql, { customers: 2, products: 4, stock: 10_000 });
  const target = new URL(config.url);
  proxy = await countingProxy({ host: target.hostname, port: Number(target.port || 5432) });
  target.host = `127.0.0.1:${proxy.port}`;
  for (const [name, prepare] of [
    ['prepared', true],
    ['unprepared', false],
  ] as const) {
    pools[name] = postgres(target.toString(), {
      ...postgresOptions({ ...config, prepare }, 'ecommerce-pipeline-tests'),
      max: 1,
    }) as unknown as Sql;
  }
});

afterAll(async () => {
  await Promise.all(Object.values(pools).map((pool) => pool.end()));
  await proxy.close();
  await sql.end();
});

/** Round trips of `call`'s second run on a connection that already ran it once (a warm container). */
async function warmTurns(call: () => Promise<unknown>): Promise<number> {
  await call();
  proxy.reset();
  await call();
  return proxy.turns();
}

describe.each(['prepared', 'unprepared'] as const)('PostgreSQL round trips per request, %s statements', (mode) => {
  const db = () => pools[mode];
  const order = (key?: string) => () =>
    createOrder(
      db(),
      { customerId: fixtures.customerIds[0]!, items: [{ productId: fixtures.productIds[0]!, quantity: 1 }] },
      key === undefined ? {} : { idempotencyKey: `${key}-${mode}-${randomUUID()}` },
    );

  it('createOrder: 1, with or without an Idempotency-Key', async () => {
    expect(await warmTurns(order())).toBe(1);
    expect(await warmTurns(order('key'))).toBe(1);
  });

  it('createOrder with an Idempotency-Key: 1 every time, whatever chance says (no housekeeping on the request path)', async () => {
    // Chance at its most eager: a purge drawn "sometimes" on the request path would be drawn every time.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const call = order('every');
      await call();
      const counts: number[] = [];
      for (let n = 0; n < 5; n++) {
        proxy.reset();
        await call();
        counts.push(proxy.turns());
      }
      expect(counts).toEqual([1, 1, 1, 1, 1]);
    } finally {
      random.mockRestore();
    }
  });

  it('a batch of the hourly purge of expired keys: 1', async () => {
    expect(await warmTurns(() => purgeExpiredIdempotencyKeys(db(), 10))).toBe(1);
  });

  it('the top-products refresh from the leaderboard (names and sales source): 1', async () => {
    expect(await warmTurns(() => productNamesAndSource(db(), fixtures.productIds))).toBe(1);
  });

  it('a catalog page, a product, a page of order history: 1 each', async () => {
    expect(await warmTurns(() => listProducts(db(), { attributes: { colour: 'red' }, inStock: true }, { limit: 2 }, String))).toBe(1);
    expect(await warmTurns(() => listProducts(db(), { attributes: {} }, { after: 1, limit: 2 }, String))).toBe(1);
    expect(await warmTurns(() => getProduct(db(), fixtures.productIds[1]!))).toBe(1);
    const customerId = fixtures.customerIds[0]!;
    expect(await warmTurns(() => listCustomerOrders(db(), customerId, { limit: 2 }, String))).toBe(1);
    expect(await warmTurns(() => listCustomerOrders(db(), customerId, { after: '1765065600000000.2', limit: 2 }, String))).toBe(1);
  });
});
