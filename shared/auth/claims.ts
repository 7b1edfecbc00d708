import { parseId } from '../id-text.js';

/**
 * What a token's claims say about its holder, as the API reads them (shared/auth/tokens.ts, after verifying
 * it) and as the web console shows them (web/session.ts): one rule for both. Without zod or jose, so that
 * the console can use it.
 */
export interface ClaimRules {
  /** The claim holding the caller's customer id (AUTH_CUSTOMER_CLAIM). */
  customerClaim: string;
  /** The scope (space-separated `scope` claim) or Cognito group that makes a caller admin (AUTH_ADMIN_SCOPE). */
  adminScope: string;
}

export function claimedIdentity(payload: Record<string, unknown>, rules: ClaimRules): { customerId: number | null; isAdmin: boolean } {
  const claim = payload[rules.customerClaim];
  // Exactly an id (as digits or a JSON number): `"042"`, `"42.0"`, `"alice"` are not.
  const customerId = parseId(typeof claim === 'number' ? String(claim) : claim);
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  const groups = Array.isArray(payload['cognito:groups']) ? (payload['cognito:groups'] as unknown[]) : [];
  return { customerId, isAdmin: scopes.includes(rules.adminScope) || groups.includes(rules.adminScope) };
}
