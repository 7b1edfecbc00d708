import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { ROUTES as DECLARED_ROUTES } from '../../shared/http/routes.js';
import { invokeLambda, lambdaClient, RUN_BENCHMARKS, TINY_SIZES } from '../benchmarks/helpers.js';
import { resetCarts, snapshotCarts, testMongo } from '../carts/helpers.js';
import { adminBearer, bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';
import { dbState } from '../orders/helpers.js';
import { accessClass, authConfig, customToken, declaredHttpRoutes, expectSecurityHeaders, ROUTES, type Route } from './helpers.js';

/**
 * Authentication and authorisation through serverless-offline (the deployed shape): who may call what.
 * Every protected route refuses a missing/invalid/expired token with 401 + WWW-Authenticate; a customer
 * acts only for themself (403, nothing changed); admin routes refuse customers; public routes need no
 * token; the Lambda API (runBenchmarks) stays trusted; the token script signs only for local stages.
 */
const run = promisify(execFile);
const sql = testSql();
const { client, db } = testMongo();
const lambda = lambdaClient(inject('offlineLambdaEndpoint'));
let fx: Fixtures;
let A: number;
let B: number;
let productId: number;
let orderOfB: number;

beforeAll(async () => {
  await resetShop(sql);
  await resetCarts(db);
  fx = await insertFixtures(sql, { customers: 3, products: 3, stock: 100 });
  [A, B] = fx.customerIds as [number, number];
  productId = fx.productIds[0]!;
  // B has a cart and an order history that nobody else may touch.
  const cart = await api('PUT', `/carts/${B}`, {
    body: { items: [{ productId, quantity: 2, attributes: { colour: 'blue' } }], note: "B's cart" },
    authorization: await bearerFor(B),
  });
  expect(cart.status).toBe(200);
  const order = await api('POST', '/orders', {
    body: { customerId: B, items: [{ productId, quantity: 1 }] },
    authorization: await bearerFor(B),
  });
  expect(order.status).toBe(201);
  orderOfB = order.body.orderId;
});

afterAll(async () => {
  lambda.destroy();
  await client.close();
  await sql.end();
});

/** A concrete request for a route, acting for `customerId`. */
function requestFor(route: Route, customerId: number): { path: string; body?: unknown } {
  const path = route.path
    .replace('{customerId}', String(customerId))
    .replace('{productId}', String(productId))
    .replace('{orderId}', String(orderOfB));
  if (route.method === 'POST' && route.path === '/orders') return { path, body: { customerId, items: [{ productId, quantity: 1 }] } };
  if (route.method === 'PUT') return { path, body: { items: [{ productId, quantity: 9 }], note: 'overwritten' } };
  return { path };
}

/** Everything a request could have changed: Postgres rows and stock, and every cart document. */
async function everything() {
  return { db: await dbState(sql), carts: await snapshotCarts(db) };
}

describe('the route table', () => {
  it('classifies exactly the HTTP routes serverless.yml declares', () => {
    const declared = declaredHttpRoutes()
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(declared.length).toBeGreaterThan(0);
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(declared);
  });

  it('and the route declarations the handlers are built from grant exactly that access', () => {
    const declarations = Object.fromEntries(DECLARED_ROUTES.map((r) => [`${r.method} ${r.path}`, accessClass(r.request.access)]));
    expect(declarations).toEqual(Object.fromEntries(ROUTES.map((r) => [`${r.method} ${r.path}`, r.access])));
  });
});

describe('authentication: 401 + WWW-Authenticate on every protected route', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const badCredentials: Array<[string, () => Promise<string | null>, RegExp]> = [
    ['no Authorization header', async () => null, /^Bearer realm="ecommerce-pipeline"$/],
    ['an empty header', async () => '', /^Bearer realm="ecommerce-pipeline"$/],
    ['Basic credentials', async () => 'Basic dXNlcjpwYXNz', /^Bearer realm="ecommerce-pipeline"$/],
    ['"Bearer" alone', async () => 'Bearer', /error="invalid_request"/],
    ['a bearer value that is not a JWT', async () => 'Bearer not-a-jwt', /error="invalid_request"/],
    ['two tokens', async () => `${await bearerFor(A)}, ${await bearerFor(A)}`, /error="invalid_request"/],
    [
      'a token signed with another secret',
      async () => `Bearer ${await customToken({ sub: String(A) }, { secret: 'x'.repeat(40) })}`,
      /error="invalid_token"/,
    ],
    [
      'an expired token (beyond the clock skew)',
      async () => `Bearer ${await customToken({ sub: String(A) }, { exp: now() - 120 })}`,
      /error="invalid_token"/,
    ],
    [
      'a token not valid yet (nbf in an hour)',
      async () => `Bearer ${await customToken({ sub: String(A), nbf: now() + 3600 })}`,
      /error="invalid_token"/,
    ],
    ['a token without exp', async () => `Bearer ${await customToken({ sub: String(A) }, { exp: null })}`, /error="invalid_token"/],
    ['a token without sub', async () => `Bearer ${await customToken({})}`, /error="invalid_token"/],
    [
      'another issuer',
      async () => `Bearer ${await customToken({ sub: String(A) }, { issuer: 'https://evil.example' })}`,
      /error="invalid_token"/,
    ],
    [
      'another audience',
      async () => `Bearer ${await customToken({ sub: String(A) }, { audience: 'another-api' })}`,
      /error="invalid_token"/,
    ],
    ['no audience', async () => `Bearer ${await customToken({ sub: String(A) }, { audience: null })}`, /error="invalid_token"/],
    [
      'HS512 with the right secret (algorithm not allowed)',
      async () => `Bearer ${await customToken({ sub: String(A) }, { alg: 'HS512' })}`,
      /error="invalid_token"/,
    ],
    [
      'alg "none" (unsigned) claiming admin',
      async () => {
        const config = authConfig();
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `Bearer ${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: String(A), scope: 'admin', iss: config.issuer, aud: config.audience, exp: now() + 600 })}.`;
      },
      /error="invalid_(token|request)"/,
    ],
    [
      'a valid token whose payload was edited (sub B → admin)',
      async () => {
        const [header, , signature] = (await bearerFor(B)).slice('Bearer '.length).split('.');
        const config = authConfig();
        const forged = Buffer.from(
          JSON.stringify({ sub: String(B), scope: 'admin', iss: config.issuer, aud: config.audience, exp: now() + 600 }),
        ).toString('base64url');
        return `Bearer ${header}.${forged}.${signature}`;
      },
      /error="invalid_token"/,
    ],
  ];

  for (const route of ROUTES.filter((r) => r.access !== 'public')) {
    it(`${route.method} ${route.path}`, async () => {
      const before = await everything();
      for (const [what, credentials, challenge] of badCredentials) {
        const { path, body } = requestFor(route, B);
        const response = await api(route.method, path, { ...(body === undefined ? {} : { body }), authorization: await credentials() });
        const label = `${route.method} ${path} with ${what}`;
        expect(response.status, label).toBe(401);
        expect(response.body.error.code, label).toBe('UNAUTHORIZED');
        expect(response.headers.get('www-authenticate'), label).toMatch(challenge);
        expectSecurityHeaders(response.headers, label);
      }
      expect(await everything()).toEqual(before);
    });
  }

  it("serverless-offline's authorizer-override header authenticates nobody (the functions verify the token themselves)", async () => {
    const forged = JSON.stringify({ jwt: { claims: { sub: String(B), scope: 'admin' } }, principalId: String(B) });
    const response = await api('GET', `/carts/${B}`, { authorization: null, headers: { 'sls-offline-authorizer-override': forged } });
    expect(response.status).toBe(401);
  });

  it('a customer token is accepted on the routes it owns (positive control)', async () => {
    const own = await api('GET', `/carts/${B}`, { authorization: await bearerFor(B) });
    expect(own.status).toBe(200);
    expect(own.body.note).toBe("B's cart");
  });
});

describe('authorisation: a customer acts only for themself', () => {
  it('customer A cannot place orders for B, nor read, write, delete or check out B’s cart: 403, nothing changed', async () => {
    const tokenA = await bearerFor(A);
    const before = await everything();
    for (const route of ROUTES.filter((r) => r.access === 'customer')) {
      const { path, body } = requestFor(route, B);
      const response = await api(route.method, path, { ...(body === undefined ? {} : { body }), authorization: tokenA });
      const label = `A → ${route.method} ${path}`;
      expect(response.status, label).toBe(403);
      expect(response.body, label).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
      expect(JSON.stringify(response.body), label).not.toContain("B's cart");
      expectSecurityHeaders(response.headers, label);
    }
    expect(await everything()).toEqual(before);
  });

  it('an order is visible to its customer and admins; to another customer it does not exist (404, not 403)', async () => {
    const mine = await api('GET', `/orders/${orderOfB}`, { authorization: await bearerFor(B) });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ orderId: orderOfB, customerId: B });
    expect((await api('GET', `/orders/${orderOfB}`, { authorization: await adminBearer() })).status).toBe(200);
    const other = await api('GET', `/orders/${orderOfB}`, { authorization: await bearerFor(A) });
    const unknown = await api('GET', '/orders/2147483647', { authorization: await bearerFor(A) });
    expect(other.status).toBe(404);
    // The same answer as an order that does not exist, apart from the id it names.
    expect(other.body).toEqual({
      error: { code: 'ORDER_NOT_FOUND', message: `Order ${orderOfB} does not exist.`, details: { orderId: orderOfB } },
    });
    expect(unknown.body).toEqual({
      error: { code: 'ORDER_NOT_FOUND', message: 'Order 2147483647 does not exist.', details: { orderId: 2147483647 } },
    });
    expect(JSON.stringify(other.body)).not.toContain(String(B));
  });

  it('a duplicated JSON key cannot smuggle another customer in (the last one wins, and is checked)', async () => {
    const before = await everything();
    const raw = `{"customerId": ${A}, "items": [{"productId": ${productId}, "quantity": 1}], "customerId": ${B}}`;
    const response = await api('POST', '/orders', { rawBody: raw, authorization: await bearerFor(A) });
    expect(response.status).toBe(403);
    expect(await everything()).toEqual(before);
  });

  it('tokens whose subject is not exactly the customer id act for nobody', async () => {
    for (const sub of ['alice', `0${B}`, `${B}.0`, ` ${B}`, `${B}e0`, '-1', '99999999999']) {
      const token = `Bearer ${await customToken({ sub })}`;
      const response = await api('GET', `/carts/${B}`, { authorization: token });
      expect(response.status, `sub ${JSON.stringify(sub)}`).toBe(403);
    }
  });

  it('A may do all of it for A; an admin may act for any customer', async () => {
    const tokenA = await bearerFor(A);
    expect((await api('PUT', `/carts/${A}`, { body: { items: [{ productId, quantity: 1 }] }, authorization: tokenA })).status).toBe(200);
    expect((await api('GET', `/carts/${A}`, { authorization: tokenA })).status).toBe(200);
    expect((await api('POST', `/carts/${A}/checkout`, { authorization: tokenA })).status).toBe(201);
    expect((await api('DELETE', `/carts/${A}`, { authorization: tokenA })).status).toBe(204);
    const order = await api('POST', '/orders', { body: { customerId: A, items: [{ productId, quantity: 1 }] }, authorization: tokenA });
    expect(order.status).toBe(201);
    expect(order.body.customerId).toBe(A);

    const admin = await adminBearer();
    const read = await api('GET', `/carts/${B}`, { authorization: admin });
    expect(read.status).toBe(200);
    expect(read.body.note).toBe("B's cart");
  });
});

describe('admin-only routes', () => {
  const adminRoutes = ROUTES.filter((r) => r.access === 'admin');

  it('refuse customer tokens (403) and tokens whose scope only resembles admin', async () => {
    const lookalikes = [
      await bearerFor(A),
      `Bearer ${await customToken({ sub: 'ops', scope: 'administrator' })}`,
      `Bearer ${await customToken({ sub: 'ops', scope: 'read:admin' })}`,
      `Bearer ${await customToken({ sub: 'ops', scope: ['admin'] as unknown as string })}`,
      `Bearer ${await customToken({ sub: 'ops', 'cognito:groups': 'admin' })}`,
      `Bearer ${await customToken({ sub: 'ops', admin: true })}`,
    ];
    for (const route of adminRoutes) {
      for (const token of lookalikes) {
        const response = await api(route.method, route.path, { authorization: token });
        expect(response.status, `${route.path} ${token.slice(0, 40)}`).toBe(403);
        expect(response.body.error.code).toBe('FORBIDDEN');
      }
    }
  });

  it('accept the admin scope and the admin group', async () => {
    const admins = [
      await adminBearer(),
      `Bearer ${await customToken({ sub: 'ops', scope: 'openid admin' })}`,
      `Bearer ${await customToken({ sub: 'ops', 'cognito:groups': ['staff', 'admin'] })}`,
    ];
    for (const token of admins) {
      const analytics = await api('GET', '/analytics/summary?days=7&top=3', { authorization: token });
      expect(analytics.status).toBe(200);
      expect(analytics.headers.get('cache-control')).toBe('no-store');
      const latest = await api('GET', '/benchmarks/latest', { authorization: token });
      // 404 BENCHMARK_NOT_FOUND when no run is stored: authorised either way.
      expect([200, 404]).toContain(latest.status);
    }
  });
});

describe('public routes', () => {
  it('GET /products/top needs no token (and ignores a bad one)', async () => {
    for (const authorization of [null, 'Bearer not-a-jwt', await bearerFor(A)]) {
      const response = await api('GET', '/products/top?limit=3', { authorization });
      expect(response.status).toBe(200);
      expect(Array.isArray(response.body.products)).toBe(true);
      expectSecurityHeaders(response.headers, `GET /products/top with ${String(authorization).slice(0, 12)}`);
    }
  });

  it('GET /openapi.json needs no token', async () => {
    const response = await api('GET', '/openapi.json', { authorization: null });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expectSecurityHeaders(response.headers, 'GET /openapi.json');
  });

  it('no HTTP route triggers a benchmark run', async () => {
    for (const [method, path] of [
      ['POST', '/benchmarks'],
      ['POST', '/benchmarks/run'],
      ['GET', '/benchmarks/run'],
    ] as const) {
      // 404 for a path the API does not have, 405 for a method its path does not take (GET /benchmarks lists runs).
      const answer = await api(method, path, { authorization: await adminBearer() });
      expect(answer.status, `${method} ${path}`).toBe(path === '/benchmarks' ? 405 : 404);
      expect(answer.body.error.code).toBe(path === '/benchmarks' ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND');
    }
  });
});

describe('Lambda-API invocations stay trusted (IAM protects them in the cloud)', () => {
  it('runBenchmarks runs without any bearer token', async () => {
    const { functionError, payload } = await invokeLambda(lambda, RUN_BENCHMARKS, { suites: ['cache'], sizes: TINY_SIZES, repetitions: 5 });
    expect(functionError, JSON.stringify(payload)).toBeUndefined();
    expect(payload).toMatchObject({ status: 'succeeded', trigger: 'invoke' });
  }, 60_000);
});

describe('npm run --silent token', () => {
  const token = (args: string[], env: Record<string, string> = {}) =>
    run('npm', ['run', '--silent', 'token', '--', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );

  it('prints a token that works against serverless-offline (customer and --admin)', async () => {
    const customer = await token(['--sub', String(A)]);
    expect(customer.code, customer.stderr).toBe(0);
    expect(customer.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const bearer = `Bearer ${customer.stdout.trim()}`;
    expect([200, 404]).toContain((await api('GET', `/carts/${A}`, { authorization: bearer })).status);
    expect((await api('GET', `/carts/${B}`, { authorization: bearer })).status).toBe(403);
    expect((await api('GET', '/analytics/summary', { authorization: bearer })).status).toBe(403);

    const admin = await token(['--sub', 'ops', '--admin', '--ttl', '5m']);
    expect(admin.code, admin.stderr).toBe(0);
    expect((await api('GET', '/analytics/summary', { authorization: `Bearer ${admin.stdout.trim()}` })).status).toBe(200);
  }, 60_000);

  it('refuses non-local stages and identity-provider environments, printing no token', async () => {
    for (const stage of ['prod', 'staging']) {
      const refused = await token(['--sub', '42', '--stage', stage]);
      expect(refused.code, stage).not.toBe(0);
      expect(refused.stdout, stage).toBe('');
      expect(refused.stderr, stage).toMatch(/refusing to sign a token for stage/);
    }
    const jwks = await token(['--sub', '42'], { AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' });
    expect(jwks.code).not.toBe(0);
    expect(jwks.stdout).toBe('');
    expect(jwks.stderr).toMatch(/AUTH_JWKS_URL is set/);
    // prod authenticates with an identity provider's JWKS (serverless.yml params), whatever its name.
    expect((await token(['--sub', '42', '--stage', 'prod'])).stderr).toMatch(/identity provider/);
  }, 60_000);

  it('refuses a lifetime longer than the verifier accepts (AUTH_MAX_TOKEN_AGE_SECONDS, a day by default)', async () => {
    for (const ttl of ['3650d', '25h', '86401']) {
      const refused = await token(['--sub', '42', '--admin', '--ttl', ttl]);
      expect(refused.code, ttl).not.toBe(0);
      expect(refused.stdout, ttl).toBe('');
      expect(refused.stderr, ttl).toMatch(/maximum/);
    }
    expect((await token(['--sub', '42', '--ttl', '24h'])).code).toBe(0);
  }, 60_000);
});
