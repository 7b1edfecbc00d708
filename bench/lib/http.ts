/** HTTP for the benches that go through serverless-offline: a keep-alive request, and bearer tokens. */
import http from 'node:http';
import { text } from 'node:stream/consumers';
import { signLocalToken } from '../../shared/auth/tokens.js';
import { parseConfig } from '../../shared/config.js';

export function request(
  agent: http.Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent, headers: options.headers }, (res) =>
      text(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Local HS256 tokens, one per customer (sub = customer id: a customer may only order for itself), memoised. */
export function tokenSigner(env: Record<string, string | undefined>, ttlSeconds = 6 * 3600): (customerId: number) => Promise<string> {
  const auth = parseConfig(env as NodeJS.ProcessEnv).auth;
  const cache = new Map<number, Promise<string>>();
  return (customerId) => {
    let token = cache.get(customerId);
    if (!token) cache.set(customerId, (token = signLocalToken(auth, { sub: String(customerId), ttlSeconds }).then((t) => `Bearer ${t}`)));
    return token;
  };
}
