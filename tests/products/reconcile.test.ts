import type { Redis } from '@upstash/redis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as reconcileHandler } from '../../functions/reconcileTopProducts.js';
import { seed } from '../../scripts/db/seed.js';
import { createRedis } from '../../shared/clients/redis.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { encodeMember, topProductsKeys } from '../../shared/products/keys.js';
import { readLeaderboard, recordSale } from '../../shared/products/leaderboard.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import { DAY_MS, resolveWindow, startOfUtcDay, utcDay } from '../../shared/products/window.js';
import { testSql } from '../helpers/db.js';
import { lambdaContext } from '../helpers/lambda.js';
import { deleteTopProductsKeys, groundTruth, newRedis, type SalesFixture, seedSales, testConfig } from './helpers.js';

/**
 * The leaderboard heals from any partial loss and from any change Postgres went through behind its back:
 * after one reconcile cycle, every window equals the SQL truth. Each case: a leaderboard that reconcile
 * had fully built and checked, one thing lost or changed, then a sale arriving (recordSale recreates what
 * it touches), then one ordinary (auto) reconcile run.
 */
const NS = 'ecommerce-pipeline:test-products-reconcile';
const sql = testSql();
const redis: Redis = newRedis();
const keys = topProductsKeys(NS);
const WINDOWS = [undefined, 1, 2, 7, 30, 365];
let fixture: SalesFixture;
/** A day with sales before the recent days (no sale writes there). */
let olderSalesDay: string;

const reconcile = () => reconcileTopProducts({ sql, redis, namespace: NS }, { waitForLockMs: 15_000 });

async function expectEveryWindowTrue(label: string): Promise<void> {
  for (const days of WINDOWS) {
    const window = resolveWindow(days);
    const cached = await readLeaderboard({ sql, redis, namespace: NS }, window, 100, 5_000);
    expect(cached, `${label}: days=${days ?? 'all'}`).toEqual(await groundTruth(sql, 100, days));
  }
}

/** A sale committed and delivered to the leaderboard, as POST /orders does. */
async function sell(productIndex: number, quantity: number): Promise<void> {
  const { order } = await createOrder(sql, {
    customerId: fixture.customerIds[0]!,
    items: [{ productId: fixture.productIds[productIndex]!, quantity }],
  });
  await recordSale({ redis, namespace: NS, timeoutMs: 5_000 }, order);
}

beforeEach(async () => {
  await deleteTopProductsKeys(redis, NS);
  fixture = await seedSales(sql, { orders: 300 });
  // Built, then checked once: the state every later run starts from.
  expect((await reconcileTopProducts({ sql, redis, namespace: NS }, { mode: 'full', waitForLockMs: 15_000 })).mode).toBe('full');
  await sell(2, 1);
  expect((await reconcile()).mode).toBe('recent');
  await expectEveryWindowTrue('before');
  const [row] = await sql<[{ day: string }]>`
    select to_char(max(order_date) at time zone 'UTC', 'YYYY-MM-DD') as day from orders where order_date < now() - interval '8 days'`;
  olderSalesDay = row!.day;
});

afterAll(async () => {
  await deleteTopProductsKeys(redis, NS);
  await sql.end();
});

/**
 * The same Redis client, but `hook` runs right before a pipeline or MULTI whose commands `when` picks is
 * sent: a sale that lands exactly between two steps of a reconcile run.
 */
function hookBeforeSending(when: (commands: string[][]) => boolean, hook: () => Promise<void>, client: Redis = redis): Redis {
  const wrap = (make: () => any) => () => {
    const batch = make();
    const send = batch.exec.bind(batch);
    batch.exec = async (...args: unknown[]) => {
      if (when(batch.commands.map((c: { command: unknown[] }) => c.command.map(String)))) await hook();
      return send(...args);
    };
    return batch;
  };
  return new Proxy(client, {
    get(target, property) {
      if (property === 'pipeline') return wrap(() => target.pipeline());
      if (property === 'multi') return wrap(() => target.multi());
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A product of the fixture with no sale today (its next sale is its first of the day). */
async function productWithoutSalesToday(): Promise<number> {
  const sold = await sql<Array<{ id: number }>>`
    select distinct i.product_id as id from order_items i join orders o using (order_id)
    where o.order_date >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'`;
  const soldToday = new Set(sold.map((row) => row.id));
  const index = fixture.productIds.findIndex((id) => !soldToday.has(id));
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

const today = () => utcDay(Date.now());
const daysAgo = (n: number) => utcDay(Date.now() - n * 86_400_000);

describe('after one set is evicted and sales go on', () => {
  it.each([
    ['all-time units', () => keys.allUnits],
    ['all-time revenue', () => keys.allRevenue],
    ["today's units", () => keys.dayUnits(today())],
    ["today's revenue", () => keys.dayRevenue(today())],
    ['units of a day 3 days ago', () => keys.dayUnits(daysAgo(3))],
    ['revenue of the newest day with sales at least 8 days ago', () => keys.dayRevenue(olderSalesDay)],
  ])('%s: one reconcile run makes every window true again', async (label, key) => {
    expect(await redis.del(key())).toBe(1);
    await sell(0, 3);
    await sell(1, 2);
    await reconcile();
    await expectEveryWindowTrue(label);
  });
});

describe('a past union built while one of its days was missing', () => {
  it('is never served, even when dropping it fails', async () => {
    const window = resolveWindow(30);
    expect(await redis.del(keys.dayUnits(daysAgo(3)))).toBe(1);
    await redis.del(keys.pastUnits(window.today, 30), keys.pastRevenue(window.today, 30));
    // The request that finds the day missing cannot drop the union it just built (its budget ran out).
    let failedDels = 0;
    const failingDel = new Proxy(redis, {
      get(target, property) {
        if (property === 'del')
          return async () => {
            failedDels++;
            throw new Error('the leaderboard budget ran out');
          };
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await readLeaderboard({ sql, redis: failingDel, namespace: NS }, window, 100, 5_000).catch(() => null);
    expect(failedDels).toBe(1);
    // The next request (its own snapshot refresh) must not take the incomplete union for the 30 days.
    expect(await readLeaderboard({ sql, redis, namespace: NS }, window, 100, 5_000)).toBeNull();
    await reconcile();
    await expectEveryWindowTrue('after the repair');
  });
});

describe('sales that land in the middle of a reconcile run', () => {
  it('a sale recorded while a full rebuild puts its sets in place is in every window after the next run', async () => {
    let sold = false;
    const racing = hookBeforeSending(
      (commands) => !sold && commands.some(([name, , target]) => name === 'rename' && target === keys.allUnits),
      async () => {
        sold = true;
        await sell(0, 4);
      },
    );
    await reconcileTopProducts({ sql, redis: racing, namespace: NS }, { mode: 'full', waitForLockMs: 15_000 });
    expect(sold).toBe(true);
    await reconcile();
    await expectEveryWindowTrue('sale during the rebuild');
  });

  it('a sale in the first seconds of a day, while a rebuild begun the day before streams, is in the all-time sets after the next run', async () => {
    const midnight = startOfUtcDay(Date.now()) + DAY_MS;
    const productId = fixture.productIds[0]!;
    const truth = async () => {
      const [row] = await sql<[{ units: number; cents: number }]>`
        select sum(quantity)::int as units, (sum(quantity * unit_price) * 100)::int as cents from order_items where product_id = ${productId}`;
      return row;
    };
    let sold = false;
    const racing = hookBeforeSending(
      (commands) => !sold && commands.some(([name, , target]) => name === 'rename' && target === keys.allUnits),
      async () => {
        sold = true;
        // Committed after the rebuild's snapshot, five seconds into the new day, then delivered to the leaderboard.
        const orderDate = new Date(midnight + 5_000);
        const [order] = await sql<[{ id: number }]>`
          insert into orders (customer_id, order_date, total_amount) values (${fixture.customerIds[0]!}, ${orderDate}, 30.00)
          returning order_id as id`;
        await sql`insert into order_items (order_id, product_id, quantity, unit_price) values (${order.id}, ${productId}, 3, 10.00)`;
        await recordSale(
          { redis, namespace: NS, timeoutMs: 5_000 },
          { orderDate: orderDate.toISOString(), items: [{ productId, quantity: 3, unitPrice: '10.00' }] },
        );
      },
    );
    await reconcileTopProducts(
      { sql, redis: racing, namespace: NS },
      { mode: 'full', waitForLockMs: 15_000, now: () => midnight - 10_000 },
    );
    expect(sold).toBe(true);
    const next = await reconcileTopProducts({ sql, redis, namespace: NS }, { waitForLockMs: 15_000, now: () => midnight + 60_000 });
    expect(next.mode).toBe('recent');
    const { units, cents } = await truth();
    expect(-(await redis.zscore(keys.allUnits, encodeMember(productId)))!).toBe(units);
    expect(await redis.zscore(keys.allRevenue, encodeMember(productId))).toBe(cents);
    expect(-(await redis.zscore(keys.dayUnits(utcDay(midnight)), encodeMember(productId)))!).toBe(3);
  });

  it('a rebuild whose switch fails (a scratch set evicted) leaves no marker: readers use Postgres and the next run rebuilds', async () => {
    let evicted = false;
    const racing = hookBeforeSending(
      (commands) => !evicted && commands.some(([name, , target]) => name === 'rename' && target === keys.allUnits),
      async () => {
        evicted = true;
        const scratch = (await redis.keys(keys.tmp('*'))).filter((key) => key.endsWith(':units'));
        expect(scratch.length).toBeGreaterThan(0);
        await redis.del(scratch[0]!);
      },
    );
    await expect(reconcileTopProducts({ sql, redis: racing, namespace: NS }, { mode: 'full', waitForLockMs: 15_000 })).rejects.toThrow();
    expect(evicted).toBe(true);
    expect(await redis.get(keys.meta)).toBeNull();
    for (const days of WINDOWS) expect(await readLeaderboard({ sql, redis, namespace: NS }, resolveWindow(days), 100, 5_000)).toBeNull();
    expect((await reconcile()).mode).toBe('full');
    await expectEveryWindowTrue('after a failed switch');
  });

  it('a "recent" pass asked for while no leaderboard is loaded rebuilds it (there is nothing to correct)', async () => {
    await redis.del(keys.meta);
    const result = await reconcileTopProducts({ sql, redis, namespace: NS }, { mode: 'recent', waitForLockMs: 15_000 });
    expect(result).toMatchObject({ mode: 'full', reason: expect.stringMatching(/not loaded/) });
    await expectEveryWindowTrue('after a recent pass on an empty leaderboard');
  });

  it('an invocation naming a mode that does not exist is refused before anything runs', async () => {
    const before = await redis.get(keys.meta);
    await expect(reconcileHandler({ mode: 'ful' }, lambdaContext())).rejects.toThrow(/mode "ful".*auto, full or recent/);
    expect(await redis.get(keys.meta)).toEqual(before);
  });

  it('a daily rebuild that fails before its switch still corrects today and yesterday (a rebuild may keep failing), and says it failed', async () => {
    // A sale the leaderboard never heard of (recordSale lost), then a rebuild that cannot stage its sets.
    await createOrder(sql, { customerId: fixture.customerIds[0]!, items: [{ productId: fixture.productIds[3]!, quantity: 4 }] });
    const failing = hookBeforeSending(
      (commands) => commands.some(([name, key]) => name === 'zadd' && String(key).startsWith(keys.tmp(''))),
      async () => {
        throw new Error('the rebuild’s staging failed');
      },
    );
    await expect(reconcileTopProducts({ sql, redis: failing, namespace: NS }, { waitForLockMs: 15_000, fullEveryMs: 0 })).rejects.toThrow(
      /staging failed/,
    );
    expect(await redis.get(keys.meta)).not.toBeNull();
    for (const days of [1, 2]) {
      expect(await readLeaderboard({ sql, redis, namespace: NS }, resolveWindow(days), 100, 5_000), `days=${days}`).toEqual(
        await groundTruth(sql, 100, days),
      );
    }
  });

  it('a run stopped by its invocation’s end (the signal) writes nothing after it, even if its container resumes later', async () => {
    const before = await redis.get(keys.meta);
    const stop = new AbortController();
    // The invocation ends while the run is still writing its scratch sets.
    // The client the functions use (its requests carry the signal of the call they are made in).
    const stopping = hookBeforeSending(
      (commands) => !stop.signal.aborted && commands.some(([name]) => name === 'zadd'),
      async () => stop.abort(new Error('the invocation ended')),
      createRedis(testConfig().redis),
    );
    await expect(
      reconcileTopProducts({ sql, redis: stopping, namespace: NS }, { mode: 'full', waitForLockMs: 15_000, signal: stop.signal }),
    ).rejects.toThrow(/the invocation ended/);
    expect(await redis.get(keys.meta)).toEqual(before);
    // Nothing at all after the stop: the scratch sets it was about to write were never sent.
    const scratch = await redis.keys(keys.tmp('*'));
    expect(scratch, JSON.stringify(scratch)).toEqual([]);
  });

  it('a second sale of a product whose first of the day the recent pass is taking back is counted once', async () => {
    // Sale 1 commits after the pass read Postgres and before it read Redis (so it looks like an extra to take
    // back); sale 2 of the same product lands before the pass applies its correction.
    const product = await productWithoutSalesToday();
    let step = 0;
    const racing = hookBeforeSending(
      (commands) =>
        (step === 0 && commands.some(([name, key]) => name === 'zrange' && key === keys.dayUnits(today()))) ||
        (step === 1 && commands.some(([name]) => name === 'zincrby')),
      async () => {
        step++;
        await sell(product, step === 1 ? 2 : 5);
      },
    );
    await reconcileTopProducts({ sql, redis: racing, namespace: NS }, { waitForLockMs: 15_000 });
    expect(step).toBe(2);
    await reconcile();
    await expectEveryWindowTrue('second sale during the correction');
  });
});

it('holds its lock no longer than it may run, so a run killed at its timeout does not stop the next ones for long', async () => {
  let lockTtl: number | undefined;
  const watching = hookBeforeSending(
    () => lockTtl === undefined,
    async () => {
      lockTtl = await redis.pttl(keys.reconcileLock);
    },
  );
  await reconcileTopProducts({ sql, redis: watching, namespace: NS }, { mode: 'full', waitForLockMs: 15_000, lockTtlMs: 30_000 });
  expect(lockTtl).toBeGreaterThan(0);
  expect(lockTtl).toBeLessThanOrEqual(30_000);
});

describe('readers never serve a set that lost its contents', () => {
  it('a cached past union dropped (by a reconcile) between a reader’s look at it and its use is rebuilt, not read as empty', async () => {
    const window = resolveWindow(7);
    await readLeaderboard({ sql, redis, namespace: NS }, window, 100, 5_000); // caches the past 6 days' union
    const past = [keys.pastUnits(today(), 7), keys.pastRevenue(today(), 7)];
    let dropped = false;
    const racing = hookBeforeSending(
      (commands) => !dropped && commands.some(([name, , , , key]) => name === 'zunionstore' && key === past[0]),
      async () => {
        dropped = true;
        await redis.del(...past);
      },
    );
    const answer = await readLeaderboard({ sql, redis: racing, namespace: NS }, window, 100, 5_000);
    expect(dropped).toBe(true);
    expect(answer).toEqual(await groundTruth(sql, 100, 7));
  });

  it.each([
    ['all time', undefined, () => [keys.allUnits]],
    ['today', 1, () => [keys.dayUnits(today())]],
    ['the last 7 days (today is part of it)', 7, () => [keys.dayUnits(today())]],
    ['the last 30 days (an older day evicted)', 30, () => [keys.dayUnits(daysAgo(3)), keys.pastUnits(today(), 30)]],
  ])('%s: an evicted set recreated by a sale answers from Postgres until reconcile restores it', async (label, days, evicted) => {
    const [set, ...others] = evicted();
    expect(await redis.del(set!)).toBe(1);
    for (const key of others) await redis.del(key);
    await sell(0, 3);
    expect(await readLeaderboard({ sql, redis, namespace: NS }, resolveWindow(days), 100, 5_000)).toBeNull();
    await reconcile();
    await expectEveryWindowTrue(`after ${label}`);
  });
});

describe('after Postgres changed behind the leaderboard', () => {
  it('an order deleted (cancelled) long ago: one run makes every window true again', async () => {
    const [old] = await sql<
      [{ id: number }]
    >`select order_id as id from orders where order_date < now() - interval '40 days' order by order_id limit 1`;
    await sql`delete from orders where order_id = ${old!.id}`;
    await reconcile();
    await expectEveryWindowTrue('deleted order');
  });

  it('a line corrected in place (quantity updated): one run makes every window true again', async () => {
    await sql`update order_items set quantity = quantity + 9 where item_id = (select min(item_id) from order_items)`;
    await reconcile();
    await expectEveryWindowTrue('updated line');
  });

  it('the whole shop reloaded (another data set, same shape): one run makes every window true again', async () => {
    fixture = await seedSales(sql, { orders: 250, seed: 99 });
    await reconcile();
    await expectEveryWindowTrue('reloaded');
  });

  it('db:seed --reset: the leaderboard stops answering from the old data at once, and one run rebuilds it', async () => {
    await seed(process.env.DATABASE_URL!, { customers: 20, products: 15, orders: 200, seed: 5, reset: true });
    for (const days of WINDOWS) {
      expect(
        await readLeaderboard({ sql, redis, namespace: NS }, resolveWindow(days), 100, 5_000),
        `days=${days ?? 'all'} right after the seed`,
      ).toBeNull();
    }
    await reconcile();
    await expectEveryWindowTrue('reseeded');
  });
});

it('a cycle with nothing lost or changed stays a cheap "recent" pass', async () => {
  const result = await reconcile();
  expect(result.mode).toBe('recent');
  expect(result.products).toBe(0);
  expect(testConfig().redis.namespace).not.toBe(NS);
});
