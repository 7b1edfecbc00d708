import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as z from 'zod';
import { runSls } from '../../scripts/lib/sls.js';
import { ErrorEnvelopeSchema, type RouteDefinition } from '../../shared/http/route.js';
import { openApiDocument, ROUTES } from '../../shared/http/routes.js';
import { bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api, type JsonResponse } from '../helpers/http.js';
import { cleanEnv } from './helpers.js';

/**
 * The OpenAPI document against the two things it describes: serverless.yml's routes (every one is in
 * it, served by the function that declares it) and the real answers of serverless-offline (each one
 * matches the schema documented for its status, with no undocumented field).
 */
type Document = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };
let document: Document;
let slsFunctions: Record<string, { events: Array<{ httpApi?: { method: string; path: string } | '*' }> }>;

/** A route of its own: every httpApi event but the catch-all ('*', API Gateway's $default, notFound's). */
const ownRoute = (event: { httpApi?: { method: string; path: string } | '*' }) =>
  typeof event.httpApi === 'object' ? event.httpApi : undefined;
let sql: Awaited<ReturnType<typeof testSql>>;
let fixtures: Fixtures;

const routeOf = (fn: string): RouteDefinition => {
  const route = ROUTES.find((candidate) => candidate.function === fn);
  if (!route) throw new Error(`no declared route for ${fn}`);
  return route;
};

/** The real answer matches the schema documented for its status, field for field. */
function expectDocumented(fn: string, response: JsonResponse): void {
  const route = routeOf(fn);
  const operation = document.paths[route.path]![route.method.toLowerCase()]!;
  expect(Object.keys(operation.responses), `${fn}: status ${response.status} is documented`).toContain(String(response.status));
  const schema = route.responses[response.status]?.schema ?? (response.status >= 400 ? ErrorEnvelopeSchema : undefined);
  if (!schema) {
    expect(response.body, `${fn} ${response.status}: no body documented`).toBeUndefined();
    return;
  }
  const parsed = schema.safeParse(response.body);
  expect(parsed.success ? [] : z.prettifyError(parsed.error), `${fn} ${response.status} body`).toEqual([]);
  // zod drops unknown keys: equality means the answer has no field the document does not describe.
  expect(parsed.data, `${fn} ${response.status}: undocumented fields`).toEqual(response.body);
  for (const header of Object.keys(route.responses[response.status]?.headers ?? {})) {
    if (header === 'Idempotent-Replayed') continue; // only on a replay
    expect(response.headers.get(header), `${fn} ${response.status}: header ${header}`).not.toBeNull();
  }
}

beforeAll(async () => {
  document = openApiDocument() as unknown as Document;
  const { code, output } = await runSls(['print', '--format', 'json'], {
    env: cleanEnv(),
    timeoutMs: 60_000,
    fakeSsm: 'dummy credentials',
  });
  if (code !== 0) throw new Error(output);
  slsFunctions = JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)).functions;
  sql = testSql();
  await resetShop(sql);
  fixtures = await insertFixtures(sql, { customers: 2, products: 3, stock: 100 });
}, 90_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

describe('OpenAPI document vs serverless.yml and the handlers', () => {
  it('is OpenAPI 3.1 and lists every httpApi route of serverless.yml, under the function that serves it', () => {
    const httpRoutes = Object.entries(slsFunctions).flatMap(([fn, { events }]) =>
      events.flatMap((event) => {
        const route = ownRoute(event);
        return route ? [{ fn, method: route.method.toLowerCase(), path: route.path }] : [];
      }),
    );
    expect(httpRoutes.length).toBeGreaterThanOrEqual(9);
    expect(openApiDocument()).toMatchObject({ openapi: '3.1.0', info: { title: 'ecommerce-pipeline' } });
    for (const { fn, method, path } of httpRoutes) {
      expect(document.paths[path]?.[method]?.operationId, `${method.toUpperCase()} ${path}`).toBe(fn);
    }
    // …and nothing the API does not serve.
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(httpRoutes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('is generated from the very route each handler validates with', async () => {
    for (const [fn, { events }] of Object.entries(slsFunctions)) {
      if (!events.some(ownRoute)) continue;
      const module = (await import(`../../functions/${fn}.ts`)) as { handler: { route?: RouteDefinition } };
      expect(module.handler.route, `functions/${fn}.ts is built with routeHandler(<its route>)`).toBe(routeOf(fn));
    }
  });

  it('is what serverless-offline serves at GET /openapi.json', async () => {
    const response = await api('GET', '/openapi.json', { authorization: null });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    // The API itself is the first of its servers (the origin it was asked through).
    const generated = JSON.parse(JSON.stringify(openApiDocument([{ url: inject('offlineHttpUrl'), description: 'this API' }])));
    expect(response.body).toEqual(generated);
    expectDocumented('getOpenApi', response);
  });
});

describe('real answers from serverless-offline match their documented schemas', () => {
  it('GET /products/top', async () => {
    expectDocumented('getTopProducts', await api('GET', '/products/top?limit=3', { authorization: null }));
    expectDocumented('getTopProducts', await api('GET', '/products/top?limit=0', { authorization: null }));
  });

  it('POST /orders: 201, 400, 404, 409', async () => {
    const [customerId] = fixtures.customerIds;
    const auth = { authorization: await bearerFor(customerId!) };
    const placed = await api('POST', '/orders', {
      ...auth,
      body: { customerId, items: [{ productId: fixtures.productIds[0], quantity: 2 }] },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expectDocumented('createOrder', placed);
    expectDocumented('createOrder', await api('POST', '/orders', { ...auth, body: { customerId, items: [] } }));
    expectDocumented(
      'createOrder',
      await api('POST', '/orders', { ...auth, body: { customerId, items: [{ productId: 999_999, quantity: 1 }] } }),
    );
    expectDocumented(
      'createOrder',
      await api('POST', '/orders', { ...auth, body: { customerId, items: [{ productId: fixtures.productIds[1], quantity: 1000 }] } }),
    );
    expectDocumented(
      'createOrder',
      await api('POST', '/orders', { authorization: null, body: { customerId, items: [{ productId: 1, quantity: 1 }] } }),
    );
  });

  it('carts: PUT 200, GET 200, checkout 201, GET 404, DELETE 204, PUT 412', async () => {
    const customerId = fixtures.customerIds[1]!;
    const auth = { authorization: await bearerFor(customerId) };
    const items = [{ productId: fixtures.productIds[2]!, quantity: 1, attributes: { size: 'M' } }];
    const saved = await api('PUT', `/carts/${customerId}`, { ...auth, body: { items, note: 'ring twice' } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expectDocumented('saveCart', saved);
    expectDocumented('getCart', await api('GET', `/carts/${customerId}`, auth));
    expectDocumented('checkoutCart', await api('POST', `/carts/${customerId}/checkout`, auth));
    expectDocumented('getCart', await api('GET', `/carts/${customerId}`, auth));
    expectDocumented('deleteCart', await api('DELETE', `/carts/${customerId}`, auth));
    expectDocumented('saveCart', await api('PUT', `/carts/${customerId}`, { ...auth, body: { items }, headers: { 'If-Match': '"99"' } }));
    expectDocumented('getCart', await api('GET', `/carts/${customerId}`, { authorization: await bearerFor(customerId + 1) }));
  });

  it('the read side: GET /products, /products/{productId}, /customers/{customerId}/orders, /orders/{orderId}', async () => {
    const [customerId] = fixtures.customerIds;
    const auth = { authorization: await bearerFor(customerId!) };
    const placed = await api('POST', '/orders', {
      ...auth,
      body: { customerId, items: [{ productId: fixtures.productIds[0], quantity: 1 }] },
    });
    expect(placed.status).toBe(201);
    const page = await api('GET', '/products?limit=2', { authorization: null });
    expect(page.body.nextCursor).not.toBeNull();
    expectDocumented('listProducts', page);
    expectDocumented('listProducts', await api('GET', '/products?limit=500', { authorization: null }));
    expectDocumented('getProduct', await api('GET', `/products/${fixtures.productIds[0]}`, { authorization: null }));
    expectDocumented('getProduct', await api('GET', '/products/2147483647', { authorization: null }));
    expectDocumented('listCustomerOrders', await api('GET', `/customers/${customerId}/orders?limit=1`, auth));
    expectDocumented('listCustomerOrders', await api('GET', `/customers/${customerId! + 1}/orders`, auth));
    expectDocumented('listCustomerOrders', await api('GET', '/customers/2147483647/orders'));
    expectDocumented('getOrder', await api('GET', `/orders/${placed.body.orderId}`, auth));
    expectDocumented('getOrder', await api('GET', `/orders/${placed.body.orderId}`, { authorization: await bearerFor(customerId! + 1) }));
  });

  it('admin routes: GET /analytics/summary, GET /benchmarks/latest', async () => {
    expectDocumented('getAnalyticsSummary', await api('GET', '/analytics/summary?days=7&top=3'));
    expectDocumented('getAnalyticsSummary', await api('GET', '/analytics/summary', { authorization: null }));
    const latest = await api('GET', '/benchmarks/latest?status=any&plans=false');
    expect([200, 404]).toContain(latest.status);
    expectDocumented('getLatestBenchmark', latest);
  });
});
