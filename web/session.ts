/**
 * Who the console acts as: a bearer token and what it says (subject, customer id, admin). Kept in this
 * browser's localStorage, so every tab of the console is signed in alike. Tokens come from the dev-only
 * sign-in under `npm start` (POST /dev/tokens), or are pasted (a cloud stage's identity provider).
 */
import { type ClaimRules, claimedIdentity } from '../shared/auth/claims.js';

export interface Session {
  token: string;
  subject: string;
  customerId: number | null;
  admin: boolean;
  name: string | null;
  /** Seconds since the epoch. */
  expiresAt: number;
}

const KEY = 'ecommerce-console.session';

/** How the API reads a token (its AUTH_CUSTOMER_CLAIM and AUTH_ADMIN_SCOPE): the page says (functions/getConsole.ts). */
export type TokenRules = ClaimRules;

/** The API's defaults, for a page that does not say. */
const DEFAULT_RULES: TokenRules = { customerClaim: 'sub', adminScope: 'admin' };

/** The rules the page was served with (shared/http/console-routes.ts consolePage). */
export function pageTokenRules(): TokenRules {
  try {
    const content = document.querySelector('meta[name="ecommerce-console-auth"]')?.getAttribute('content');
    const rules = content ? (JSON.parse(content) as Partial<TokenRules>) : {};
    return {
      customerClaim: typeof rules.customerClaim === 'string' ? rules.customerClaim : DEFAULT_RULES.customerClaim,
      adminScope: typeof rules.adminScope === 'string' ? rules.adminScope : DEFAULT_RULES.adminScope,
    };
  } catch {
    return DEFAULT_RULES;
  }
}

/**
 * A compact JWT: three base64url parts and nothing else. atob would skip a line break pasted inside one, and
 * the token would then be taken here, yet refused by fetch in the Authorization header on every call.
 */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What a JWT says about its holder, read as the API reads it (not verified here: the API verifies every request). */
export function sessionFromToken(token: string, name: string | null = null, rules: TokenRules = DEFAULT_RULES): Session | null {
  if (!COMPACT_JWT.test(token)) return null;
  try {
    const part = token.split('.')[1] ?? '';
    const payload = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    // A string, as the API requires (shared/auth/tokens.ts).
    const subject = typeof payload.sub === 'string' ? payload.sub : '';
    const { customerId, isAdmin: admin } = claimedIdentity(payload, rules);
    const expiresAt = typeof payload.exp === 'number' ? payload.exp : 0;
    return subject ? { token, subject, customerId, admin, name, expiresAt } : null;
  } catch {
    return null;
  }
}

export function loadSession(): Session | null {
  try {
    const session = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    return session && session.expiresAt * 1000 > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

export const describeSession = (session: Session) =>
  session.admin && session.customerId === null
    ? 'admin'
    : `${session.name ?? `customer ${session.customerId ?? session.subject}`}${session.admin ? ' (admin)' : ''}`;
