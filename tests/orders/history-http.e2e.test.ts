import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBearer, bearerFor } from '../helpers/auth.js';
import { insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api, type JsonResponse } from '../helpers/http.js';

/**
 * GET /customers/{customerId}/orders and GET /orders/{orderId} through serverless-offline: the contract,
 * who may read what (self, another customer, an admin, no token), and a 400 for every class of bad input.
 */
const sql = testSql();
let ann: number;
let bob: number;
let annOrders: number[];

const get = async (path: string, authorization: string | null) => api('GET', path, { authorization });

async function walk(customerId: number, limit: number, authorization: string): Promise<number[]> {
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const response: JsonResponse = await get(
      `/customers/${customerId}/orders?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      authorization,
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    seen.push(...response.body.orders.map((order: { orderId: number }) => order.orderId));
    cursor = response.body.nextCursor;
  } while (cursor);
  return seen;
}

beforeAll(async () => {
  await resetShop(sql);
  const fixtures = await insertFixtures(sql, { customers: 3, products: 3, stock: 1_000 });
  [ann, bob] = fixtures.customerIds as [number, number];
  const [p1, p2] = fixtures.productIds as [number, number];
  annOrders = [];
  for (let i = 0; i < 7; i++) {
    const response = await api('POST', '/orders', {
      body: { customerId: ann, items: [{ productId: p1, quantity: 1 + i }, ...(i % 2 ? [{ productId: p2, quantity: 1 }] : [])] },
      authorization: await bearerFor(ann),
    });
    expect(response.status).toBe(201);
    annOrders.unshift(response.body.orderId);
  }
});

afterAll(() => sql.end());

describe('GET /customers/{customerId}/orders', () => {
  it('lists the customer’s orders newest first, each with its lines, a page at a time', async () => {
    const page = await get(`/customers/${ann}/orders?limit=2`, await bearerFor(ann));
    expect(page.status).toBe(200);
    expect(page.body.orders).toHaveLength(2);
    const [newest] = page.body.orders;
    const stored = await api('GET', `/orders/${newest.orderId}`, { authorization: await bearerFor(ann) });
    expect(newest).toEqual(stored.body);
    expect(newest).toEqual({
      orderId: annOrders[0],
      customerId: ann,
      orderDate: expect.stringMatching(/Z$/),
      totalAmount: expect.stringMatching(/^\d+\.\d{2}$/),
      items: [{ productId: expect.any(Number), name: expect.any(String), quantity: 7, unitPrice: expect.stringMatching(/^\d+\.\d{2}$/) }],
    });
    for (const limit of [1, 3, 7, 100]) expect(await walk(ann, limit, await bearerFor(ann))).toEqual(annOrders);
    expect((await get(`/customers/${bob}/orders`, await bearerFor(bob))).body).toEqual({ orders: [], nextCursor: null });
  });

  it('is the customer’s own or an admin’s to read: 403 for another customer, 401 without a token', async () => {
    expect((await get(`/customers/${ann}/orders`, await bearerFor(ann))).status).toBe(200);
    expect((await get(`/customers/${ann}/orders`, await adminBearer())).status).toBe(200);
    const other = await get(`/customers/${ann}/orders`, await bearerFor(bob));
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.body)).not.toContain('orderId');
    expect((await get(`/customers/${ann}/orders`, null)).status).toBe(401);
    // An unknown customer: 404 for an admin (a customer's token can only name itself).
    const unknown = await get('/customers/2147483647/orders', await adminBearer());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'CUSTOMER_NOT_FOUND', details: { customerId: 2147483647 } });
  });

  it('a cursor continues only the customer’s own list', async () => {
    const first = await get(`/customers/${ann}/orders?limit=1`, await adminBearer());
    const foreign = await get(`/customers/${bob}/orders?limit=1&cursor=${first.body.nextCursor}`, await adminBearer());
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([{ field: 'query.cursor', message: expect.any(String) }]);
  });

  it('refuses every class of bad input with a 400 naming the parameter', async () => {
    const admin = await adminBearer();
    const cursor = (await get(`/customers/${ann}/orders?limit=1`, admin)).body.nextCursor as string;
    const cases: Array<[string, string]> = [
      [`/customers/abc/orders`, 'path.customerId'],
      [`/customers/0/orders`, 'path.customerId'],
      [`/customers/99999999999/orders`, 'path.customerId'],
      [`/customers/${ann}/orders?limit=0`, 'query.limit'],
      [`/customers/${ann}/orders?limit=101`, 'query.limit'],
      [`/customers/${ann}/orders?page=2`, 'query.page'],
      [`/customers/${ann}/orders?offset=20`, 'query.offset'],
      [`/customers/${ann}/orders?cursor=${cursor.slice(0, 10)}`, 'query.cursor'],
      [`/customers/${ann}/orders?cursor=${cursor}x`, 'query.cursor'],
      [`/customers/${ann}/orders?cursor=${'y'.repeat(250)}`, 'query.cursor'],
    ];
    for (const [path, field] of cases) {
      const response = await get(path, admin);
      expect(response.status, `${path} ${JSON.stringify(response.body)}`).toBe(400);
      expect(
        response.body.error.details.map((detail: { field: string }) => detail.field),
        path,
      ).toContain(field);
    }
  });
});

describe('GET /orders/{orderId}', () => {
  it('answers the order to its customer and admins, 404 to everyone else, 401 without a token, 400 for a bad id', async () => {
    const [id] = annOrders;
    expect((await get(`/orders/${id}`, await bearerFor(ann))).body.orderId).toBe(id);
    expect((await get(`/orders/${id}`, await adminBearer())).body.orderId).toBe(id);
    const others = await get(`/orders/${id}`, await bearerFor(bob));
    expect(others.status).toBe(404);
    expect(others.body.error).toMatchObject({ code: 'ORDER_NOT_FOUND', details: { orderId: id } });
    expect((await get(`/orders/${id}`, null)).status).toBe(401);
    // Order ids are bigint: 2^31 is an id like any other, 2^53 is past what the API reads exactly.
    expect((await get('/orders/2147483648', await adminBearer())).body.error).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    for (const bad of ['abc', '0', '-5', '1.0', '9007199254740992', '10000000000000000']) {
      const response = await get(`/orders/${bad}`, await adminBearer());
      expect(response.status, bad).toBe(400);
      expect(response.body.error.details[0].field).toBe('path.orderId');
    }
  });
});
