import type { Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGetTopProductsHandler } from '../../functions/getTopProducts.js';
import { logger } from '../../shared/logger.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { topProductsKeys } from '../../shared/products/keys.js';
import { recordSale } from '../../shared/products/leaderboard.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import { getTopProducts, type TopProductsDeps } from '../../shared/products/top-products.js';
import { type Gateway, startGateway } from '../../tools/upstash-gateway/gateway.js';
import { testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import {
  countingAggregate,
  deleteTopProductsKeys,
  deps,
  groundTruth,
  newRedis,
  type SalesFixture,
  seedSales,
  startGarbageServer,
  startSlowProxy,
  type TestServer,
  testConfig,
} from './helpers.js';

const NS = 'ecommerce-pipeline:test-products-degradation';
const sql = testSql();
const redis: Redis = newRedis(); // the shared gateway on 8079, for setup and checks only
const config = testConfig();
let fixture: SalesFixture;
const servers: Array<Gateway | TestServer> = [];

beforeAll(async () => {
  await deleteTopProductsKeys(redis, NS);
  fixture = await seedSales(sql, { seed: 23 });
  await reconcileTopProducts({ sql, redis, namespace: NS }, { mode: 'full', waitForLockMs: 15_000 });
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  for (const server of servers) await server.close().catch(() => {});
  await deleteTopProductsKeys(redis, NS);
  await sql.end();
});

/** Our own gateway instance (never the shared one on 8079, which other tests use). */
async function ownGateway(): Promise<Gateway> {
  const gateway = await startGateway({
    port: 0,
    token: config.redis.token,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  servers.push(gateway);
  return gateway;
}

function handlerFor(redisUrl: string, overrides: Partial<TopProductsDeps> = {}) {
  return createGetTopProductsHandler(() => deps(sql, NS, { redis: newRedis(redisUrl), ...overrides }));
}

async function call(handler: ReturnType<typeof handlerFor>, query: Record<string, string>) {
  const started = performance.now();
  const response = await handler(httpEvent({ method: 'GET', path: '/products/top', query }), lambdaContext('getTopProducts'));
  return {
    status: response.statusCode,
    cache: response.headers?.['X-Cache'],
    body: JSON.parse(response.body ?? '{}'),
    ms: performance.now() - started,
  };
}

function warnings() {
  return vi.spyOn(logger, 'warn');
}

describe('the REST endpoint goes down', () => {
  it('answers from Postgres with X-Cache: BYPASS and a warning, as fast as the refusal', async () => {
    const gateway = await ownGateway();
    const handler = handlerFor(gateway.url);
    await redis.del(topProductsKeys(NS).snapshot('d30'));
    const before = await call(handler, { limit: '5', days: '30' });
    expect(before).toMatchObject({ status: 200, cache: 'MISS' });

    await gateway.close(); // stopped: connections are refused from now on
    const warn = warnings();
    const queries: Array<Record<string, string>> = [
      { limit: '5', days: '30' },
      { limit: '10' },
      { limit: '3', days: '7' },
      { limit: '100', days: '365' },
    ];
    for (const query of queries) {
      const down = await call(handler, query);
      expect(down.status).toBe(200);
      expect(down.cache).toBe('BYPASS');
      expect(down.body.products).toEqual(await groundTruth(sql, Number(query.limit), query.days ? Number(query.days) : undefined));
      expect(down.ms).toBeLessThan(1_000);
    }
    expect(warn).toHaveBeenCalledWith(
      'top-products: cache bypassed, answering from Postgres',
      expect.objectContaining({ reason: 'unavailable' }),
    );
  });

  it('costs Postgres one aggregate per window per container while down (the bypass memo)', async () => {
    const gateway = await ownGateway();
    await gateway.close();
    const aggregate = countingAggregate();
    const bypassMemo = new Map();
    const d = deps(sql, NS, { redis: newRedis(gateway.url), aggregate, bypassMemo });
    for (let i = 0; i < 10; i++) expect((await getTopProducts(d, { limit: 5, days: 30 })).cache).toBe('BYPASS');
    expect(aggregate.calls).toBe(1);
  });
});

describe('the REST endpoint is slow', () => {
  it('gives up after the cache timeout and answers from Postgres (BYPASS)', async () => {
    const slow = await startSlowProxy(config.redis.url, 1_000);
    servers.push(slow);
    const handler = handlerFor(slow.url);
    const warn = warnings();
    const answer = await call(handler, { limit: '10', days: '30' });
    expect(answer).toMatchObject({ status: 200, cache: 'BYPASS' });
    expect(answer.body.products).toEqual(await groundTruth(sql, 10, 30));
    // timeout (150 ms) + a small aggregate, nowhere near the endpoint's 1 s
    expect(answer.ms).toBeLessThan(config.redis.timeoutMs + 500);
    expect(warn).toHaveBeenCalledWith(
      'top-products: cache bypassed, answering from Postgres',
      expect.objectContaining({ reason: 'timeout' }),
    );
  });
});

describe('the REST endpoint returns garbage', () => {
  const base64 = (text: string) => Buffer.from(text).toString('base64');

  it('a non-JSON body: BYPASS', async () => {
    const garbage = await startGarbageServer('<html>502 Bad Gateway</html>');
    servers.push(garbage);
    const answer = await call(handlerFor(garbage.url), { limit: '10' });
    expect(answer).toMatchObject({ status: 200, cache: 'BYPASS' });
    expect(answer.body.products).toEqual(await groundTruth(sql, 10));
  });

  it('a well-formed reply holding a payload that is not a snapshot (zod): BYPASS', async () => {
    const payloads = [
      JSON.stringify({ products: 'oops', generatedAt: new Date().toISOString() }),
      JSON.stringify({
        products: [{ productId: 'x', unitsSold: -1 }],
        generatedAt: new Date().toISOString(),
        window: {},
        source: 'leaderboard',
      }),
      'just a string',
    ];
    for (const payload of payloads) {
      // What Upstash answers to /pipeline (the client batches commands) and to single commands.
      const garbage = await startGarbageServer((path) =>
        path.startsWith('/pipeline') ? JSON.stringify([{ result: base64(payload) }]) : JSON.stringify({ result: base64(payload) }),
      );
      servers.push(garbage);
      const warn = warnings();
      const answer = await call(handlerFor(garbage.url), { limit: '3', days: '7' });
      expect(answer).toMatchObject({ status: 200, cache: 'BYPASS' });
      expect(answer.body.products).toEqual(await groundTruth(sql, 3, 7));
      expect(warn).toHaveBeenCalledWith(
        'top-products: cache bypassed, answering from Postgres',
        expect.objectContaining({ reason: 'invalid' }),
      );
      vi.restoreAllMocks();
    }
  });

  it('garbage stored under the real key: BYPASS once, then the key is replaced (MISS, HIT)', async () => {
    const key = topProductsKeys(NS).snapshot('d90');
    await redis.set(key, { products: [{ productId: 1, name: 'x', unitsSold: 'lots', revenue: 1 }] }, { ex: 60 });
    const handler = handlerFor(config.redis.url);
    expect((await call(handler, { limit: '5', days: '90' })).cache).toBe('BYPASS');
    const rebuilt = await call(handler, { limit: '5', days: '90' });
    expect(rebuilt.cache).toBe('MISS');
    expect(rebuilt.body.products).toEqual(await groundTruth(sql, 5, 90));
    expect((await call(handler, { limit: '5', days: '90' })).cache).toBe('HIT');
  });
});

describe('orders keep working when the cache does not', () => {
  it('recordSale returns within the timeout and never throws; the reconcile restores the sale', async () => {
    const gateway = await ownGateway();
    await gateway.close();
    const slow = await startSlowProxy(config.redis.url, 2_000);
    servers.push(slow);
    const product = fixture.productIds[2]!;
    const [{ units: unitsBefore } = { units: 0 }] = await sql<Array<{ units: number }>>`
      select coalesce(sum(quantity), 0)::int as units from order_items where product_id = ${product}`;

    for (const url of [gateway.url, slow.url]) {
      const warn = warnings();
      const { order } = await createOrder(sql, { customerId: fixture.customerIds[0]!, items: [{ productId: product, quantity: 2 }] });
      const started = performance.now();
      await expect(recordSale({ redis: newRedis(url), namespace: NS, timeoutMs: config.redis.timeoutMs }, order)).resolves.toBeUndefined();
      expect(performance.now() - started).toBeLessThan(config.redis.timeoutMs + 100);
      expect(warn).toHaveBeenCalledWith('top-products: recordSale failed; the reconcile job will restore the sale', expect.any(Object));
      vi.restoreAllMocks();
    }
    const [{ units: unitsAfter } = { units: 0 }] = await sql<Array<{ units: number }>>`
      select coalesce(sum(quantity), 0)::int as units from order_items where product_id = ${product}`;
    expect(unitsAfter).toBe(unitsBefore + 4); // both orders committed

    // The cache is back: the next reconcile run puts the two lost sales into the leaderboard.
    const result = await reconcileTopProducts({ sql, redis, namespace: NS }, { waitForLockMs: 15_000 });
    expect(result).toMatchObject({ mode: 'recent', unitsCorrected: 4 });
    await redis.del(topProductsKeys(NS).snapshot('all'));
    const { result: answer } = await getTopProducts(deps(sql, NS), { limit: 100 });
    expect(answer.products).toEqual(await groundTruth(sql, 100));
  });

  it('recordSale ignores an order it cannot read instead of throwing', async () => {
    const warn = warnings();
    await expect(
      recordSale({ redis, namespace: NS, timeoutMs: 150 }, { orderDate: 'not a date', items: [] } as never),
    ).resolves.toBeUndefined();
    await expect(recordSale({ redis, namespace: NS, timeoutMs: 150 }, undefined as never)).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalled();
  });
});
