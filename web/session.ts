/**
 * Who the console acts as: a bearer token and what it says (subject, customer id, admin). Kept in this
 * browser's localStorage, so every tab of the console is signed in alike. Tokens come from the dev-only
 * sign-in under `npm start` (POST /dev/tokens), or are pasted (a cloud stage's identity provider).
 */
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

/** What a JWT says about its holder (not verified here: the API verifies every request). */
export function sessionFromToken(token: string, name: string | null = null): Session | null {
  try {
    const part = token.split('.')[1] ?? '';
    const payload = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    const subject = String(payload.sub ?? '');
    const claim = payload['custom:customer_id'] ?? payload.sub;
    const customerId = typeof claim === 'number' || (typeof claim === 'string' && /^[1-9][0-9]{0,9}$/.test(claim)) ? Number(claim) : null;
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    const groups = Array.isArray(payload['cognito:groups']) ? payload['cognito:groups'] : [];
    const admin = scopes.includes('admin') || groups.includes('admin');
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
