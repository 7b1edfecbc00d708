import { MongoClient } from 'mongodb';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { handler as checkoutHandler } from '../../functions/checkoutCart.js';
import { handler as getCartHandler } from '../../functions/getCart.js';
import { handler as saveCartHandler } from '../../functions/saveCart.js';
import { saveCart } from '../../shared/carts/carts.js';
import { checkoutCart } from '../../shared/carts/checkout.js';
import { toAppError } from '../../shared/http/error-response.js';
import type { Order } from '../../shared/orders/create-order.js';
import { cartsAndShop, invoke, snapshotCarts } from './helpers.js';

/** Checkout: the cart becomes an order through createOrder (real Postgres), then the cart is emptied. */
const STOCK = 20;
const { sql, db, fx } = cartsAndShop({ customers: 11, products: 4, stock: STOCK });

const customer = (i: number) => fx.customerIds[i]!;
const product = (i: number) => fx.productIds[i]!;

const put = (customerId: number, body: unknown) => invoke(saveCartHandler, { method: 'PUT', customerId: String(customerId), body });
const get = (customerId: number) => invoke(getCartHandler, { method: 'GET', customerId: String(customerId) });
const checkout = (customerId: number, headers?: Record<string, string>) =>
  invoke(checkoutHandler, { method: 'POST', customerId: String(customerId), suffix: '/checkout', ...(headers ? { headers } : {}) });

async function orderCount(customerId?: number): Promise<number> {
  const [row] =
    customerId === undefined
      ? await sql<Array<{ n: number }>>`select count(*)::int as n from orders`
      : await sql<Array<{ n: number }>>`select count(*)::int as n from orders where customer_id = ${customerId}`;
  return row!.n;
}

async function stockOf(productId: number): Promise<number> {
  const [row] = await sql<Array<{ stock: number }>>`select stock_quantity as stock from products where product_id = ${productId}`;
  return row!.stock;
}

/** A checkout whose MongoDB connection dies right after its order committed, so the cart is not emptied. */
async function checkoutCrashingAfterItsOrder(customerId: number) {
  const doomed = new MongoClient(process.env.MONGODB_URI!, { serverSelectionTimeoutMS: 500 });
  return checkoutCart({ db: doomed.db(process.env.MONGODB_DATABASE), sql, onNewOrder: () => doomed.close(true) }, customerId);
}

describe('checkout', () => {
  it('If-Match with an ETag names one stored version, its expiry included: the same number with another expiry (an earlier cart, purged since) is 412', async () => {
    const c = customer(10);
    const saved = await saveCart(db, c, { items: [{ productId: product(3), quantity: 1 }] });
    const earlier = { version: saved.version, expiresAt: new Date(Date.parse(saved.expiresAt) - 60_000) };
    const orders = await orderCount(c);
    await expect(checkoutCart({ db, sql }, c, { ifMatch: earlier })).rejects.toMatchObject({ status: 412, code: 'VERSION_CONFLICT' });
    expect(await orderCount(c)).toBe(orders);
    expect((await get(c)).body).toEqual(saved);
  });

  it('places the order (same lines, prices from Postgres), decrements stock and empties the cart', async () => {
    const c = customer(0);
    const saved = await put(c, {
      items: [
        { productId: product(0), quantity: 2, attributes: { size: 'M' } },
        { productId: product(1), quantity: 1 },
        { productId: product(0), quantity: 1, attributes: { size: 'L' } },
      ],
      note: 'ring twice',
    });
    expect(saved.status).toBe(200);
    const stock0 = await stockOf(product(0));

    const response = await checkout(c);
    expect(response.status).toBe(201);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    const order = response.body as Order;
    expect(response.headers.location).toBe(`/orders/${order.orderId}`);
    expect(order).toMatchObject({
      customerId: c,
      items: [
        { productId: product(0), quantity: 3 },
        { productId: product(1), quantity: 1 },
      ],
    });
    const [stored] = await sql`select customer_id, total_amount::text as total from orders where order_id = ${order.orderId}`;
    expect(stored).toEqual({ customer_id: c, total: order.totalAmount });
    expect(await stockOf(product(0))).toBe(stock0 - 3);

    const after = await get(c);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ customerId: c, items: [], version: saved.body.version + 1 });
    expect(after.body).not.toHaveProperty('note');
    // Nothing left to order: a second checkout is 409, not a second order.
    const again = await checkout(c);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CART_EMPTY');
    expect(await orderCount(c)).toBe(1);
  });

  it('insufficient stock: 409 INSUFFICIENT_STOCK as POST /orders answers it; cart kept, nothing ordered', async () => {
    const c = customer(1);
    await put(c, {
      items: [
        { productId: product(2), quantity: STOCK + 1 },
        { productId: product(3), quantity: 1 },
      ],
    });
    const cartsBefore = await snapshotCarts(db);
    const stockBefore = [await stockOf(product(2)), await stockOf(product(3))];
    const ordersBefore = await orderCount();

    const response = await checkout(c, { 'Idempotency-Key': 'stock-1' });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      details: { products: [{ productId: product(2), requested: STOCK + 1, available: STOCK }] },
    });
    expect(await snapshotCarts(db)).toEqual(cartsBefore);
    expect([await stockOf(product(2)), await stockOf(product(3))]).toEqual(stockBefore);
    expect(await orderCount()).toBe(ordersBefore);
    // Once the cart is fixed the same key works (a failed attempt stores nothing under it).
    await put(c, { items: [{ productId: product(2), quantity: 1 }] });
    expect((await checkout(c, { 'Idempotency-Key': 'stock-1' })).status).toBe(201);
  });

  it('unknown product or customer: the orders errors (404), cart kept', async () => {
    await put(customer(2), { items: [{ productId: 999_999, quantity: 1 }] });
    const before = await snapshotCarts(db);
    const unknownProduct = await checkout(customer(2));
    expect(unknownProduct.status).toBe(404);
    expect(unknownProduct.body.error).toMatchObject({ code: 'PRODUCT_NOT_FOUND', details: { productIds: [999_999] } });

    await put(888_888, { items: [{ productId: product(0), quantity: 1 }] });
    const unknownCustomer = await checkout(888_888);
    expect(unknownCustomer.status).toBe(404);
    expect(unknownCustomer.body.error.code).toBe('CUSTOMER_NOT_FOUND');
    expect((await snapshotCarts(db)).filter((doc: any) => doc.customerId !== 888_888)).toEqual(before);
  });

  it('replay with the same Idempotency-Key: one order, the same body, Idempotent-Replayed: true', async () => {
    const c = customer(3);
    await put(c, { items: [{ productId: product(1), quantity: 2 }] });
    const ordersBefore = await orderCount();
    const first = await checkout(c, { 'Idempotency-Key': 'replay-key-1' });
    expect(first.status).toBe(201);
    const second = await checkout(c, { 'Idempotency-Key': 'replay-key-1' });
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await orderCount()).toBe(ordersBefore + 1);
    // Another key (or none) on the emptied cart is not a replay: there is nothing to order.
    expect((await checkout(c, { 'Idempotency-Key': 'replay-key-2' })).status).toBe(409);
    expect((await checkout(c)).status).toBe(409);
    // The key survives a later cart change: a late retry still replays instead of ordering the new cart.
    await put(c, { items: [{ productId: product(0), quantity: 1 }] });
    const late = await checkout(c, { 'Idempotency-Key': 'replay-key-1' });
    expect(late.status).toBe(201);
    expect(late.headers['idempotent-replayed']).toBe('true');
    expect(late.body.orderId).toBe(first.body.orderId);
    expect(await orderCount()).toBe(ordersBefore + 1);
  });

  it('crash window: order committed, cart not emptied ⇒ any retry replays that order, never a second one', async () => {
    const c = customer(4);
    await put(c, { items: [{ productId: product(3), quantity: 2 }] });
    const stockBefore = await stockOf(product(3));
    // A checkout whose Mongo connection dies right after the order committed (the client is closed
    // in the post-order hook, so emptying the cart fails) — what a crash at that point leaves behind.
    const doomed = new MongoClient(process.env.MONGODB_URI!, { serverSelectionTimeoutMS: 500 });
    const notified: number[] = [];
    const crashed = await checkoutCart(
      {
        db: doomed.db(process.env.MONGODB_DATABASE),
        sql,
        onNewOrder: async (order) => {
          notified.push(order.orderId);
          await doomed.close(true);
        },
      },
      c,
      { idempotencyKey: 'first-attempt' },
    );
    expect(crashed.cartEmptied).toBe(false);
    expect(crashed.replayed).toBe(false);
    expect((await get(c)).body.items).toHaveLength(1); // still full

    // The retry uses another key (a client that lost its state): still the same order, replayed.
    const retry = await checkout(c, { 'Idempotency-Key': 'second-attempt' });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(crashed.order);
    expect((await get(c)).body.items).toEqual([]);
    expect(await orderCount(c)).toBe(1);
    expect(await stockOf(product(3))).toBe(stockBefore - 2);
    expect(notified).toEqual([crashed.order.orderId]); // the leaderboard heard of it once
  });

  it('a crash retry without any key replays too (the order key comes from the cart version)', async () => {
    const c = customer(5);
    await put(c, { items: [{ productId: product(1), quantity: 1 }] });
    const crashed = await checkoutCrashingAfterItsOrder(c);
    expect(crashed.cartEmptied).toBe(false);
    const retry = await checkout(c);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.orderId).toBe(crashed.order.orderId);
    expect(await orderCount(c)).toBe(1);
  });

  it('crash window, then a day later: the cart version still there is still that order, never a second one', async () => {
    const c = customer(8);
    await put(c, { items: [{ productId: product(0), quantity: 1 }] });
    const crashed = await checkoutCrashingAfterItsOrder(c);
    expect(crashed.cartEmptied).toBe(false);
    // 25 hours pass (a cart lives 7 days): every key of that checkout is as old as it would be by then.
    await sql`update idempotency_keys set created_at = created_at - interval '25 hours', expires_at = expires_at - interval '25 hours'
              where customer_id = ${c}`;
    const later = await checkout(c);
    expect(later.status).toBe(201);
    expect([later.headers['idempotent-replayed'], later.body.orderId]).toEqual(['true', crashed.order.orderId]);
    expect(await orderCount(c)).toBe(1);
    expect((await get(c)).body.items).toEqual([]);
  });

  it('a retry with a known key while MongoDB is down still answers its order (from PostgreSQL), cart not emptied', async () => {
    const c = customer(9);
    await put(c, { items: [{ productId: product(1), quantity: 1 }] });
    const first = await checkout(c, { 'Idempotency-Key': 'replay-while-mongo-down' });
    expect(first.status).toBe(201);
    const down = new MongoClient(process.env.MONGODB_URI!, { serverSelectionTimeoutMS: 300 });
    await down.close(true);
    const retried = await checkoutCart({ db: down.db(process.env.MONGODB_DATABASE), sql }, c, {
      idempotencyKey: 'replay-while-mongo-down',
    });
    expect(retried).toEqual({ order: first.body, replayed: true, cartEmptied: false });
    expect(await orderCount(c)).toBe(1);
  });

  it('concurrent checkouts of one cart (any keys) place exactly one order', async () => {
    const c = customer(6);
    await put(c, { items: [{ productId: product(2), quantity: 1 }] });
    const stockBefore = await stockOf(product(2));
    const responses = await Promise.all([
      checkout(c),
      checkout(c, { 'Idempotency-Key': 'tab-a' }),
      checkout(c, { 'Idempotency-Key': 'tab-b' }),
      checkout(c),
      checkout(c, { 'Idempotency-Key': 'tab-a' }),
    ]);
    for (const response of responses) expect([201, 409]).toContain(response.status);
    const created = responses.filter((r) => r.status === 201);
    expect(new Set(created.map((r) => r.body.orderId)).size).toBe(1);
    expect(created.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(await orderCount(c)).toBe(1);
    expect(await stockOf(product(2))).toBe(stockBefore - 1);
    expect((await get(c)).body.items).toEqual([]);
  });

  it('missing cart 404, empty cart 409, stale If-Match 412, more lines than an order takes 400 — nothing ordered', async () => {
    const c = customer(7);
    const ordersBefore = await orderCount();
    expect((await checkout(c)).body.error.code).toBe('CART_NOT_FOUND');
    await put(c, { items: [] });
    const empty = await checkout(c);
    expect([empty.status, empty.body.error.code]).toEqual([409, 'CART_EMPTY']);
    const full = await put(c, { items: [{ productId: product(0), quantity: 1 }] });
    const stale = await checkout(c, { 'If-Match': String(full.body.version - 1) });
    expect([stale.status, stale.body.error.code]).toEqual([412, 'VERSION_CONFLICT']);
    // A cart holds no more lines than an order takes: what validates as a cart can be checked out.
    const tooMany = await put(c, { items: Array.from({ length: 51 }, () => ({ productId: product(0), quantity: 1 })) });
    expect([tooMany.status, tooMany.body.error.code]).toEqual([400, 'VALIDATION_ERROR']);
    const fullest = await put(c, { items: Array.from({ length: 50 }, () => ({ productId: product(0), quantity: 1 })) });
    expect(fullest.status).toBe(200);
    // It reaches the order itself: 50 units of a product with 20 in stock are refused for stock, not shape.
    const ordered = await checkout(c, { 'If-Match': String(fullest.body.version) });
    expect([ordered.status, ordered.body.error.code]).toEqual([409, 'INSUFFICIENT_STOCK']);
    expect(await orderCount()).toBe(ordersBefore);
    // If-Match with the current version is accepted.
    const current = await put(c, { items: [{ productId: product(0), quantity: 1 }] });
    expect((await checkout(c, { 'If-Match': String(current.body.version) })).status).toBe(201);
  });

  it('MongoDB unreachable: 503 CART_STORE_UNAVAILABLE before any order is placed', async () => {
    const c = customer(0);
    await saveCart(db, c, { items: [{ productId: product(0), quantity: 1 }] });
    const ordersBefore = await orderCount();
    const unreachable = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
    try {
      const error = await checkoutCart({ db: unreachable.db('shop_test'), sql }, c).catch((e: unknown) => e);
      const mapped = toAppError(error);
      expect(mapped.status).toBe(503);
      expect(mapped.code).toBe('CART_STORE_UNAVAILABLE');
      expect(mapped.headers?.['Retry-After']).toBeDefined();
    } finally {
      await unreachable.close();
    }
    expect(await orderCount()).toBe(ordersBefore);
  });

  it('PostgreSQL unreachable once the cart is read: 503 DATABASE_UNAVAILABLE, the cart as it was, nothing ordered', async () => {
    const c = customer(1);
    await saveCart(db, c, { items: [{ productId: product(1), quantity: 2 }] });
    const cartBefore = await snapshotCarts(db);
    const ordersBefore = await orderCount();
    const unreachable = postgres('postgres://postgres@127.0.0.1:1/shop_test', { connect_timeout: 1, max: 1 }) as unknown as typeof sql;
    try {
      const error = await checkoutCart({ db, sql: unreachable }, c).catch((e: unknown) => e);
      const mapped = toAppError(error);
      expect([mapped.status, mapped.code]).toEqual([503, 'DATABASE_UNAVAILABLE']);
      expect(mapped.headers?.['Retry-After']).toBeDefined();
    } finally {
      await unreachable.end();
    }
    // Nothing written to MongoDB before the order exists: the cart is the same version, not emptied.
    expect(await snapshotCarts(db)).toEqual(cartBefore);
    expect(await orderCount()).toBe(ordersBefore);
  });
});
