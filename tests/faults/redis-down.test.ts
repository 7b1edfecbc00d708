import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../tools/upstash-gateway/gateway.js';
import { bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import { groundTruth } from '../products/helpers.js';

/**
 * The Redis REST endpoint stops (and comes back) under the real handlers, in process. The endpoint is a
 * gateway instance of this file's own on its own port — never the shared one on 8079 that other tests
 * and engineers use. While it is down: GET /products/top answers from Postgres with X-Cache: BYPASS, as
 * fast as the refusal; POST /orders still places orders (the leaderboard update is best effort). After
 * it is back on the same port, the same warm handler returns to the cache by itself.
 */
const sql = testSql();
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = process.env.UPSTASH_REDIS_REST_TOKEN!;
let gateway: Gateway | undefined = await startGateway({ port: 0, token: TOKEN, redisUrl: REDIS_URL });
const gatewayUrl = gateway.url;
const port = Number(new URL(gatewayUrl).port);

// Before the handler modules read their configuration: this file's handlers talk to its own gateway,
// in a cache namespace of their own.
process.env.UPSTASH_REDIS_REST_URL = gatewayUrl;
process.env.CACHE_NAMESPACE = `ecommerce-pipeline:test-faults-redis-${process.pid}`;
const { handler: getTopProducts } = await import('../../functions/getTopProducts.js');
const { handler: createOrder } = await import('../../functions/createOrder.js');
const { closeSql } = await import('../../shared/clients/postgres.js');
const { getRedis } = await import('../../shared/clients/redis.js');

let fx: Fixtures;

beforeAll(async () => {
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 2, products: 5, stock: 1_000 });
});

afterAll(async () => {
  try {
    // Leave nothing behind in Redis under this file's namespace.
    if (!gateway) gateway = await startGateway({ port, token: TOKEN, redisUrl: REDIS_URL });
    const redis = getRedis();
    let cursor: string | number = '0';
    do {
      const [next, keys]: [string | number, string[]] = await redis.scan(cursor, {
        match: `${process.env.CACHE_NAMESPACE}:*`,
        count: 1000,
      });
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (String(cursor) !== '0');
  } finally {
    await gateway?.close();
    await closeSql();
    await sql.end();
  }
});

async function top(query: Record<string, string>) {
  const started = performance.now();
  const response = await getTopProducts(
    httpEvent({ method: 'GET', path: '/products/top', query, authorization: null }),
    lambdaContext('getTopProducts'),
  );
  return {
    status: response.statusCode,
    cache: response.headers?.['X-Cache'] as string | undefined,
    body: JSON.parse(String(response.body)),
    ms: performance.now() - started,
  };
}

async function order(customerId: number, productId: number, quantity: number) {
  const started = performance.now();
  const response = await createOrder(
    httpEvent({
      method: 'POST',
      path: '/orders',
      body: { customerId, items: [{ productId, quantity }] },
      authorization: await bearerFor(customerId),
    }),
    lambdaContext('createOrder'),
  );
  return { status: response.statusCode, body: JSON.parse(String(response.body)), ms: performance.now() - started };
}

describe('the Redis REST endpoint stopped', () => {
  it('while it is up, the handlers use it (MISS, then HIT)', async () => {
    expect((await order(fx.customerIds[0]!, fx.productIds[0]!, 3)).status).toBe(201);
    const first = await top({ limit: '5' });
    expect(first.status).toBe(200);
    expect(['MISS', 'HIT']).toContain(first.cache);
    expect((await top({ limit: '5' })).cache).toBe('HIT');
  });

  it('down: orders are placed (fast) and top products come from Postgres with X-Cache: BYPASS', async () => {
    await gateway!.close();
    gateway = undefined;

    const placed = [];
    for (const [i, productId] of fx.productIds.entries()) {
      const response = await order(fx.customerIds[i % 2]!, productId, i + 1);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.ms, `POST /orders took ${response.ms} ms with the cache down`).toBeLessThan(1_000);
      placed.push(response.body.orderId as number);
    }
    const stored = await sql<Array<{ id: number }>>`select order_id as id from orders where order_id = any(${placed})`;
    expect(stored.map((r) => r.id).sort()).toEqual([...placed].sort());

    const queries: Array<Record<string, string>> = [{ limit: '3' }, { limit: '10', days: '7' }, { limit: '100', days: '365' }];
    for (const query of queries) {
      const answer = await top(query);
      expect(answer.status).toBe(200);
      expect(answer.cache).toBe('BYPASS');
      expect(answer.body.products).toEqual(
        await groundTruth(sql, Number(query.limit), query.days === undefined ? undefined : Number(query.days)),
      );
      expect(answer.ms, `GET /products/top took ${answer.ms} ms with the cache down`).toBeLessThan(1_000);
    }
  });

  it('back on the same port: the same warm handler returns to the cache by itself', async () => {
    gateway = await startGateway({ port, token: TOKEN, redisUrl: REDIS_URL });
    const started = Date.now();
    let cache: string | undefined;
    while (Date.now() - started < 15_000) {
      const answer = await top({ limit: '3' });
      expect(answer.status).toBe(200);
      cache = answer.cache;
      if (cache === 'HIT' || cache === 'MISS') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(['HIT', 'MISS']).toContain(cache);
    console.info(`[redis back] served from the cache again after ${Date.now() - started} ms`);
    expect((await order(fx.customerIds[0]!, fx.productIds[1]!, 1)).status).toBe(201);
  }, 30_000);
});
