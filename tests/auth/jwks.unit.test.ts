import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuthConfig, createTokenVerifier, JWKS_TIMEOUT_MS } from '../../shared/auth/tokens.js';
import type { AppError } from '../../shared/errors.js';

/**
 * The cloud path of token verification: keys from the identity provider's JWKS endpoint (here a local
 * HTTP server standing in for Cognito). Valid RS256 tokens pass; tokens signed with another key, an
 * unknown kid or an HS256 "algorithm confusion" are 401; an endpoint that is down, hanging or broken is a
 * 503 AUTH_UNAVAILABLE within the fetch timeout — never a 401 that would send users to log in again.
 */
type Mode = 'ok' | 'hang' | 'error' | 'garbage';
let mode: Mode = 'ok';
let fetches = 0;
let publicJwk: JWK;
let privateKey: CryptoKey;
let otherPrivateKey: CryptoKey;
const pending = new Set<http.ServerResponse>();
const server = http.createServer((_request, response) => {
  fetches += 1;
  if (mode === 'hang') {
    pending.add(response);
    return;
  }
  if (mode === 'error') {
    response.writeHead(500).end('{"message":"internal"}');
    return;
  }
  response
    .writeHead(200, { 'Content-Type': 'application/json' })
    .end(mode === 'garbage' ? '{"keys": "nope"}' : JSON.stringify({ keys: [publicJwk] }));
});
let url: string;

const base = { issuer: 'https://idp.example/pool', audience: 'app-client', clockSkewSeconds: 30, adminScope: 'admin' } satisfies Omit<
  AuthConfig,
  'jwksUrl'
>;

beforeAll(async () => {
  ({ privateKey, publicKey: publicJwk } = await generateKeyPair('RS256', { extractable: true }).then(async (pair) => ({
    privateKey: pair.privateKey,
    publicKey: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' },
  })));
  otherPrivateKey = (await generateKeyPair('RS256')).privateKey;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  for (const response of pending) response.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const sign = (key: CryptoKey, claims: Record<string, unknown>, kid = 'k1', alg = 'RS256') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, kid })
    .setIssuer(base.issuer)
    .setAudience(base.audience)
    .setSubject('42')
    .setExpirationTime('10m')
    .sign(key);

async function outcome(verify: ReturnType<typeof createTokenVerifier>, token: string) {
  try {
    return { principal: await verify(`Bearer ${token}`) };
  } catch (error) {
    return { error: error as AppError };
  }
}

describe('JWKS (cloud) verification', () => {
  it('accepts a token signed by the provider, with groups as admin', async () => {
    mode = 'ok';
    const verify = createTokenVerifier({ ...base, jwksUrl: url });
    expect((await outcome(verify, await sign(privateKey, {}))).principal).toEqual({ subject: '42', customerId: 42, isAdmin: false });
    expect((await outcome(verify, await sign(privateKey, { 'cognito:groups': ['admin'] }))).principal?.isAdmin).toBe(true);
  });

  it('Cognito tokens: access tokens match on client_id (they have no aud); the customer id from a custom claim', async () => {
    mode = 'ok';
    const verify = createTokenVerifier({ ...base, jwksUrl: url, customerClaim: 'custom:customer_id' });
    const cognito = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: '6b2f1c9e-1d2a-4c1e-9f00-0123456789ab', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(base.issuer)
        .setExpirationTime('10m')
        .sign(privateKey);
    const access = await cognito({ token_use: 'access', client_id: base.audience, 'custom:customer_id': '42' });
    expect((await outcome(verify, access)).principal).toEqual({
      subject: '6b2f1c9e-1d2a-4c1e-9f00-0123456789ab',
      customerId: 42,
      isAdmin: false,
    });
    const id = await cognito({ token_use: 'id', aud: base.audience, 'custom:customer_id': '42', 'cognito:groups': ['admin'] });
    expect((await outcome(verify, id)).principal).toMatchObject({ customerId: 42, isAdmin: true });
    // The UUID subject itself acts for nobody; neither does a malformed custom claim.
    expect((await outcome(verify, await cognito({ token_use: 'access', client_id: base.audience }))).principal?.customerId).toBeNull();
    expect(
      (await outcome(verify, await cognito({ token_use: 'access', client_id: base.audience, 'custom:customer_id': '042' }))).principal
        ?.customerId,
    ).toBeNull();
    // Another app client, no audience at all, or client_id on a token that is not an access token: 401.
    for (const claims of [
      { token_use: 'access', client_id: 'another-client' },
      { token_use: 'access' },
      { token_use: 'id', client_id: base.audience },
      { client_id: base.audience },
      { token_use: 'access', client_id: base.audience, aud: 'another-api' },
    ]) {
      const { error } = await outcome(verify, await cognito({ ...claims, 'custom:customer_id': '42' }));
      expect(error?.status, JSON.stringify(claims)).toBe(401);
    }
  });

  it('401 for another key, an unknown kid, or HS256 signed with the public key (algorithm confusion)', async () => {
    mode = 'ok';
    const verify = createTokenVerifier({ ...base, jwksUrl: url });
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .setSubject('42')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    for (const token of [await sign(otherPrivateKey, {}), await sign(otherPrivateKey, {}, 'unknown-kid'), confused]) {
      const { error } = await outcome(verify, token);
      expect(error?.status).toBe(401);
      expect(error?.code).toBe('UNAUTHORIZED');
    }
  });

  it('503 AUTH_UNAVAILABLE (not 401) when the endpoint is down, hangs, fails or answers garbage — within the timeout', async () => {
    const closed = await new Promise<string>((resolve) => {
      const probe = http.createServer();
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(`http://127.0.0.1:${port}/jwks.json`));
      });
    });
    const cases: Array<[string, Mode, string]> = [
      ['down', 'ok', closed],
      ['hanging', 'hang', url],
      ['500', 'error', url],
      ['not a key set', 'garbage', url],
    ];
    for (const [label, serverMode, endpoint] of cases) {
      mode = serverMode;
      const verify = createTokenVerifier({ ...base, jwksUrl: endpoint }); // fresh: nothing cached
      const started = performance.now();
      const { error } = await outcome(verify, await sign(privateKey, {}));
      const ms = performance.now() - started;
      expect(error?.status, label).toBe(503);
      expect(error?.code, label).toBe('AUTH_UNAVAILABLE');
      expect(error?.headers?.['Retry-After'], label).toBeDefined();
      expect(ms, label).toBeLessThan(JWKS_TIMEOUT_MS + 1_000);
    }
    expect(fetches).toBeGreaterThan(0);
  });

  it('keys stay cached: a provider outage after the first fetch does not fail verification', async () => {
    mode = 'ok';
    const verify = createTokenVerifier({ ...base, jwksUrl: url });
    expect((await outcome(verify, await sign(privateKey, {}))).principal?.customerId).toBe(42);
    mode = 'error';
    const before = fetches;
    expect((await outcome(verify, await sign(privateKey, {}))).principal?.customerId).toBe(42);
    expect(fetches).toBe(before);
  });

  it('keys due for a refresh keep working while the provider is down, and the next requests do not wait for it', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      mode = 'ok';
      const verify = createTokenVerifier({ ...base, jwksUrl: url });
      expect((await outcome(verify, await sign(privateKey, { n: 1 }))).principal?.customerId).toBe(42);
      // Past jose's refresh age of the keys (10 minutes), with the endpoint hanging, then failing.
      vi.setSystemTime(Date.now() + 11 * 60_000);
      for (const [n, down] of [
        [2, 'hang'],
        [3, 'error'],
      ] as const) {
        mode = down;
        const before = fetches;
        const first = await outcome(verify, await sign(privateKey, { n }));
        expect(first.error?.code, down).toBeUndefined();
        expect(first.principal?.customerId, down).toBe(42);
        expect(fetches, down).toBe(before + 1);
        // Within the retry interval after that failure: the cached keys, no fetch (no 2 s wait each).
        expect((await outcome(verify, await sign(privateKey, { n: n * 10 }))).principal?.customerId, down).toBe(42);
        expect(fetches, down).toBe(before + 1);
        vi.setSystemTime(Date.now() + 31_000);
      }
      // Back up: the keys are fetched again.
      mode = 'ok';
      const before = fetches;
      expect((await outcome(verify, await sign(privateKey, { n: 4 }))).principal?.customerId).toBe(42);
      expect(fetches).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
