import { signLocalToken } from '../../shared/auth/tokens.js';
import { parseConfig } from '../../shared/config.js';

const authConfig = () => parseConfig(process.env).auth;

/** A bearer header for a customer (`sub` = their id), signed with the local test secret. */
export async function bearerFor(customerId: number | string, options: { ttlSeconds?: number } = {}): Promise<string> {
  return `Bearer ${await signLocalToken(authConfig(), { sub: String(customerId), ...options })}`;
}

/** A bearer header with the admin scope. */
export async function adminBearer(): Promise<string> {
  return `Bearer ${await signLocalToken(authConfig(), { sub: 'test-admin', admin: true })}`;
}

/**
 * Tests that exercise business rules (stock, carts, caching) call the API as an operator with the
 * admin scope, who may act for any customer; the security tests pass explicit customer tokens or none.
 */
export const DEFAULT_AUTHORIZATION = await adminBearer();
