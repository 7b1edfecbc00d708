import { describe, expect, it, vi } from 'vitest';
import { ferretDbIsOurs, startFerretDb, stopFerretDb } from '../../scripts/services.js';
import { api } from '../helpers/http.js';
import { cartsAndShop, invoke, sleep } from './helpers.js';

/** The cart routes through serverless-offline (the deployed shape: API Gateway v2 event → esbuild bundle). */
const { sql, fx } = cartsAndShop({ customers: 2, products: 2, stock: 50 });

async function orderCount(): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from orders`;
  return row!.n;
}

/** The Mongo server the tests' serverless-offline uses. */
const MONGO_PORT = Number(new URL(process.env.MONGODB_URI!.replace(/^mongodb:/, 'http:')).port || 27017);

describe('carts through serverless-offline', () => {
  it('PUT / GET / If-Match / checkout / DELETE', async () => {
    const customerId = fx.customerIds[0]!;
    const items = [{ productId: fx.productIds[0]!, quantity: 2, attributes: { size: 'M', giftWrap: true } }];
    const saved = await api('PUT', `/carts/${customerId}`, { body: { items } });
    expect(saved.status).toBe(200);
    expect(saved.headers.get('etag')).toMatch(
      new RegExp(`^"${saved.body.version}\\.${Date.parse(saved.body.expiresAt).toString(36)}\\.[A-Za-z0-9_-]{22}"$`),
    );
    const read = await api('GET', `/carts/${customerId}`);
    expect(read.body).toEqual(saved.body);
    // The ETag as it was served, back through API Gateway's emulation as If-Match.
    const resaved = await api('PUT', `/carts/${customerId}`, { body: { items }, headers: { 'If-Match': read.headers.get('etag')! } });
    expect([resaved.status, resaved.body.version]).toEqual([200, saved.body.version + 1]);
    const stale = await api('PUT', `/carts/${customerId}`, { body: { items: [] }, headers: { 'If-Match': '"999"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    expect((await api('PUT', '/carts/%7B%22%24gt%22%3A0%7D', { body: { items: [] } })).status).toBe(400);

    const ordered = await api('POST', `/carts/${customerId}/checkout`, { headers: { 'Idempotency-Key': 'offline-1' } });
    expect(ordered.status).toBe(201);
    expect(ordered.body).toMatchObject({ customerId, items: [{ productId: fx.productIds[0], quantity: 2 }] });
    const replayed = await api('POST', `/carts/${customerId}/checkout`, { headers: { 'Idempotency-Key': 'offline-1' } });
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(ordered.body);
    expect((await api('GET', `/carts/${customerId}`)).body.items).toEqual([]);

    expect((await api('DELETE', `/carts/${customerId}`)).status).toBe(204);
    expect((await api('GET', `/carts/${customerId}`)).status).toBe(404);
    expect((await api('DELETE', `/carts/${customerId}`)).status).toBe(204);
  });

  it('MongoDB stopped: every cart route answers 503 + Retry-After within 5 s, nothing is ordered, POST /orders still works; the warm workers recover after the restart', async () => {
    const customerId = fx.customerIds[1]!;
    const productId = fx.productIds[1]!;
    // Warm every route (and its MongoClient) first: the point is that a *connected* client fails fast.
    expect((await api('PUT', `/carts/${customerId}`, { body: { items: [{ productId, quantity: 1 }] } })).status).toBe(200);
    expect((await api('GET', `/carts/${customerId}`)).status).toBe(200);
    expect((await api('DELETE', '/carts/987654321')).status).toBe(204);
    expect((await api('POST', '/carts/987654321/checkout')).status).toBe(404);

    if (!ferretDbIsOurs(MONGO_PORT)) {
      // A Mongo server we did not start (compose, a system mongod): do not stop it; point an in-process
      // handler at a closed port instead.
      vi.resetModules();
      vi.stubEnv('MONGODB_URI', 'mongodb://127.0.0.1:1');
      try {
        const { handler } = await import('../../functions/getCart.js');
        const started = Date.now();
        const response = await invoke(handler, { method: 'GET', customerId: String(customerId) });
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBeDefined();
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        vi.unstubAllEnvs();
      }
      return;
    }

    const ordersBefore = await orderCount();
    await stopFerretDb(MONGO_PORT);
    try {
      for (const [method, path, body] of [
        ['GET', `/carts/${customerId}`, undefined],
        ['PUT', `/carts/${customerId}`, { items: [] }],
        ['DELETE', `/carts/${customerId}`, undefined],
        ['POST', `/carts/${customerId}/checkout`, undefined],
      ] as const) {
        const started = Date.now();
        const response = await api(method, path, body === undefined ? {} : { body });
        const elapsed = Date.now() - started;
        console.info(`[mongo stopped] ${method} ${path} -> ${response.status} in ${elapsed} ms`);
        expect(response.status, `${method} ${path}`).toBe(503);
        expect(response.body.error.code).toBe('CART_STORE_UNAVAILABLE');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(elapsed, `${method} ${path} took ${elapsed} ms`).toBeLessThan(5_000);
      }
      expect(await orderCount()).toBe(ordersBefore); // the checkout did not place an order

      const order = await api('POST', '/orders', { body: { customerId, items: [{ productId, quantity: 1 }] } });
      expect(order.status).toBe(201);
      expect(await orderCount()).toBe(ordersBefore + 1);
    } finally {
      await startFerretDb(MONGO_PORT);
    }

    // The same warm workers reconnect on their own (no container restart).
    const restartedAt = Date.now();
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      status = (await api('GET', `/carts/${customerId}`)).status;
      if (status !== 200) await sleep(500);
    }
    expect(status).toBe(200);
    console.info(`[mongo restarted] GET answered 200 again ${Date.now() - restartedAt} ms after the restart`);
    expect((await api('PUT', `/carts/${customerId}`, { body: { items: [] } })).status).toBe(200);
    const ordered = await api('PUT', `/carts/${customerId}`, { body: { items: [{ productId, quantity: 1 }] } });
    expect(ordered.status).toBe(200);
    expect((await api('POST', `/carts/${customerId}/checkout`)).status).toBe(201);
  });
});
