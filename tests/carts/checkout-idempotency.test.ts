import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handler as checkoutHandler } from '../../functions/checkoutCart.js';
import { handler as deleteCartHandler } from '../../functions/deleteCart.js';
import { handler as getCartHandler } from '../../functions/getCart.js';
import { handler as saveCartHandler } from '../../functions/saveCart.js';
import { saveCart } from '../../shared/carts/carts.js';
import { cartOrderKey } from '../../shared/carts/checkout.js';
import { readNewestVersion } from '../../shared/carts/store.js';
import type { Sql } from '../../shared/clients/postgres.js';
import { createOrder, type Order } from '../../shared/orders/create-order.js';
import { adminBearer, bearerFor } from '../helpers/auth.js';
import { cartsAndShop, invoke, sleep } from './helpers.js';

/**
 * A checkout's Idempotency-Key maps to its order for the key's whole lifetime, whatever happens to the
 * cart afterwards: other checkouts in between, an edit racing the checkout, the cart deleted or expired.
 */
const { sql, db, fx } = cartsAndShop({ customers: 60, products: 4, stock: 100_000 });

const customer = (i: number) => fx.customerIds[i]!;
const product = (i: number) => fx.productIds[i]!;
const put = (customerId: number, body: unknown) => invoke(saveCartHandler, { method: 'PUT', customerId: String(customerId), body });
const get = (customerId: number) => invoke(getCartHandler, { method: 'GET', customerId: String(customerId) });
const remove = (customerId: number) => invoke(deleteCartHandler, { method: 'DELETE', customerId: String(customerId) });
const checkout = (customerId: number, key?: string, authorization?: string) =>
  invoke(checkoutHandler, {
    method: 'POST',
    customerId: String(customerId),
    suffix: '/checkout',
    headers: { ...(key ? { 'Idempotency-Key': key } : {}), ...(authorization ? { Authorization: authorization } : {}) },
  });

async function ordersOf(customerId: number): Promise<number[]> {
  const rows = await sql<Array<{ id: number }>>`select order_id as id from orders where customer_id = ${customerId} order by order_id`;
  return rows.map((row) => row.id);
}

describe('a checkout Idempotency-Key', () => {
  it('K1, K2, then K1 again: the third is a replay of the first order, not a new one', async () => {
    const c = customer(0);
    await put(c, { items: [{ productId: product(0), quantity: 1 }] });
    const a = await checkout(c, 'k1-first');
    expect(a.status).toBe(201);
    await put(c, { items: [{ productId: product(1), quantity: 1 }] });
    const b = await checkout(c, 'k2-second');
    expect(b.status).toBe(201);
    expect(b.body.orderId).not.toBe(a.body.orderId);
    await put(c, { items: [{ productId: product(2), quantity: 1 }] });

    const late = await checkout(c, 'k1-first');
    expect(late.status).toBe(201);
    expect(late.headers['idempotent-replayed']).toBe('true');
    expect(late.body).toEqual(a.body);
    expect(await ordersOf(c)).toEqual([a.body.orderId, b.body.orderId]);
    // The cart the late retry did not order is still there.
    expect((await get(c)).body.items).toEqual([{ productId: product(2), quantity: 1 }]);
  });

  it('replays after the cart was deleted, and after it expired', async () => {
    const deleted = customer(1);
    await put(deleted, { items: [{ productId: product(0), quantity: 2 }] });
    const first = await checkout(deleted, 'replay-after-delete');
    expect(first.status).toBe(201);
    expect((await remove(deleted)).status).toBe(204);
    const again = await checkout(deleted, 'replay-after-delete');
    expect([again.status, again.headers['idempotent-replayed'], again.body.orderId]).toEqual([201, 'true', first.body.orderId]);

    const expired = customer(2);
    await put(expired, { items: [{ productId: product(1), quantity: 1 }] });
    const placed = await checkout(expired, 'replay-after-expiry');
    expect(placed.status).toBe(201);
    // The customer fills the cart again, then leaves it until it expires: written 2 s ago with a 1 s TTL.
    await saveCart(
      db,
      expired,
      { items: [{ productId: product(2), quantity: 1 }] },
      { ttlSeconds: 1, now: () => new Date(Date.now() - 2_000) },
    );
    expect((await get(expired)).status).toBe(404);
    const replayed = await checkout(expired, 'replay-after-expiry');
    expect([replayed.status, replayed.headers['idempotent-replayed'], replayed.body.orderId]).toEqual([201, 'true', placed.body.orderId]);
    expect(await ordersOf(deleted)).toHaveLength(1);
    expect(await ordersOf(expired)).toHaveLength(1);
  });

  it('the same key for another customer is refused (4xx), and orders nothing', async () => {
    const [a, b] = [customer(3), customer(4)];
    await put(a, { items: [{ productId: product(0), quantity: 1 }] });
    await put(b, { items: [{ productId: product(0), quantity: 1 }] });
    const admin = await adminBearer();
    expect((await checkout(a, 'shared-key', admin)).status).toBe(201);
    const other = await checkout(b, 'shared-key', admin);
    expect(other.status).toBeGreaterThanOrEqual(400);
    expect(other.status).toBeLessThan(500);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(JSON.stringify(other.body)).not.toContain(String(a)); // nothing of customer a's order
    expect(await ordersOf(b)).toEqual([]);
    expect((await get(b)).body.items).toHaveLength(1);
    // The customers' own tokens: b cannot read a's order through a's key either.
    const own = await checkout(b, 'shared-key', await bearerFor(b));
    expect(own.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('checkout racing an edit of the cart, in many interleavings: a retry with the key always replays the one order', async () => {
    let next = 10;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 }), async (checkoutDelay, editDelay) => {
        const c = customer(next++);
        const key = `race-${c}`;
        await put(c, { items: [{ productId: product(0), quantity: 1 }] });
        const [first, edit] = await Promise.all([
          sleep(checkoutDelay).then(() => checkout(c, key)),
          sleep(editDelay).then(() => put(c, { items: [{ productId: product(3), quantity: 7 }] })),
        ]);
        expect(edit.status).toBe(200);
        expect([201, 409]).toContain(first.status);
        const retry = await checkout(c, key);
        const orders = await ordersOf(c);
        if (first.status === 201) {
          // The retry answers the first order, whatever the edit did to the cart.
          expect([retry.status, retry.headers['idempotent-replayed'], retry.body.orderId]).toEqual([201, 'true', first.body.orderId]);
          expect(orders).toEqual([first.body.orderId]);
          // A checkout that placed its order left the cart emptied, or said it did not: then the edit
          // that raced it stands. If it did empty it, the cart is empty or is the edit made after that
          // (version 3: saved 1, emptied 2, edited 3).
          const cart = (await get(c)).body;
          if (first.headers['cart-emptied'] === 'false') expect(cart.items).toEqual(edit.body.items);
          else
            expect(cart.items.length === 0 || (cart.version === 3 && JSON.stringify(cart.items) === JSON.stringify(edit.body.items))).toBe(
              true,
            );
        } else {
          expect(orders.length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe('two checkouts of one cart version racing, the second with its own key', () => {
  /**
   * Checkout A places the cart's order in a transaction held open; checkout B (key `keyB`) then waits for
   * A's product row locks, so B's statement began before A's order key was committed; then A commits.
   */
  async function race(c: number, keyB: string): Promise<{ orderA: Order; b: Awaited<ReturnType<typeof checkout>> }> {
    const doc = (await readNewestVersion(db, c))!;
    const items = doc.items.map(({ productId, quantity }) => ({ productId, quantity }));
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let placed!: (order: Order) => void;
    const aPlaced = new Promise<Order>((resolve) => {
      placed = resolve;
    });
    const a = sql.begin(async (tx) => {
      const result = await createOrder(
        tx as unknown as Sql,
        { customerId: c, items },
        { idempotencyKey: cartOrderKey(doc), checkoutKey: `${keyB}-a` },
      );
      placed(result.order);
      await committing;
    });
    const orderA = await aPlaced;
    const b = checkout(c, keyB);
    try {
      await waitUntilAnOrderWaitsForALock();
    } finally {
      // Whatever happens, A's transaction ends: its row locks would hold up every later test.
      commit();
    }
    await a;
    return { orderA, b: await b };
  }

  async function waitUntilAnOrderWaitsForALock(): Promise<void> {
    for (const started = Date.now(); Date.now() - started < 10_000; await sleep(20)) {
      const [row] = await sql<Array<{ n: number }>>`
        select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%place_order%'`;
      if (row!.n > 0) return;
    }
    throw new Error('no order statement waited for the held locks');
  }

  async function checkoutKeyOrder(key: string): Promise<number | undefined> {
    const [row] = await sql<Array<{ orderId: number }>>`select order_id as "orderId" from checkout_keys where idempotency_key = ${key}`;
    return row?.orderId;
  }

  it('stock for both: B answers with A’s order, and its key maps to that order from then on', async () => {
    const c = customer(50);
    await put(c, { items: [{ productId: product(1), quantity: 2 }] });
    const { orderA, b } = await race(c, 'racing-b-stock');
    expect(b.status).toBe(201);
    expect([b.headers['idempotent-replayed'], b.body.orderId]).toEqual(['true', orderA.orderId]);
    expect(await ordersOf(c)).toEqual([orderA.orderId]);
    expect(await checkoutKeyOrder('racing-b-stock')).toBe(orderA.orderId);
    // The customer fills the cart again: B's key still answers A's order, it orders nothing new.
    await put(c, { items: [{ productId: product(2), quantity: 1 }] });
    const retry = await checkout(c, 'racing-b-stock');
    expect([retry.status, retry.headers['idempotent-replayed'], retry.body.orderId]).toEqual([201, 'true', orderA.orderId]);
    expect(await ordersOf(c)).toEqual([orderA.orderId]);
  });

  it('A takes the last units: B answers with A’s order, and its key maps to that order from then on', async () => {
    const c = customer(51);
    const p = product(3);
    const [{ stock }] = await sql<[{ stock: number }]>`select stock_quantity as stock from products where product_id = ${p}`;
    await sql`update products set stock_quantity = 3 where product_id = ${p}`;
    try {
      await put(c, { items: [{ productId: p, quantity: 3 }] });
      const { orderA, b } = await race(c, 'racing-b-last-units');
      expect(b.status).toBe(201);
      expect([b.headers['idempotent-replayed'], b.body.orderId]).toEqual(['true', orderA.orderId]);
      expect(await checkoutKeyOrder('racing-b-last-units')).toBe(orderA.orderId);
      await put(c, { items: [{ productId: product(2), quantity: 1 }] });
      const retry = await checkout(c, 'racing-b-last-units');
      expect([retry.status, retry.headers['idempotent-replayed'], retry.body.orderId]).toEqual([201, 'true', orderA.orderId]);
      expect(await ordersOf(c)).toEqual([orderA.orderId]);
    } finally {
      await sql`update products set stock_quantity = ${stock} where product_id = ${p}`;
    }
  });
});
