/**
 * The hourly purge (functions/purgeExpired.ts → shared/housekeeping/purge-expired.ts) against the real
 * PostgreSQL and Mongo-protocol server: what is due goes, a batch at a time; nothing live goes; a run stops
 * between batches at its deadline and the next goes on; a MongoDB that is down fails the run only after
 * PostgreSQL's keys are done.
 */
import { MongoClient } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/purgeExpired.js';
import { saveCart } from '../../shared/carts/carts.js';
import { CARTS_COLLECTION } from '../../shared/carts/store.js';
import { purgeExpired } from '../../shared/housekeeping/purge-expired.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { cartsAndShop, resetCarts } from '../carts/helpers.js';
import { lambdaContext } from '../helpers/lambda.js';

const { sql, db, fx } = cartsAndShop({ customers: 3, products: 2, stock: 1_000 });
const carts = db.collection(CARTS_COLLECTION);

/** Keyed orders (`keys` POST /orders keys, `checkoutKeys` of them also with a checkout key), all expired but `live`. */
async function keyedOrders(keys: number, checkoutKeys: number, live: number): Promise<void> {
  const [customerId] = fx.customerIds as [number];
  for (let n = 0; n < keys + live; n++) {
    await createOrder(
      sql,
      { customerId, items: [{ productId: fx.productIds[0]!, quantity: 1 }] },
      { idempotencyKey: `order-${n}`, ...(n < checkoutKeys ? { checkoutKey: `checkout-${n}` } : {}) },
    );
  }
  const expired = Array.from({ length: keys }, (_, n) => `order-${n}`);
  await sql`update idempotency_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
            where idempotency_key = any(${expired})`;
  await sql`update checkout_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 day'`;
}

/** Carts of `due` customers past their purgeAt and `live` customers' live ones. */
async function cartVersions(due: number, live: number): Promise<void> {
  for (let n = 0; n < due + live; n++) await saveCart(db, 9_000 + n, { items: [{ productId: 1, quantity: 1 }] });
  await carts.updateMany({ customerId: { $lt: 9_000 + due } }, { $set: { purgeAt: new Date(Date.now() - 60_000) } });
}

const counts = async () => {
  const [row] = await sql<[{ keys: number; checkoutKeys: number; orders: number }]>`
    select (select count(*) from idempotency_keys)::int as keys, (select count(*) from checkout_keys)::int as "checkoutKeys",
           (select count(*) from orders)::int as orders`;
  return { ...row, cartVersions: await carts.countDocuments({}) };
};

beforeEach(async () => {
  await sql`truncate idempotency_keys, checkout_keys`;
  await resetCarts(db);
});

describe('purgeExpired', () => {
  it('deletes every expired key of both kinds and every cart version past purgeAt, a batch at a time, and nothing live', async () => {
    await keyedOrders(5, 3, 2);
    await cartVersions(5, 2);
    expect(await counts()).toMatchObject({ keys: 7, checkoutKeys: 3, orders: 7, cartVersions: 7 });

    const result = await purgeExpired({ sql, db: () => db }, { batchSize: 2 });
    expect(result).toEqual({ idempotencyKeys: 8, cartVersions: 5, complete: true });
    // The orders stay, and so do the live keys and carts.
    expect(await counts()).toEqual({ keys: 2, checkoutKeys: 0, orders: 7, cartVersions: 2 });
    const liveKeys = await sql`select idempotency_key from idempotency_keys order by 1`;
    expect(liveKeys.map((row) => row.idempotency_key)).toEqual(['order-5', 'order-6']);
    expect(await purgeExpired({ sql, db: () => db })).toEqual({ idempotencyKeys: 0, cartVersions: 0, complete: true });
  });

  it('starts no batch after its deadline or its signal; the next run goes on where it stopped', async () => {
    await keyedOrders(5, 0, 0);
    await cartVersions(2, 0);
    // A clock that moves an hour per reading: the first batch starts before the deadline, the second after.
    let clock = Date.now();
    const hourly = () => (clock += 3_600_000);
    const deadline = Date.now() + 1.5 * 3_600_000;
    expect(await purgeExpired({ sql, db: () => db }, { batchSize: 2, deadline, now: hourly })).toEqual({
      idempotencyKeys: 2,
      cartVersions: 0,
      complete: false,
    });
    expect(await counts()).toMatchObject({ keys: 3, cartVersions: 2 });

    const stopped = new AbortController();
    stopped.abort();
    expect(await purgeExpired({ sql, db: () => db }, { signal: stopped.signal })).toEqual({
      idempotencyKeys: 0,
      cartVersions: 0,
      complete: false,
    });
    expect(await purgeExpired({ sql, db: () => db }, { batchSize: 2 })).toEqual({ idempotencyKeys: 3, cartVersions: 2, complete: true });
  });

  it('a MongoDB that cannot be reached fails the run, after the keys are purged', async () => {
    await keyedOrders(3, 0, 0);
    const unreachable = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300 });
    try {
      await expect(purgeExpired({ sql, db: () => unreachable.db('shop_test') })).rejects.toThrow(/ECONNREFUSED|Server selection/);
      expect(await counts()).toMatchObject({ keys: 0 });
    } finally {
      await unreachable.close();
    }
  });
});

describe('the scheduled function', () => {
  it('purges through the stage’s clients and returns what it did', async () => {
    await keyedOrders(2, 1, 1);
    await cartVersions(1, 1);
    const scheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    // Its Lambda timeout (300 s): the run keeps 10 s of it back.
    const context = { ...lambdaContext('ecommerce-pipeline-test-purgeExpired'), getRemainingTimeInMillis: () => 300_000 };
    const result = await handler(scheduledEvent, context);
    expect(result).toEqual({ idempotencyKeys: 3, cartVersions: 1, complete: true });
    expect(await counts()).toMatchObject({ keys: 1, checkoutKeys: 0, cartVersions: 1 });
  });
});
