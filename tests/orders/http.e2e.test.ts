/**
 * POST /orders HTTP contract through serverless-offline (the bundled handler, API Gateway v2 events):
 * status codes, bodies, headers, and the database left unchanged by every error.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api, type JsonResponse } from '../helpers/http.js';
import { dbState, expectUnchanged, orphanOrders, setProduct } from './helpers.js';

const sql = testSql();
let fx: Fixtures;
let customerId: number;

const post = (body: unknown, headers: Record<string, string> = {}) => api('POST', '/orders', { body, headers });

beforeAll(async () => {
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 3, products: 6, stock: 20 });
  customerId = fx.customerIds[0]!;
});

beforeEach(async () => {
  await sql`update products set stock_quantity = 20`;
});

afterAll(async () => {
  await sql.end();
});

function expectError(response: JsonResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  expect(response.body).toEqual({
    error: { code, message: expect.any(String), ...(response.body.error.details ? { details: expect.anything() } : {}) },
  });
}

describe('POST /orders (serverless-offline)', () => {
  it('201 with the order: decimal-string amounts, merged and sorted lines, prices from the database', async () => {
    const [p1, p2] = fx.productIds as [number, number];
    await setProduct(sql, p1, { price: '29.90' });
    await setProduct(sql, p2, { price: '0.10' });
    const response = await post({
      customerId,
      items: [
        { productId: p2, quantity: 3 },
        { productId: p1, quantity: 1 },
        { productId: p1, quantity: 1 },
      ],
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
    expect(response.body).toEqual({
      orderId: expect.any(Number),
      customerId,
      orderDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      totalAmount: '60.10',
      items: [
        { productId: p1, quantity: 2, unitPrice: '29.90' },
        { productId: p2, quantity: 3, unitPrice: '0.10' },
      ],
    });
    const [stored] = await sql`select total_amount::text as total from orders where order_id = ${response.body.orderId}`;
    expect(stored!.total).toBe('60.10');
    const stock = await sql`select stock_quantity from products where product_id in ${sql([p1, p2])} order by product_id`;
    expect(stock.map((s) => s.stock_quantity)).toEqual([18, 17]);
  });

  it('201 says where the order is (Location), for a new order and a replay alike: GET there answers it', async () => {
    const body = { customerId, items: [{ productId: fx.productIds[2]!, quantity: 1 }] };
    const headers = { 'Idempotency-Key': 'http-location-0001' };
    const placed = await post(body, headers);
    expect(placed.status).toBe(201);
    expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`);
    const replay = await post(body, headers);
    expect(replay.headers.get('location')).toBe(placed.headers.get('location'));
    const there = await api('GET', placed.headers.get('location')!);
    expect(there.status).toBe(200);
    expect(there.body).toMatchObject({ orderId: placed.body.orderId, totalAmount: placed.body.totalAmount });
  });

  it('a replayed Idempotency-Key answers the original 201 body with Idempotent-Replayed: true', async () => {
    const body = { customerId, items: [{ productId: fx.productIds[2]!, quantity: 2 }] };
    const headers = { 'Idempotency-Key': 'http-replay-0001' };
    const first = await post(body, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await expectUnchanged(sql, () => post(body, headers));
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    const reused = await expectUnchanged(sql, () => post({ ...body, items: [{ productId: fx.productIds[2]!, quantity: 3 }] }, headers));
    expectError(reused, 422, 'IDEMPOTENCY_KEY_REUSED');

    // Per customer: the same key from another customer is a different key.
    const theirs = await post({ ...body, customerId: fx.customerIds[1] }, headers);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.orderId).not.toBe(first.body.orderId);
  });

  it('the same key sent 8 times concurrently: one order, identical bodies', async () => {
    const body = { customerId: fx.customerIds[2]!, items: [{ productId: fx.productIds[3]!, quantity: 1 }] };
    const before = (await dbState(sql)).counts.orders;
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(body, { 'Idempotency-Key': 'http-concurrent' })));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
    expect((await dbState(sql)).counts.orders).toBe(before + 1);
  });

  it('10 concurrent single-unit orders on stock 4: 4 × 201 and 6 × 409, stock 0', async () => {
    const productId = fx.productIds[4]!;
    await setProduct(sql, productId, { stock: 4 });
    const before = (await dbState(sql)).counts.orders;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post({ customerId: fx.customerIds[i % 3]!, items: [{ productId, quantity: 1 }] })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 201, 409, 409, 409, 409, 409, 409]);
    const [row] = await sql`select stock_quantity from products where product_id = ${productId}`;
    expect(row!.stock_quantity).toBe(0);
    expect((await dbState(sql)).counts.orders).toBe(before + 4);
    expect(await orphanOrders(sql)).toBe(0);
  });

  it('a burst of 300 concurrent orders on stock 50 through npm start’s emulator: 50 × 201 and 250 × 409, no timeout, no other status', async () => {
    const productId = fx.productIds[5]!;
    await setProduct(sql, productId, { stock: 50 });
    const before = (await dbState(sql)).counts.orders;
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => post({ customerId: fx.customerIds[i % 3]!, items: [{ productId, quantity: 1 }] })),
    );
    const tally: Record<number, number> = {};
    for (const r of responses) tally[r.status] = (tally[r.status] ?? 0) + 1;
    expect(tally).toEqual({ 201: 50, 409: 250 });
    const [row] = await sql`select stock_quantity from products where product_id = ${productId}`;
    expect(row!.stock_quantity).toBe(0);
    expect((await dbState(sql)).counts.orders).toBe(before + 50);
    expect(await orphanOrders(sql)).toBe(0);
  }, 120_000);

  describe('errors leave the database unchanged', () => {
    it('404 CUSTOMER_NOT_FOUND', async () => {
      const response = await expectUnchanged(sql, () =>
        post({ customerId: 987_654, items: [{ productId: fx.productIds[0]!, quantity: 1 }] }),
      );
      expectError(response, 404, 'CUSTOMER_NOT_FOUND');
      expect(response.body.error.details).toEqual({ customerId: 987_654 });
    });

    it('404 PRODUCT_NOT_FOUND listing the missing ids', async () => {
      const response = await expectUnchanged(sql, () =>
        post({
          customerId,
          items: [
            { productId: 888_002, quantity: 1 },
            { productId: fx.productIds[0]!, quantity: 1 },
            { productId: 888_001, quantity: 2 },
          ],
        }),
      );
      expectError(response, 404, 'PRODUCT_NOT_FOUND');
      expect(response.body.error.details).toEqual({ productIds: [888_001, 888_002] });
    });

    it('409 INSUFFICIENT_STOCK listing each product with requested and available', async () => {
      const [p1, p2] = fx.productIds as [number, number];
      await setProduct(sql, p2, { stock: 1 });
      const response = await expectUnchanged(sql, () =>
        post({
          customerId,
          items: [
            { productId: p2, quantity: 1 },
            { productId: p1, quantity: 21 },
            { productId: p2, quantity: 1 },
          ],
        }),
      );
      expectError(response, 409, 'INSUFFICIENT_STOCK');
      expect(response.body.error.details).toEqual({
        products: [
          { productId: p1, requested: 21, available: 20 },
          { productId: p2, requested: 2, available: 1 },
        ],
      });
    });

    const valid = () => ({ customerId, items: [{ productId: fx.productIds[0]!, quantity: 1 }] });
    const cases: Array<[string, () => unknown, string[]]> = [
      ['missing fields', () => ({}), ['body.customerId', 'body.items']],
      ['customerId as a string', () => ({ ...valid(), customerId: String(customerId) }), ['body.customerId']],
      ['customerId 0', () => ({ ...valid(), customerId: 0 }), ['body.customerId']],
      ['customerId above 2^31-1', () => ({ ...valid(), customerId: 2_147_483_648 }), ['body.customerId']],
      ['no items', () => ({ customerId, items: [] }), ['body.items']],
      [
        '51 items',
        () => ({ customerId, items: Array.from({ length: 51 }, () => ({ productId: fx.productIds[0]!, quantity: 1 })) }),
        ['body.items'],
      ],
      ['quantity 0', () => ({ customerId, items: [{ productId: fx.productIds[0]!, quantity: 0 }] }), ['body.items.0.quantity']],
      ['quantity 1001', () => ({ customerId, items: [{ productId: fx.productIds[0]!, quantity: 1001 }] }), ['body.items.0.quantity']],
      ['quantity 1.5', () => ({ customerId, items: [{ productId: fx.productIds[0]!, quantity: 1.5 }] }), ['body.items.0.quantity']],
      ['negative productId', () => ({ customerId, items: [{ productId: -3, quantity: 1 }] }), ['body.items.0.productId']],
      [
        'a client-sent price',
        () => ({ customerId, items: [{ productId: fx.productIds[0]!, quantity: 1, price: '0.01' }] }),
        ['body.items.0.price'],
      ],
      ['a client-sent total', () => ({ ...valid(), totalAmount: '0.01' }), ['body.totalAmount']],
      [
        'several problems at once',
        () => ({
          customerId: -1,
          items: [
            { productId: 'x', quantity: 1 },
            { productId: 1, quantity: 5000, unitPrice: '1' },
          ],
          total: 1,
        }),
        ['body.customerId', 'body.items.0.productId', 'body.items.1.quantity', 'body.items.1.unitPrice', 'body.total'],
      ],
    ];
    it.each(cases)('400 VALIDATION_ERROR: %s', async (_name, body, fields) => {
      const response = await expectUnchanged(sql, () => post(body()));
      expectError(response, 400, 'VALIDATION_ERROR');
      expect(response.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([...fields].sort());
    });

    it('400 VALIDATION_ERROR for a body that is not JSON', async () => {
      const response = await expectUnchanged(sql, () =>
        api('POST', '/orders', { rawBody: '{"customerId": 1, ', headers: { 'Content-Type': 'application/json' } }),
      );
      expectError(response, 400, 'VALIDATION_ERROR');
    });

    it.each([
      ['empty', ''],
      ['129 characters', 'k'.repeat(129)],
      ['a space', 'has space'],
      ['non-ASCII', 'café'],
    ])('400 VALIDATION_ERROR for an Idempotency-Key that is %s', async (_name, key) => {
      const response = await expectUnchanged(sql, () => post(valid(), { 'Idempotency-Key': key }));
      expectError(response, 400, 'VALIDATION_ERROR');
      expect(response.body.error.details).toEqual([{ field: 'headers.idempotency-key', message: expect.any(String) }]);
    });

    it('accepts a 128-character key', async () => {
      const response = await post(valid(), { 'Idempotency-Key': 'k'.repeat(128) });
      expect(response.status).toBe(201);
    });
  });
});
