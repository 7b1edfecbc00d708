import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { ferretDbStorageUrl, startFerretDb, stopFerretDb } from '../../scripts/services.js';
import { dropDatabase } from '../db/helpers.js';
import { bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import { sleep } from './helpers.js';

/**
 * MongoDB stopped under a concurrent, mixed stream of cart calls and orders — an extension of
 * tests/carts/carts-offline.test.ts (which stops the shared server under serverless-offline and checks each
 * cart route answers 503 + Retry-After, POST /orders still works and the warm workers reconnect). Here the
 * handlers run in process against a FerretDB instance of this file's own, on its own port (startFerretDb), so other engineers' tests on 27017 are never disturbed; and what is checked is what the
 * sequential test does not: while carts fail, orders keep flowing concurrently at full speed; nothing a cart
 * call attempted during the outage is applied afterwards (no late write, no order from a failed checkout); the
 * same warm handlers recover when the server is back.
 */
const sql = testSql();

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const PORT = await freePort();
let ownInstance = true;
try {
  await startFerretDb(PORT);
} catch (error) {
  // No FerretDB binary here (e.g. a compose setup with mongo:7): a closed port still shows the 503s.
  ownInstance = false;
  console.warn(`[mongo down] could not start an own FerretDB on ${PORT} (${String(error).slice(0, 200)}); using a closed port`);
}

process.env.MONGODB_URI = `mongodb://127.0.0.1:${PORT}`;
process.env.MONGODB_DATABASE = 'shop_test_faults';
const { handler: saveCart } = await import('../../functions/saveCart.js');
const { handler: getCart } = await import('../../functions/getCart.js');
const { handler: deleteCart } = await import('../../functions/deleteCart.js');
const { handler: checkoutCart } = await import('../../functions/checkoutCart.js');
const { handler: createOrder } = await import('../../functions/createOrder.js');
const { closeMongo } = await import('../../shared/clients/mongo.js');
const { closeSql } = await import('../../shared/clients/postgres.js');

let fx: Fixtures;
let X: number; // the cart owner
let O: number; // the customer who keeps ordering
let tokenX: string;
let tokenO: string;

beforeAll(async () => {
  await resetShop(sql);
  // Orders stream for ~2 s against one product, a few thousand of them in process: the stock must outlast them.
  fx = await insertFixtures(sql, { customers: 2, products: 3, stock: 100_000 });
  [X, O] = fx.customerIds as [number, number];
  tokenX = await bearerFor(X);
  tokenO = await bearerFor(O);
}, 120_000);

afterAll(async () => {
  try {
    await closeMongo();
    await closeSql();
    await sql.end();
  } finally {
    if (ownInstance) {
      await stopFerretDb(PORT).catch(() => {});
      await dropDatabase(ferretDbStorageUrl(PORT));
      rmSync(`${ROOT}.cache/ferretdb-${PORT}.log`, { force: true });
    }
  }
}, 60_000);

const cart = (method: string, suffix = '', extra: object = {}) =>
  httpEvent({
    method,
    path: `/carts/${X}${suffix}`,
    routeKey: `${method} /carts/{customerId}${suffix}`,
    pathParameters: { customerId: String(X) },
    authorization: tokenX,
    ...extra,
  });

async function call(handler: typeof saveCart, event: ReturnType<typeof httpEvent>, name: string) {
  const started = performance.now();
  const response = await handler(event, lambdaContext(name));
  return {
    status: response.statusCode ?? 0,
    headers: response.headers ?? {},
    body: response.body ? JSON.parse(String(response.body)) : undefined,
    ms: performance.now() - started,
  };
}

const cartCalls = [
  () => call(getCart, cart('GET'), 'getCart'),
  () =>
    call(
      saveCart,
      cart('PUT', '', { body: { items: [{ productId: fx.productIds[2], quantity: 9 }], note: 'written during the outage' } }),
      'saveCart',
    ),
  () => call(checkoutCart, cart('POST', '/checkout'), 'checkoutCart'),
  () => call(deleteCart, cart('DELETE'), 'deleteCart'),
];
const order = (quantity = 1) =>
  call(
    createOrder,
    httpEvent({
      method: 'POST',
      path: '/orders',
      body: { customerId: O, items: [{ productId: fx.productIds[0], quantity }] },
      authorization: tokenO,
    }),
    'createOrder',
  );

async function orderCount(customerId: number): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from orders where customer_id = ${customerId}`;
  return row!.n;
}

describe('MongoDB stopped under a mixed stream', () => {
  it('carts 503 + Retry-After, orders 201 concurrently; nothing from the outage lands later; recovery', async () => {
    let before: any;
    if (ownInstance) {
      const saved = await call(
        saveCart,
        cart('PUT', '', { body: { items: [{ productId: fx.productIds[1], quantity: 2, attributes: { size: 'L' } }], note: 'before' } }),
        'saveCart',
      );
      expect(saved.status).toBe(200);
      before = saved.body;
      expect((await call(getCart, cart('GET'), 'getCart')).status).toBe(200); // warm: a connected client
      await stopFerretDb(PORT);
    }
    const ordersBefore = { X: await orderCount(X), O: await orderCount(O) };

    // Two concurrent clients for ~2 s: one keeps using the cart, one keeps ordering.
    const deadline = performance.now() + 2_000;
    const cartAnswers: Array<Awaited<ReturnType<typeof order>>> = [];
    const orderAnswers: Array<Awaited<ReturnType<typeof order>>> = [];
    await Promise.all([
      (async () => {
        for (let i = 0; performance.now() < deadline; i++) cartAnswers.push(await cartCalls[i % cartCalls.length]!());
      })(),
      (async () => {
        while (performance.now() < deadline) orderAnswers.push(await order());
      })(),
    ]);
    console.info(
      `[mongo down] ${cartAnswers.length} cart calls: ${[...new Set(cartAnswers.map((a) => a.status))]} (max ${Math.round(Math.max(...cartAnswers.map((a) => a.ms)))} ms); ` +
        `${orderAnswers.length} orders: ${[...new Set(orderAnswers.map((a) => a.status))]} (max ${Math.round(Math.max(...orderAnswers.map((a) => a.ms)))} ms)`,
    );
    expect(cartAnswers.length).toBeGreaterThanOrEqual(cartCalls.length);
    for (const answer of cartAnswers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.body.error.code).toBe('CART_STORE_UNAVAILABLE');
      expect(Number(answer.headers['Retry-After'])).toBeGreaterThan(0);
      expect(answer.ms).toBeLessThan(5_000); // server selection timeout (2 s) + margin
    }
    expect(orderAnswers.length).toBeGreaterThan(3);
    for (const answer of orderAnswers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      // Under MongoDB's 2 s server selection: an order that waited on the cart store would fail this.
      expect(answer.ms).toBeLessThan(1_800);
    }
    expect(await orderCount(O)).toBe(ordersBefore.O + orderAnswers.length);
    expect(await orderCount(X)).toBe(ordersBefore.X); // the failed checkouts ordered nothing

    if (!ownInstance) return;
    await startFerretDb(PORT);
    const restartedAt = Date.now();
    let read = await call(getCart, cart('GET'), 'getCart');
    while (read.status !== 200 && Date.now() - restartedAt < 20_000) {
      await sleep(250);
      read = await call(getCart, cart('GET'), 'getCart');
    }
    console.info(`[mongo down] the warm handlers read carts again ${Date.now() - restartedAt} ms after the restart`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(before); // no PUT, DELETE or checkout of the outage landed late
    await sleep(500);
    expect((await call(getCart, cart('GET'), 'getCart')).body).toEqual(before);
    expect(await orderCount(X)).toBe(ordersBefore.X);

    const checkout = await call(checkoutCart, cart('POST', '/checkout'), 'checkoutCart');
    expect(checkout.status, JSON.stringify(checkout.body)).toBe(201);
    expect(checkout.body.items).toEqual([{ productId: fx.productIds[1], quantity: 2, unitPrice: expect.any(String) }]);
    expect(await orderCount(X)).toBe(ordersBefore.X + 1);
  }, 90_000);
});
