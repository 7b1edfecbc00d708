import { describe, expect, it } from 'vitest';
import { sessionFromToken } from '../../web/session.js';

/** An unsigned JWT of `payload` (the console reads tokens; the API verifies them). */
const token = (payload: Record<string, unknown>) =>
  `e30.${Buffer.from(JSON.stringify({ exp: 2_000_000_000, ...payload })).toString('base64url')}.sig`;

describe('who the console acts as, read as the API reads it (AUTH_CUSTOMER_CLAIM, AUTH_ADMIN_SCOPE)', () => {
  const rules = { customerClaim: 'shop_customer', adminScope: 'shop-admin' };

  it('the customer id comes from the configured claim, not from sub', () => {
    expect(sessionFromToken(token({ sub: 'alice', shop_customer: '42' }), null, rules)).toMatchObject({ customerId: 42, admin: false });
    expect(sessionFromToken(token({ sub: '7' }), null, rules)).toMatchObject({ customerId: null });
  });

  it('a claim the API would not take as a customer id is none here either', () => {
    for (const value of [1.5, 0, -3, '042', '2147483648', 2_147_483_648, '7e1']) {
      expect(sessionFromToken(token({ sub: 'x', shop_customer: value }), null, rules), String(value)).toMatchObject({ customerId: null });
    }
    expect(sessionFromToken(token({ sub: 'x', shop_customer: 2_147_483_647 }), null, rules)).toMatchObject({ customerId: 2_147_483_647 });
  });

  it('admin is the configured scope or Cognito group, and only that', () => {
    expect(sessionFromToken(token({ sub: 'root', scope: 'read shop-admin' }), null, rules)).toMatchObject({ admin: true });
    expect(sessionFromToken(token({ sub: 'ops', 'cognito:groups': ['shop-admin'] }), null, rules)).toMatchObject({ admin: true });
    expect(sessionFromToken(token({ sub: 'eve', scope: 'admin' }), null, rules)).toMatchObject({ admin: false });
  });

  it('without rules, the API’s defaults: sub and the admin scope', () => {
    expect(sessionFromToken(token({ sub: '7', scope: 'admin' }))).toMatchObject({ customerId: 7, admin: true });
  });

  it('only a token the API could take: three base64url parts, nothing else (a line break would make every call fail as unreachable), a string subject', () => {
    const good = token({ sub: '7' });
    expect(sessionFromToken(good)).toMatchObject({ customerId: 7 });
    const [header, payload, signature] = good.split('.') as [string, string, string];
    for (const bad of [
      `${header}.${payload.slice(0, 8)}\n${payload.slice(8)}.${signature}`,
      `${header}.${payload.slice(0, 8)} ${payload.slice(8)}.${signature}`,
      `${header}.${payload}`,
      `${header}.${payload}.${signature}.extra`,
      ` ${good}`,
    ]) {
      expect(sessionFromToken(bad), JSON.stringify(bad)).toBeNull();
    }
    expect(sessionFromToken(token({ sub: 7 }))).toBeNull();
  });
});
