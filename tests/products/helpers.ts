import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from '@upstash/redis';
import { Rng } from '../../scripts/db/seed-random.js';
import type { Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import type { TopProduct } from '../../shared/products/queries.js';
import { queryTopProducts } from '../../shared/products/queries.js';
import type { Aggregate, TopProductsDeps } from '../../shared/products/top-products.js';
import { insertFixtures, resetShop } from '../helpers/db.js';

const DAY_MS = 86_400_000;

export function testConfig() {
  return parseConfig(process.env);
}

/** A fresh @upstash/redis client (own instance: nothing shared with other callers). */
export function newRedis(url = testConfig().redis.url): Redis {
  return new Redis({ url, token: testConfig().redis.token, retry: false, enableTelemetry: false, keepAlive: true });
}

/** Deletes every key of `namespace`'s top-products feature (through the REST endpoint, like the app). */
export async function deleteTopProductsKeys(redis: Redis, namespace: string): Promise<number> {
  let cursor: string | number = '0';
  let deleted = 0;
  do {
    const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${namespace}:top-products:*`, count: 1000 });
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (String(cursor) !== '0');
  return deleted;
}

export async function listKeys(redis: Redis, namespace: string): Promise<string[]> {
  let cursor: string | number = '0';
  const all: string[] = [];
  do {
    const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${namespace}:top-products:*`, count: 1000 });
    cursor = next;
    all.push(...keys);
  } while (String(cursor) !== '0');
  return all;
}

/** Deterministic uniform [0, 1) (the seed's generator) so a failing random workload can be replayed from its seed. */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.float();
}

export interface SalesFixture {
  customerIds: number[];
  productIds: number[];
  orders: number;
}

/**
 * Empties the shop and loads a known, deterministic history: `orders` orders over the last ~420 days
 * (recent days busier), 1–3 distinct skewed products per order, quantities 1–5, some lines at a
 * discount (unit_price ≠ today's price), plus two orders on either side of the 7-day window's start.
 */
export async function seedSales(sql: Sql, { products = 30, orders = 400, seed = 7 } = {}): Promise<SalesFixture> {
  await resetShop(sql);
  const fixtures = await insertFixtures(sql, { customers: 3, products, stock: 100_000 });
  const prices = new Map(
    (await sql<Array<{ id: number; cents: number }>>`select product_id as id, (price * 100)::int as cents from products`).map((r) => [
      r.id,
      r.cents,
    ]),
  );
  const random = prng(seed);
  const now = Date.now();
  const todayStart = Math.floor(now / DAY_MS) * DAY_MS;
  const orderRows: Array<{ id: number; customerId: number; date: Date; totalCents: number }> = [];
  const lines: Array<{ orderId: number; productId: number; quantity: number; cents: number }> = [];

  const addOrder = (date: Date, items: Array<{ productId: number; quantity: number; discount?: boolean }>) => {
    const id = orderRows.length + 1;
    let total = 0;
    for (const item of items) {
      const cents = prices.get(item.productId)! - (item.discount ? 100 : 0);
      total += cents * item.quantity;
      lines.push({ orderId: id, productId: item.productId, quantity: item.quantity, cents });
    }
    orderRows.push({ id, customerId: fixtures.customerIds[id % fixtures.customerIds.length]!, date, totalCents: total });
  };

  for (let i = 0; i < orders; i++) {
    const daysAgo = Math.floor(random() ** 2 * 420);
    let at = todayStart - daysAgo * DAY_MS + Math.floor(random() * DAY_MS);
    if (at >= now) at = now - 1_000 - Math.floor(random() * 60_000);
    const count = 1 + Math.floor(random() * 3);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(fixtures.productIds[Math.floor(random() ** 2 * products)]!);
    addOrder(
      new Date(at),
      [...chosen].map((productId) => ({ productId, quantity: 1 + Math.floor(random() * 5), discount: random() < 0.3 })),
    );
  }
  // The 7-day window starts at midnight UTC six days ago: the first order counts, the second does not.
  const since7 = todayStart - 6 * DAY_MS;
  const edgeProduct = fixtures.productIds.at(-1)!;
  addOrder(new Date(since7), [{ productId: edgeProduct, quantity: 40 }]);
  addOrder(new Date(since7 - 1), [{ productId: edgeProduct, quantity: 45 }]);

  await sql`
    insert into orders (order_id, customer_id, order_date, total_amount)
    select * from unnest(${orderRows.map((o) => o.id)}::bigint[], ${orderRows.map((o) => o.customerId)}::int[],
                         ${orderRows.map((o) => o.date.toISOString())}::timestamptz[], ${orderRows.map((o) => o.totalCents / 100)}::numeric[])`;
  await sql`
    insert into order_items (order_id, product_id, quantity, unit_price)
    select * from unnest(${lines.map((l) => l.orderId)}::bigint[], ${lines.map((l) => l.productId)}::int[],
                         ${lines.map((l) => l.quantity)}::int[], ${lines.map((l) => l.cents / 100)}::numeric[])`;
  await sql`select setval(pg_get_serial_sequence('orders', 'order_id'), (select max(order_id) from orders))`;
  return { ...fixtures, orders: orderRows.length };
}

/**
 * The ground truth, written independently of the code under test: top `limit` by units (ties by
 * id); `days` = orders since midnight UTC (days − 1) days ago.
 */
export async function groundTruth(sql: Sql, limit: number, days?: number): Promise<TopProduct[]> {
  const rows = await sql<TopProduct[]>`
    select p.product_id as "productId", p.name, sum(oi.quantity)::int as "unitsSold",
           sum(oi.quantity * oi.unit_price)::text as revenue
    from order_items oi join orders o using (order_id) join products p using (product_id)
    where ${
      days === undefined
        ? sql`true`
        : sql`o.order_date >= (date_trunc('day', now() at time zone 'UTC') at time zone 'UTC') - make_interval(days => ${days - 1})`
    }
    group by p.product_id, p.name
    order by "unitsSold" desc, p.product_id
    limit ${limit}`;
  return [...rows];
}

/** The Postgres aggregate with a call counter (and an optional delay, to widen race windows). */
export function countingAggregate(delayMs = 0): Aggregate & { calls: number } {
  const fn = (async (sql, window, limit) => {
    fn.calls++;
    if (delayMs > 0) await sleep(delayMs);
    return queryTopProducts(sql, window, limit);
  }) as Aggregate & { calls: number };
  fn.calls = 0;
  return fn;
}

export function deps(sql: Sql, namespace: string, overrides: Partial<TopProductsDeps> = {}): TopProductsDeps {
  return { sql, redis: newRedis(), namespace, timeoutMs: testConfig().redis.timeoutMs, ...overrides };
}

// --- misbehaving endpoints -------------------------------------------------------------------------

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Forwards every request to `target` after `delayMs` (a slow Upstash endpoint). */
export function startSlowProxy(target: string, delayMs: number): Promise<TestServer> {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await sleep(delayMs);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of ['authorization', 'upstash-encoding']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const upstream = await fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers, body: Buffer.concat(chunks) });
      const body = await upstream.text();
      if (!res.destroyed) {
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(body);
      }
    } catch {
      res.destroy();
    }
  });
  return listen(server);
}

/** Answers every request with HTTP 200 and `body` (an endpoint returning garbage). */
export function startGarbageServer(body: string | ((path: string) => string)): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(typeof body === 'function' ? body(req.url ?? '/') : body);
    });
  });
  return listen(server);
}
