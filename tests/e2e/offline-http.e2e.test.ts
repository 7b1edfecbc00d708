import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api, type JsonResponse } from '../helpers/http.js';

const sql = testSql();
let fixtures: Fixtures;

beforeAll(async () => {
  await resetShop(sql);
  fixtures = await insertFixtures(sql, { customers: 2, products: 3, stock: 10 });
});

afterAll(async () => {
  await sql.end();
});

describe('the four functions answer through serverless-offline', () => {
  it('POST /orders places an order (201) and rejects bad input with the error envelope', async () => {
    const [customerId] = fixtures.customerIds;
    const [p1, p2] = fixtures.productIds;
    const created = await api('POST', '/orders', {
      body: {
        customerId,
        items: [
          { productId: p1, quantity: 2 },
          { productId: p2, quantity: 1 },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      customerId,
      items: [
        { productId: p1, quantity: 2 },
        { productId: p2, quantity: 1 },
      ],
    });
    const [stored] = await sql`select total_amount::text as total from orders where order_id = ${created.body.orderId}`;
    expect(created.body.totalAmount).toBe(stored!.total);

    const invalid = await api('POST', '/orders', { body: { customerId, items: [] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(invalid.body.error.details[0].field).toBe('body.items');

    const notJson = await api('POST', '/orders', { rawBody: '{"customerId": ', headers: { 'Content-Type': 'application/json' } });
    expect(notJson.status).toBe(400);
    const wrongType = await api('POST', '/orders', { rawBody: 'x', headers: { 'Content-Type': 'text/plain' } });
    expect(wrongType.status).toBe(415);
  });

  it('GET /products/top answers from Postgres then from the cache', async () => {
    // A snapshot another test file left (the leaderboard is shared) is served until it is no longer fresh
    // (DEFAULT_SETTINGS.freshMs in shared/products/top-products.ts, 2 s); the next request rebuilds it (MISS),
    // with the order placed above. Only after a rebuild is the following request sure to find a fresh copy.
    const deadline = Date.now() + 5_000;
    const rebuilt = (response: JsonResponse) =>
      response.status === 200 && response.body.products.length > 0 && response.headers.get('x-cache') === 'MISS';
    let first = await api('GET', '/products/top?limit=2');
    while (!rebuilt(first) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      first = await api('GET', '/products/top?limit=2');
    }
    expect(first.status).toBe(200);
    expect(first.body.products.length).toBeGreaterThan(0);
    expect(['MISS', 'HIT']).toContain(first.headers.get('x-cache'));
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await api('GET', '/products/top?limit=2');
    expect(second.headers.get('x-cache')).toBe('HIT');
    const bad = await api('GET', '/products/top?limit=0');
    expect(bad.status).toBe(400);
  });

  it('PUT then GET /carts/{customerId} round-trips a cart', async () => {
    const customerId = 424242;
    const items = [{ productId: 7, quantity: 2, attributes: { size: 'M', giftWrap: true } }];
    const saved = await api('PUT', `/carts/${customerId}`, { body: { items } });
    expect(saved.status).toBe(200);
    const read = await api('GET', `/carts/${customerId}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ customerId, items, version: saved.body.version });
    expect((await api('GET', '/carts/abc')).status).toBe(400);
  });

  it('unknown routes get a 404, never a 200 with an error message', async () => {
    const response = await fetch(`${(await import('vitest')).inject('offlineHttpUrl')}/nope`);
    expect(response.status).toBe(404);
  });
});
