/** Bearer tokens for benchmark requests: local HS256 tokens, one per customer (sub = customer id), memoised. */
import { signLocalToken } from '../../shared/auth/tokens.js';
import { parseConfig } from '../../shared/config.js';

export function tokenSigner(env: Record<string, string | undefined>, ttlSeconds = 6 * 3600): (customerId: number) => Promise<string> {
  const auth = parseConfig(env as NodeJS.ProcessEnv).auth;
  const cache = new Map<number, Promise<string>>();
  return (customerId) => {
    let token = cache.get(customerId);
    if (!token) {
      token = signLocalToken(auth, { sub: String(customerId), ttlSeconds }).then((t) => `Bearer ${t}`);
      cache.set(customerId, token);
    }
    return token;
  };
}
