import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { handler as getCart } from '../../functions/getCart.js';
import { handler as getTopProducts } from '../../functions/getTopProducts.js';
import { closeMongo } from '../../shared/clients/mongo.js';
import { closeSql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { resetCarts, testMongo } from '../carts/helpers.js';
import { bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';
import { callHandler, expectSecurityHeaders } from './helpers.js';

/**
 * Response headers through serverless-offline: the security headers on every answer (success and every
 * kind of error), no-store on anything personal; and CORS from the CORS_ALLOWED_ORIGINS allow-list only.
 */
const sql = testSql();
const { client, db } = testMongo();
const allowed = parseConfig(process.env).cors.allowedOrigins;
let fx: Fixtures;
let C: number;
let token: string;

beforeAll(async () => {
  await resetShop(sql);
  await resetCarts(db);
  fx = await insertFixtures(sql, { customers: 2, products: 2, stock: 10 });
  C = fx.customerIds[0]!;
  token = await bearerFor(C);
  expect((await api('PUT', `/carts/${C}`, { body: { items: [] }, authorization: token })).status).toBe(200);
});

afterAll(async () => {
  await closeSql();
  await closeMongo();
  await client.close();
  await sql.end();
});

describe('security headers on every answer', () => {
  it('success, client errors and auth errors alike', async () => {
    const P = fx.productIds[0]!;
    const answers: Array<[string, Awaited<ReturnType<typeof api>>, number]> = [
      [
        '201 order',
        await api('POST', '/orders', { body: { customerId: C, items: [{ productId: P, quantity: 1 }] }, authorization: token }),
        201,
      ],
      ['200 cart', await api('PUT', `/carts/${C}`, { body: { items: [] }, authorization: token }), 200],
      ['204 delete', await api('DELETE', `/carts/${C}`, { authorization: token }), 204],
      ['200 top products', await api('GET', '/products/top', { authorization: null }), 200],
      ['200 analytics', await api('GET', '/analytics/summary?days=1'), 200],
      ['400 validation', await api('POST', '/orders', { body: { customerId: C, items: [] }, authorization: token }), 400],
      ['404 cart', await api('GET', `/carts/${C}`, { authorization: token }), 404],
      [
        '409 stock',
        await api('POST', '/orders', { body: { customerId: C, items: [{ productId: P, quantity: 1000 }] }, authorization: token }),
        409,
      ],
      ['413 size', await api('PUT', `/carts/${C}`, { rawBody: `{"items":[],"note":"${'x'.repeat(70_000)}"}`, authorization: token }), 413],
      ['415 type', await api('PUT', `/carts/${C}`, { rawBody: 'x', headers: { 'Content-Type': 'text/plain' }, authorization: token }), 415],
      ['401 no token', await api('GET', `/carts/${C}`, { authorization: null }), 401],
      ['403 other customer', await api('GET', `/carts/${C + 1}`, { authorization: token }), 403],
    ];
    for (const [label, response, status] of answers) {
      expect(response.status, label).toBe(status);
      expectSecurityHeaders(response.headers, label);
    }
  });

  it('Cache-Control: no-store on personal and admin answers and on every error; public successes may be cached', async () => {
    const P = fx.productIds[1]!;
    const personal = [
      await api('POST', '/orders', { body: { customerId: C, items: [{ productId: P, quantity: 1 }] }, authorization: token }),
      await api('PUT', `/carts/${C}`, { body: { items: [] }, authorization: token }),
      await api('GET', `/carts/${C}`, { authorization: token }),
      await api('GET', '/analytics/summary?days=1'),
      await api('GET', '/products/top?limit=0', { authorization: null }),
      await api('GET', `/carts/${C}`, { authorization: null }),
    ];
    for (const response of personal) expect(response.headers.get('cache-control'), String(response.status)).toBe('no-store');
    const top = await api('GET', '/products/top', { authorization: null });
    expect(top.status).toBe(200);
    expect(top.headers.get('cache-control')).not.toBe('no-store');
  });
});

describe('cookies the API never reads, through serverless-offline', () => {
  it('a cookie another app on localhost set (a space, a quote, a comma in its value) does not fail a request', async () => {
    // API Gateway passes cookies on untouched; the functions never read them.
    for (const cookie of ['theme=dark mode', 'prefs="a,b"', 'a=1; b=two words']) {
      const response = await api('GET', '/products/top?limit=1', { authorization: null, headers: { Cookie: cookie } });
      expect(response.status, `${cookie}: ${JSON.stringify(response.body)}`).toBe(200);
    }
  });
});

/**
 * Preflights never reach a function (no route answers OPTIONS): API Gateway answers them from
 * provider.httpApi.cors, which serverless.yml builds from the same allow-list
 * (scripts/serverless/http-api-cors.cjs; the template is checked in tests/deploy/package.test.ts).
 * serverless-offline answers them from the same configuration.
 */
describe('CORS preflight (OPTIONS), through serverless-offline', () => {
  const preflight = (origin: string, method: string) =>
    fetch(`${inject('offlineHttpUrl')}/carts/${C}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'authorization,content-type,if-match',
      },
      signal: AbortSignal.timeout(20_000),
    });

  it('allows an allowed origin to PUT with a bearer token, for 10 minutes', async () => {
    for (const origin of allowed) {
      const response = await preflight(origin, 'PUT');
      expect(response.status, origin).toBeLessThan(300);
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(response.headers.get('access-control-allow-methods')).toMatch(/\bPUT\b/);
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization.*content-type.*if-match/);
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('gives any other origin nothing to go on', async () => {
    const response = await preflight('https://evil.example', 'PUT');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/**
 * The functions' own CORS headers, in process: what serverless-offline and API Gateway without a CORS
 * configuration pass through (with one, API Gateway replaces them by its own, from the same list).
 * Through serverless-offline, its onPreResponse hook echoes any request Origin on actual (non-OPTIONS)
 * requests — an offline-only artifact — so these checks call the handlers directly.
 */
describe('CORS allow-list (CORS_ALLOWED_ORIGINS), in process', () => {
  const call = async (
    handler: Parameters<typeof callHandler>[0],
    origin: string,
    authorization: string | null,
    path: string,
    pathParameters?: Record<string, string>,
  ) => callHandler(handler, { method: 'GET', path, ...(pathParameters ? { pathParameters } : {}), headers: { origin }, authorization });

  it('a preflight that reaches the catch-all function (API Gateway’s $default route takes OPTIONS) is answered as one', async () => {
    const { handler: notFound } = await import('../../functions/notFound.js');
    for (const origin of allowed) {
      const response = await callHandler(notFound, {
        method: 'OPTIONS',
        path: `/carts/${C}`,
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization,content-type,if-match',
        },
        authorization: null,
      });
      expect(response.status, origin).toBe(204);
      expect(response.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(response.headers['access-control-allow-methods']).toMatch(/\bPUT\b/);
    }
  });

  it('the test environment has an allow-list to check', () => {
    expect(allowed.length).toBeGreaterThan(0);
  });

  it('echoes an allowed origin (with Vary: Origin and the exposed headers), on successes and errors', async () => {
    for (const origin of allowed) {
      for (const [label, response] of [
        ['200 public', await call(getTopProducts, origin, null, '/products/top')],
        ['200 own cart', await call(getCart, origin, token, `/carts/${C}`, { customerId: String(C) })],
        ['401', await call(getCart, origin, null, `/carts/${C}`, { customerId: String(C) })],
        ['403', await call(getCart, origin, token, `/carts/${C + 1}`, { customerId: String(C + 1) })],
      ] as const) {
        expect(response.headers['access-control-allow-origin'], `${origin} ${label}`).toBe(origin);
        expect(response.headers.vary, `${origin} ${label}`).toMatch(/Origin/);
        expect(response.headers['access-control-expose-headers']).toMatch(/Retry-After/);
        // Bearer tokens, not cookies: credentials are never allowed.
        expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      }
    }
  });

  it('does not allow any other origin, however similar', async () => {
    const first = new URL(allowed[0]!);
    const others = [
      'https://evil.example',
      'null',
      '*',
      `${first.protocol}//${first.hostname}.evil.example${first.port ? `:${first.port}` : ''}`,
      `${first.protocol}//evil${first.hostname}${first.port ? `:${first.port}` : ''}`,
      `${first.protocol === 'http:' ? 'https:' : 'http:'}//${first.host}`,
      `${first.protocol}//${first.hostname}:1${first.port || '0'}`,
      `${allowed[0]}/`,
      `${allowed[0]}.evil.example`,
      ` ${allowed[0]}`,
    ].filter((origin) => !allowed.includes(origin));
    for (const origin of others) {
      for (const response of [
        await call(getTopProducts, origin, null, '/products/top'),
        await call(getCart, origin, token, `/carts/${C}`, { customerId: String(C) }),
        await call(getCart, origin, null, `/carts/${C}`, { customerId: String(C) }),
      ]) {
        expect(response.headers['access-control-allow-origin'], origin).toBeUndefined();
        expect(response.headers['access-control-allow-credentials'], origin).toBeUndefined();
      }
    }
  });
});
