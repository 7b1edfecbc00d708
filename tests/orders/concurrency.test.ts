/**
 * createOrder under real concurrency (in-process calls through a pool of 20 connections): exact
 * stock, no surfaced deadlocks, exactly one order per idempotency key, and the deadlock retry.
 */
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { logger } from '../../shared/logger.js';
import { type CreateOrderInput, type CreateOrderResult, createOrder } from '../../shared/orders/create-order.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { dbState, ordersPool, orphanOrders, randomInt, seededRandom, setProduct, shuffle } from './helpers.js';

const sql = testSql();
const pool = ordersPool(20);
let fx: Fixtures;

beforeEach(async () => {
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 20, products: 20, stock: 100 });
});

afterAll(async () => {
  await pool.end();
  await sql.end();
});

type Outcome = { ok: true; result: CreateOrderResult } | { ok: false; error: unknown };

const attempt = (input: CreateOrderInput, idempotencyKey?: string): Promise<Outcome> =>
  createOrder(pool, input, { idempotencyKey }).then(
    (result) => ({ ok: true, result }),
    (error: unknown) => ({ ok: false, error }),
  );

const code = (outcome: Outcome) =>
  outcome.ok ? 'CREATED' : outcome.error instanceof AppError ? outcome.error.code : String(outcome.error);

function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[code(outcome)] = (counts[code(outcome)] ?? 0) + 1;
  return counts;
}

/** Backends of the orders pool currently waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`
    select count(*)::int as n from pg_stat_activity
    where application_name = 'ecommerce-pipeline-orders-tests' and wait_event_type = 'Lock' and datname = current_database()`;
  return row!.n;
}

/**
 * Holds the given product rows locked while `start` fires its calls, until `waiters` of them are
 * blocked on those locks, then commits: the calls are then truly in flight together (each has its
 * snapshot), instead of finishing one by one as they happen to reach the server.
 */
async function whileLocked<T>(productIds: number[], waiters: number, start: () => Array<Promise<T>>): Promise<T[]> {
  let calls: Array<Promise<T>> = [];
  await sql.begin(async (tx) => {
    await tx`select 1 from products where product_id in ${tx(productIds)} order by product_id for update`;
    calls = start();
    for (let i = 0; i < 500 && (await lockWaiters()) < waiters; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await lockWaiters()).toBeGreaterThanOrEqual(waiters);
  });
  return Promise.all(calls);
}

describe('createOrder under concurrency', () => {
  it('300 concurrent single-unit orders for a product with stock 50: exactly 50 created, 250 × 409', async () => {
    const productId = fx.productIds[0]!;
    await setProduct(sql, productId, { stock: 50 });
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => attempt({ customerId: fx.customerIds[i % 20]!, items: [{ productId, quantity: 1 }] })),
    );
    expect(tally(outcomes)).toEqual({ CREATED: 50, INSUFFICIENT_STOCK: 250 });
    for (const outcome of outcomes) {
      if (!outcome.ok) expect((outcome.error as AppError).details).toEqual({ products: [{ productId, requested: 1, available: 0 }] });
    }
    const [stock] = await sql`select stock_quantity from products where product_id = ${productId}`;
    expect(stock!.stock_quantity).toBe(0);
    const state = await dbState(sql);
    expect(state.counts).toMatchObject({ orders: 50, orderItems: 50 });
    expect(await orphanOrders(sql)).toBe(0);
    const ids = outcomes.flatMap((o) => (o.ok ? [o.result.order.orderId] : []));
    expect(new Set(ids).size).toBe(50);
  });

  it('16 workers, random multi-item orders in random item order over 20 products: no 5xx, no deadlock, stock adds up', async () => {
    const seed = Date.now() % 1_000_000;
    // Locks are taken in ascending id order, so no deadlock may even occur (a retry would hide one).
    const info = vi.spyOn(logger, 'info');
    const initial = await sql<Array<{ id: number; stock: number }>>`select product_id as id, stock_quantity as stock from products`;
    const failures: unknown[] = [];
    const created: number[] = [];
    const rejected: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        const random = seededRandom(seed * 31 + worker);
        for (let n = 0; n < 25; n++) {
          const lines = randomInt(random, 1, 6);
          const items = Array.from({ length: lines }, () => ({
            productId: fx.productIds[randomInt(random, 0, 19)]!,
            quantity: randomInt(random, 1, 5),
          }));
          const outcome = await attempt({ customerId: fx.customerIds[worker]!, items: shuffle(random, items) });
          if (outcome.ok) created.push(outcome.result.order.orderId);
          else if (outcome.error instanceof AppError && outcome.error.status < 500)
            rejected[outcome.error.code] = (rejected[outcome.error.code] ?? 0) + 1;
          else failures.push(outcome.error);
        }
      }),
    );
    const retries = info.mock.calls.filter(([message]) => message === 'order transaction retried');
    info.mockRestore();
    expect(retries, `seed ${seed}`).toEqual([]);
    expect(failures, `seed ${seed}`).toEqual([]);
    expect(
      Object.keys(rejected).filter((c) => c !== 'INSUFFICIENT_STOCK'),
      `seed ${seed}`,
    ).toEqual([]);
    expect(created.length + (rejected.INSUFFICIENT_STOCK ?? 0)).toBe(400);
    expect(created.length).toBeGreaterThan(0);

    const sold = await sql<Array<{ id: number; stock: number; sold: number }>>`
      select p.product_id as id, p.stock_quantity as stock, coalesce(sum(i.quantity), 0)::int as sold
      from products p left join order_items i using (product_id)
      group by p.product_id`;
    const initialStock = new Map(initial.map((row) => [row.id, row.stock]));
    for (const row of sold) {
      expect(initialStock.get(row.id)! - row.stock, `product ${row.id}, seed ${seed}`).toBe(row.sold);
      expect(row.stock).toBeGreaterThanOrEqual(0);
    }
    expect((await dbState(sql)).counts.orders).toBe(created.length);
    expect(await orphanOrders(sql)).toBe(0);
  });

  it('the same Idempotency-Key sent 50 times concurrently: one order, 50 identical answers', async () => {
    const input = {
      customerId: fx.customerIds[0]!,
      items: [
        { productId: fx.productIds[3]!, quantity: 2 },
        { productId: fx.productIds[1]!, quantity: 1 },
      ],
    };
    // All 20 pooled statements start (and take their snapshots) before any of them can commit.
    const outcomes = await whileLocked([fx.productIds[1]!], 20, () => Array.from({ length: 50 }, () => attempt(input, 'checkout-7f3a')));
    expect(tally(outcomes)).toEqual({ CREATED: 50 });
    const results = outcomes.map((o) => (o as { result: CreateOrderResult }).result);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.order))).size).toBe(1);
    const state = await dbState(sql);
    expect(state.counts).toMatchObject({ orders: 1, orderItems: 2, keys: 1 });
    expect(state.stock.find((s) => s.productId === fx.productIds[3])!.stock).toBe(98);
    expect(state.stock.find((s) => s.productId === fx.productIds[1])!.stock).toBe(99);
  });

  it('the same key raced for the last units: duplicates replay the winner instead of answering 409', async () => {
    const productId = fx.productIds[6]!;
    await setProduct(sql, productId, { stock: 2 });
    const input = { customerId: fx.customerIds[3]!, items: [{ productId, quantity: 2 }] };
    const outcomes = await whileLocked([productId], 10, () => Array.from({ length: 10 }, () => attempt(input, 'last-units')));
    expect(tally(outcomes)).toEqual({ CREATED: 10 });
    const results = outcomes.map((o) => (o as { result: CreateOrderResult }).result);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.order))).size).toBe(1);
    expect((await dbState(sql)).counts).toMatchObject({ orders: 1, keys: 1 });
  });

  it('one key, two payloads raced: exactly one order; its payload is replayed, the other gets 422', async () => {
    const customerId = fx.customerIds[1]!;
    const a = { customerId, items: [{ productId: fx.productIds[0]!, quantity: 1 }] };
    const b = { customerId, items: [{ productId: fx.productIds[5]!, quantity: 1 }] };
    const outcomes = await whileLocked([fx.productIds[0]!, fx.productIds[5]!], 20, () =>
      Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? a : b, 'raced-key')),
    );
    const state = await dbState(sql);
    expect(state.counts).toMatchObject({ orders: 1, keys: 1 });
    const [order] = await sql`select order_id from orders`;
    const winners = outcomes.filter((o) => o.ok);
    expect(new Set(winners.map((o) => (o.ok ? o.result.order.orderId : 0)))).toEqual(new Set([order!.order_id]));
    expect(winners).toHaveLength(10);
    expect(tally(outcomes)).toEqual({ CREATED: 10, IDEMPOTENCY_KEY_REUSED: 10 });
  });

  it('concurrent duplicates of a first attempt that fails (no stock) all fail and store no key', async () => {
    await setProduct(sql, fx.productIds[2]!, { stock: 0 });
    const before = await dbState(sql);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        attempt({ customerId: fx.customerIds[2]!, items: [{ productId: fx.productIds[2]!, quantity: 1 }] }, 'doomed'),
      ),
    );
    expect(tally(outcomes)).toEqual({ INSUFFICIENT_STOCK: 20 });
    expect(await dbState(sql)).toEqual(before);
  });

  it('a deadlock with another transaction is retried, never surfaced', async () => {
    // The order's session detects deadlocks after 50 ms; the other transaction waits 10 s, so the
    // order is the chosen victim: it must retry and then succeed once the other one commits.
    const victimPool = ordersPool(1, { deadlock_timeout: '50ms' });
    const [p1, p2] = fx.productIds as [number, number];
    const retried = vi.spyOn(logger, 'info');
    try {
      let orderIsWaiting!: () => void;
      const waiting = new Promise<void>((resolve) => (orderIsWaiting = resolve));
      let otherHolds!: () => void;
      const holds = new Promise<void>((resolve) => (otherHolds = resolve));
      const other = sql.begin(async (tx) => {
        await tx`set local deadlock_timeout = '10s'`;
        await tx`select 1 from products where product_id = ${p2} for update`;
        otherHolds();
        await waiting;
        // Takes the lock the order holds (p1) while the order waits for p2: a deadlock cycle.
        await tx`select 1 from products where product_id = ${p1} for update`;
      });
      await holds;
      const order = createOrder(victimPool, {
        customerId: fx.customerIds[0]!,
        items: [
          { productId: p2, quantity: 1 },
          { productId: p1, quantity: 1 },
        ],
      });
      for (let i = 0; i < 200 && (await lockWaiters()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      orderIsWaiting();
      await other;
      const { order: placed } = await order;
      expect(placed.items.map((i) => i.productId)).toEqual([p1, p2].sort((x, y) => x - y));
      expect(retried).toHaveBeenCalledWith('order transaction retried', expect.objectContaining({ code: '40P01' }));
    } finally {
      retried.mockRestore();
      await victimPool.end();
    }
  });
});
