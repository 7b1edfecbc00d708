/**
 * The hourly purge (functions/purgeExpired.ts → shared/housekeeping/purge-expired.ts) against the real
 * PostgreSQL and Mongo-protocol server: what is due goes, a batch at a time; nothing live goes; a run stops
 * between batches at its deadline and the next goes on; either store failing fails the run after the other had
 * its turn.
 */
import { MongoClient } from 'mongodb';
import postgres from 'postgres';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/purgeExpired.js';
import { saveCart } from '../../shared/carts/carts.js';
import { CARTS_COLLECTION } from '../../shared/carts/store.js';
import type { Sql } from '../../shared/clients/postgres.js';
import { PurgeFailedError, purgeExpired } from '../../shared/housekeeping/purge-expired.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { cartsAndShop, resetCarts } from '../carts/helpers.js';
import { openFreezingPostgres } from '../faults/helpers.js';
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

/** `sql` that runs `after` each time a statement is built (one per batch): a clock can move between batches. */
function afterEachBatch(after: () => void): Sql {
  return new Proxy(sql, {
    apply(target, self, args) {
      const query = Reflect.apply(target, self, args);
      after();
      return query;
    },
  });
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
    const before = await counts();
    expect(before).toMatchObject({ keys: 7, checkoutKeys: 3, cartVersions: 7 });

    const result = await purgeExpired({ sql, db: () => db }, { batchSize: 2 });
    expect(result).toEqual({ idempotencyKeys: 8, cartVersions: 5, complete: true });
    // The orders stay, and so do the live keys and carts.
    expect(await counts()).toEqual({ keys: 2, checkoutKeys: 0, orders: before.orders, cartVersions: 2 });
    const liveKeys = await sql`select idempotency_key from idempotency_keys order by 1`;
    expect(liveKeys.map((row) => row.idempotency_key)).toEqual(['order-5', 'order-6']);
    expect(await purgeExpired({ sql, db: () => db })).toEqual({ idempotencyKeys: 0, cartVersions: 0, complete: true });
  });

  it('starts no batch after its deadline or its signal; the next run goes on where it stopped', async () => {
    await keyedOrders(5, 0, 0);
    await cartVersions(2, 0);
    // The deadline's clock passes it once the first batch has been sent.
    let time = 0;
    const firstBatchThenLate = afterEachBatch(() => (time = 100));
    expect(await purgeExpired({ sql: firstBatchThenLate, db: () => db }, { batchSize: 2, deadline: 10, clock: () => time })).toEqual({
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

  it('a backlog of keys leaves the carts their turn: the keys take half the time to the deadline, then what the carts leave', async () => {
    await keyedOrders(5, 0, 0);
    await cartVersions(3, 0);
    // The first key statement takes the clock past half the time; the second, after the carts, to the deadline.
    let time = 0;
    let statements = 0;
    const slow = afterEachBatch(() => {
      statements += 1;
      time = statements === 1 ? 60 : 100;
    });
    expect(await purgeExpired({ sql: slow, db: () => db }, { batchSize: 2, deadline: 100, clock: () => time })).toEqual({
      idempotencyKeys: 4,
      cartVersions: 3,
      complete: false,
    });
  });

  it('never waits for a key another transaction holds: it skips it, and the key outlives the run', async () => {
    await keyedOrders(3, 0, 0);
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (locked = resolve));
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from idempotency_keys where idempotency_key = 'order-0' for update`;
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await held;
    try {
      expect(await purgeExpired({ sql, db: () => db })).toEqual({ idempotencyKeys: 2, cartVersions: 0, complete: true });
      expect((await sql`select idempotency_key from idempotency_keys`).map((row) => row.idempotency_key)).toEqual(['order-0']);
    } finally {
      release();
      await holder;
    }
    expect(await purgeExpired({ sql, db: () => db })).toMatchObject({ idempotencyKeys: 1 });
  });

  it('a PostgreSQL that cannot be reached fails the run, after the carts had their turn', async () => {
    await cartVersions(2, 1);
    const unreachable = postgres('postgres://postgres@127.0.0.1:1/shop_test', { connect_timeout: 1, max: 1 }) as unknown as Sql;
    try {
      const failure = await purgeExpired({ sql: unreachable, db: () => db }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(PurgeFailedError);
      expect((failure as PurgeFailedError).result).toEqual({ idempotencyKeys: 0, cartVersions: 2, complete: false });
      expect((failure as PurgeFailedError).message).toMatch(/ECONNREFUSED/);
      expect(await carts.countDocuments({})).toBe(1);
    } finally {
      await unreachable.end();
    }
  });

  it('a PostgreSQL connection that stops answering mid-batch does not keep the carts from their turn', async () => {
    // No statement timeout bounds a connection that went silent (a dead NAT entry): the batch is given up on
    // after `stallMs`, the carts are purged, and the run fails saying so.
    await keyedOrders(2, 0, 0);
    await cartVersions(2, 1);
    const proxy = await openFreezingPostgres();
    const frozen = postgres(proxy.url, { max: 1 }) as unknown as Sql;
    try {
      await frozen`select 1`;
      proxy.freeze();
      const started = performance.now();
      const failure = await purgeExpired({ sql: frozen, db: () => db }, { stallMs: 500, deadline: Date.now() + 60_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(failure).toBeInstanceOf(PurgeFailedError);
      expect((failure as PurgeFailedError).message).toMatch(/no answer in 500 ms/);
      expect((failure as PurgeFailedError).result).toEqual({ idempotencyKeys: 0, cartVersions: 2, complete: false });
      expect(await counts()).toMatchObject({ keys: 2, cartVersions: 1 });
    } finally {
      await frozen.end({ timeout: 0 });
      await proxy.close();
    }
  });

  it('a MongoDB that cannot be reached fails the run, after the keys are purged', async () => {
    await keyedOrders(3, 0, 0);
    const unreachable = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300 });
    try {
      const failure = await purgeExpired({ sql, db: () => unreachable.db('shop_test') }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(PurgeFailedError);
      expect((failure as PurgeFailedError).message).toMatch(/ECONNREFUSED|Server selection/);
      expect((failure as PurgeFailedError).result).toEqual({ idempotencyKeys: 3, cartVersions: 0, complete: false });
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
    // Its Lambda timeout (300 s): the run keeps 20 s of it back.
    const context = { ...lambdaContext('ecommerce-pipeline-test-purgeExpired'), getRemainingTimeInMillis: () => 300_000 };
    const result = await handler(scheduledEvent, context);
    expect(result).toEqual({ idempotencyKeys: 3, cartVersions: 1, complete: true });
    expect(await counts()).toMatchObject({ keys: 1, checkoutKeys: 0, cartVersions: 1 });
  });
});
