/**
 * createOrder against the real test database, in process: the transaction's effects, every error
 * case (each asserting the database is unchanged), and the idempotency semantics.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { type CreateOrderInput, createOrder } from '../../shared/orders/create-order.js';
import { purgeExpiredIdempotencyKeys } from '../../shared/orders/idempotency.js';
import { IDEMPOTENCY_KEY_TTL_SECONDS } from '../../shared/orders/rules.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { dbState, expectUnchanged, setProduct } from './helpers.js';

const sql = testSql();
let fx: Fixtures;
let customer: number;
let other: number;
let p: number[];

beforeEach(async () => {
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 3, products: 5, stock: 10 });
  [customer, other] = fx.customerIds as [number, number];
  p = fx.productIds;
});

afterAll(async () => {
  await sql.end();
});

/** The AppError a call rejects with (fails the test if it resolves or throws something else). */
async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => {
      throw new Error('expected createOrder to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('createOrder: the transaction', () => {
  it('inserts the order and its lines at database prices, merges duplicates, decrements stock', async () => {
    await setProduct(sql, p[0]!, { price: '0.10' });
    await setProduct(sql, p[2]!, { price: '0.20' });
    const input: CreateOrderInput = {
      customerId: customer,
      items: [
        { productId: p[2]!, quantity: 1 },
        { productId: p[0]!, quantity: 2 },
        { productId: p[0]!, quantity: 1 },
      ],
    };
    const { order, replayed } = await createOrder(sql, input);
    expect(replayed).toBe(false);
    // 3 × 0.10 + 0.20 in numeric: exactly 0.50 (binary floating point would give 0.5000000000000001).
    expect(order).toEqual({
      orderId: expect.any(Number),
      customerId: customer,
      orderDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      totalAmount: '0.50',
      items: [
        { productId: p[0], quantity: 3, unitPrice: '0.10' },
        { productId: p[2], quantity: 1, unitPrice: '0.20' },
      ],
    });
    expect(Math.abs(Date.parse(order.orderDate) - Date.now())).toBeLessThan(60_000);

    const [row] = await sql`
      select customer_id, total_amount::text as total, order_date from orders where order_id = ${order.orderId}`;
    expect(row).toMatchObject({ customer_id: customer, total: '0.50' });
    expect((row!.order_date as Date).toISOString()).toBe(order.orderDate);
    const lines = await sql`
      select product_id, quantity, unit_price::text as unit_price from order_items
      where order_id = ${order.orderId} order by product_id`;
    expect(lines.map((l) => ({ ...l }))).toEqual([
      { product_id: p[0], quantity: 3, unit_price: '0.10' },
      { product_id: p[2], quantity: 1, unit_price: '0.20' },
    ]);
    const stock = await sql`select product_id, stock_quantity from products where product_id in ${sql([p[0]!, p[2]!])} order by 1`;
    expect(stock.map((s) => s.stock_quantity)).toEqual([7, 9]);
  });

  it('snapshots the unit price: a later price change does not rewrite the order', async () => {
    const { order } = await createOrder(sql, { customerId: customer, items: [{ productId: p[1]!, quantity: 2 }] });
    await setProduct(sql, p[1]!, { price: '999.99' });
    const [line] = await sql`select unit_price::text as price from order_items where order_id = ${order.orderId}`;
    expect(line!.price).toBe(order.items[0]!.unitPrice);
    expect(order.items[0]!.unitPrice).not.toBe('999.99');
    // ... and the next order pays the new price.
    const next = await createOrder(sql, { customerId: customer, items: [{ productId: p[1]!, quantity: 1 }] });
    expect(next.order).toMatchObject({ totalAmount: '999.99', items: [{ unitPrice: '999.99' }] });
  });

  it('can sell the last unit, and not one more', async () => {
    await setProduct(sql, p[0]!, { stock: 2 });
    await createOrder(sql, { customerId: customer, items: [{ productId: p[0]!, quantity: 2 }] });
    const error = await expectUnchanged(sql, () =>
      rejection(createOrder(sql, { customerId: customer, items: [{ productId: p[0]!, quantity: 1 }] })),
    );
    expect(error).toMatchObject({
      status: 409,
      code: 'INSUFFICIENT_STOCK',
      details: { products: [{ productId: p[0], requested: 1, available: 0 }] },
    });
  });
});

describe('createOrder: every error leaves the database unchanged', () => {
  it('404 CUSTOMER_NOT_FOUND (checked before products)', async () => {
    const error = await expectUnchanged(sql, () =>
      rejection(
        createOrder(sql, {
          customerId: 999_999,
          items: [
            { productId: 123_456, quantity: 1 },
            { productId: p[0]!, quantity: 1 },
          ],
        }),
      ),
    );
    expect(error).toMatchObject({ status: 404, code: 'CUSTOMER_NOT_FOUND', details: { customerId: 999_999 } });
  });

  it('404 PRODUCT_NOT_FOUND listing each missing id once, ascending', async () => {
    const error = await expectUnchanged(sql, () =>
      rejection(
        createOrder(sql, {
          customerId: customer,
          items: [
            { productId: 900_002, quantity: 1 },
            { productId: p[0]!, quantity: 1 },
            { productId: 900_001, quantity: 1 },
            { productId: 900_002, quantity: 1 },
          ],
        }),
      ),
    );
    expect(error).toMatchObject({ status: 404, code: 'PRODUCT_NOT_FOUND', details: { productIds: [900_001, 900_002] } });
  });

  it('409 INSUFFICIENT_STOCK listing each short product with requested (merged) and available', async () => {
    await setProduct(sql, p[1]!, { stock: 5 });
    await setProduct(sql, p[3]!, { stock: 0 });
    const error = await expectUnchanged(sql, () =>
      rejection(
        createOrder(sql, {
          customerId: customer,
          items: [
            { productId: p[3]!, quantity: 1 },
            { productId: p[1]!, quantity: 3 },
            { productId: p[0]!, quantity: 1 },
            { productId: p[1]!, quantity: 3 },
          ],
        }),
      ),
    );
    expect(error).toMatchObject({
      status: 409,
      code: 'INSUFFICIENT_STOCK',
      details: {
        products: [
          { productId: p[1], requested: 6, available: 5 },
          { productId: p[3], requested: 1, available: 0 },
        ],
      },
    });
  });

  it('422 ORDER_TOTAL_TOO_LARGE when the total overflows numeric(12,2)', async () => {
    await setProduct(sql, p[0]!, { price: '9999999999.99' });
    const error = await expectUnchanged(sql, () =>
      rejection(createOrder(sql, { customerId: customer, items: [{ productId: p[0]!, quantity: 2 }] })),
    );
    expect(error).toMatchObject({ status: 422, code: 'ORDER_TOTAL_TOO_LARGE' });
  });

  it('400 VALIDATION_ERROR for a malformed idempotency key passed to the domain function', async () => {
    const error = await expectUnchanged(sql, () =>
      rejection(createOrder(sql, { customerId: customer, items: [{ productId: p[0]!, quantity: 1 }] }, { idempotencyKey: 'has space' })),
    );
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });
});

describe('createOrder: idempotency keys', () => {
  const input = (): CreateOrderInput => ({
    customerId: customer,
    items: [
      { productId: p[0]!, quantity: 1 },
      { productId: p[1]!, quantity: 2 },
    ],
  });

  it('a replay returns the stored answer, writes nothing and says so', async () => {
    const first = await createOrder(sql, input(), { idempotencyKey: 'order-1' });
    expect(first.replayed).toBe(false);
    const again = await expectUnchanged(sql, () => createOrder(sql, input(), { idempotencyKey: 'order-1' }));
    expect(again).toEqual({ order: first.order, replayed: true });
    expect(JSON.stringify(again.order)).toBe(JSON.stringify(first.order));
    const [key] =
      await sql`select order_id, extract(epoch from expires_at - created_at)::int as ttl from idempotency_keys where idempotency_key = 'order-1'`;
    expect(key!.order_id).toBe(first.order.orderId);
    expect(key!.ttl).toBe(IDEMPOTENCY_KEY_TTL_SECONDS);
    expect(IDEMPOTENCY_KEY_TTL_SECONDS).toBe(86_400);
  });

  it('the same order written differently (line order, split lines) is the same payload', async () => {
    const first = await createOrder(sql, input(), { idempotencyKey: 'order-2' });
    const rewritten = {
      customerId: customer,
      items: [
        { productId: p[1]!, quantity: 1 },
        { productId: p[0]!, quantity: 1 },
        { productId: p[1]!, quantity: 1 },
      ],
    };
    expect(await createOrder(sql, rewritten, { idempotencyKey: 'order-2' })).toEqual({ order: first.order, replayed: true });
  });

  it('a replay is answered even when the stock is gone by now', async () => {
    const first = await createOrder(sql, input(), { idempotencyKey: 'order-3' });
    await setProduct(sql, p[0]!, { stock: 0 });
    expect(await createOrder(sql, input(), { idempotencyKey: 'order-3' })).toEqual({ order: first.order, replayed: true });
  });

  it('422 IDEMPOTENCY_KEY_REUSED for the same key with another payload, database unchanged', async () => {
    await createOrder(sql, input(), { idempotencyKey: 'order-4' });
    const error = await expectUnchanged(sql, () =>
      rejection(createOrder(sql, { ...input(), items: [{ productId: p[0]!, quantity: 2 }] }, { idempotencyKey: 'order-4' })),
    );
    expect(error).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('a key is scoped to its customer: another customer with the same key gets its own order', async () => {
    const mine = await createOrder(sql, input(), { idempotencyKey: 'shared-key' });
    const theirs = await createOrder(sql, { ...input(), customerId: other }, { idempotencyKey: 'shared-key' });
    expect(theirs.replayed).toBe(false);
    expect(theirs.order.orderId).not.toBe(mine.order.orderId);
    expect(theirs.order.customerId).toBe(other);
  });

  it('a failed first attempt stores nothing: the same key may succeed later', async () => {
    await setProduct(sql, p[0]!, { stock: 0 });
    const error = await expectUnchanged(sql, () => rejection(createOrder(sql, input(), { idempotencyKey: 'order-5' })));
    expect(error.code).toBe('INSUFFICIENT_STOCK');
    await setProduct(sql, p[0]!, { stock: 10 });
    const retried = await createOrder(sql, input(), { idempotencyKey: 'order-5' });
    expect(retried.replayed).toBe(false);
    expect(await createOrder(sql, input(), { idempotencyKey: 'order-5' })).toEqual({ order: retried.order, replayed: true });
  });

  it('an expired key is ignored and taken over by the next order; purge removes expired keys only', async () => {
    const old = await createOrder(sql, input(), { idempotencyKey: 'order-6' });
    await createOrder(sql, input(), { idempotencyKey: 'order-7' });
    await sql`
      update idempotency_keys set created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
      where idempotency_key = 'order-6'`;
    const fresh = await createOrder(sql, input(), { idempotencyKey: 'order-6' });
    expect(fresh.replayed).toBe(false);
    expect(fresh.order.orderId).not.toBe(old.order.orderId);
    const [key] = await sql`select order_id, expires_at > now() as live from idempotency_keys where idempotency_key = 'order-6'`;
    expect(key).toMatchObject({ order_id: fresh.order.orderId, live: true });

    // Expire both; an expired key with another payload is not "reused" either.
    await sql`update idempotency_keys set expires_at = now() - interval '1 second', created_at = now() - interval '1 day'`;
    const state = await dbState(sql);
    expect(state.counts.keys).toBe(2);
    expect(await purgeExpiredIdempotencyKeys(sql, 1)).toBe(1);
    expect(await purgeExpiredIdempotencyKeys(sql)).toBe(1);
    expect(await purgeExpiredIdempotencyKeys(sql)).toBe(0);
    expect((await dbState(sql)).counts).toEqual({ ...state.counts, keys: 0 });
    // Orders stay; only the keys went.
    expect((await dbState(sql)).counts.orders).toBe(3);
  });
});
