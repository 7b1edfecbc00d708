import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type JWTPayload, SignJWT } from 'jose';
import { expect, inject } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { parseConfig } from '../../shared/config.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

export const authConfig = () => parseConfig(process.env).auth;

/** Who may call a route (what shared/http/handler.ts enforces), as the tests expect it. */
export type RouteAccess = 'public' | 'admin' | 'customer' | 'signed-in';

export interface Route {
  method: string;
  /** serverless.yml path, e.g. /carts/{customerId} */
  path: string;
  access: RouteAccess;
}

/**
 * Every HTTP route of serverless.yml and who may call it. The auth tests iterate over this table, and a
 * test checks it against serverless.yml, so a new route cannot go untested (or unclassified).
 */
export const ROUTES: Route[] = [
  { method: 'POST', path: '/orders', access: 'customer' },
  { method: 'GET', path: '/products/top', access: 'public' },
  { method: 'GET', path: '/products', access: 'public' },
  { method: 'GET', path: '/products/{productId}', access: 'public' },
  { method: 'GET', path: '/customers/{customerId}/orders', access: 'customer' },
  { method: 'GET', path: '/orders/{orderId}', access: 'signed-in' },
  { method: 'PUT', path: '/carts/{customerId}', access: 'customer' },
  { method: 'GET', path: '/carts/{customerId}', access: 'customer' },
  { method: 'DELETE', path: '/carts/{customerId}', access: 'customer' },
  { method: 'POST', path: '/carts/{customerId}/checkout', access: 'customer' },
  { method: 'GET', path: '/benchmarks/latest', access: 'admin' },
  { method: 'GET', path: '/analytics/summary', access: 'admin' },
  { method: 'GET', path: '/openapi.json', access: 'public' },
  { method: 'GET', path: '/health', access: 'public' },
  { method: 'GET', path: '/docs', access: 'public' },
  { method: 'GET', path: '/docs/{asset}', access: 'public' },
  { method: 'GET', path: '/benchmarks', access: 'admin' },
  { method: 'GET', path: '/console', access: 'public' },
  { method: 'GET', path: '/console/{asset}', access: 'public' },
];

/** How shared/http/routes.ts declares a route's access, in the tests' terms. */
export function accessClass(access: unknown): RouteAccess {
  if (access === undefined || access === 'public') return 'public';
  if (access === 'admin') return 'admin';
  if (access === 'signed-in') return 'signed-in';
  if (typeof access === 'object' && access !== null && typeof (access as { customer?: unknown }).customer === 'function') return 'customer';
  throw new Error(`unknown access declaration: ${String(access)}`);
}

/** The httpApi events declared in serverless.yml (method + path), read from the file as text. */
export function declaredHttpRoutes(): Array<{ method: string; path: string }> {
  const yml = readFileSync(`${ROOT}serverless.yml`, 'utf8');
  const routes: Array<{ method: string; path: string }> = [];
  const pattern = /-\s+httpApi:\s*\n\s+method:\s*(\S+)\s*\n\s+path:\s*(\S+)/g;
  for (const match of yml.matchAll(pattern)) routes.push({ method: match[1]!.toUpperCase(), path: match[2]! });
  return routes;
}

/** Signs a token with the local test secret and arbitrary claims (for the negative cases). */
export async function customToken(
  claims: JWTPayload,
  options: { secret?: string; alg?: string; exp?: number | null; issuer?: string | null; audience?: string | null } = {},
): Promise<string> {
  const config = authConfig();
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt();
  const issuer = options.issuer === undefined ? config.issuer : options.issuer;
  const audience = options.audience === undefined ? config.audience : options.audience;
  if (issuer !== null) jwt = jwt.setIssuer(issuer);
  if (audience !== null) jwt = jwt.setAudience(audience);
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(new TextEncoder().encode(options.secret ?? config.secret!));
}

/** The response headers every answer of the HTTP stack must carry (@middy/http-security-headers, our CSP). */
export function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers.get('strict-transport-security'), what).toMatch(/^max-age=\d+; includeSubDomains/);
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('DENY');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('content-security-policy'), what).toMatch(/default-src 'none'/);
  expect(headers.get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
  expect(headers.get('cross-origin-resource-policy'), what).toBe('same-origin');
  expect(headers.get('x-powered-by'), what).toBeNull();
}

/** Sends raw bytes (not necessarily UTF-8) to serverless-offline and parses the JSON answer. */
export async function rawFetch(
  method: string,
  path: string,
  body: Uint8Array | string | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const response = await fetch(`${inject('offlineHttpUrl')}${path}`, {
    method,
    headers,
    body: body as RequestInit['body'],
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface InProcessAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Calls a handler in process (no HTTP) with an API Gateway v2 event. */
export async function callHandler(
  handler: Handler,
  options: Parameters<typeof httpEvent>[0],
  context: Context = lambdaContext('security'),
): Promise<InProcessAnswer> {
  const response = await handler(httpEvent(options), context);
  const text = typeof response.body === 'string' ? response.body : '';
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return {
    status: response.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)])),
    body,
  };
}
