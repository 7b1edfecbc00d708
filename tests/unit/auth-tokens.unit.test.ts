import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signLocalToken, UnauthorizedError, type AuthConfig } from '../../shared/auth/tokens.js';

const config: AuthConfig = {
  secret: 'a-local-secret-that-is-long-enough-1234',
  issuer: 'ecommerce-pipeline-local',
  audience: 'ecommerce-pipeline',
  clockSkewSeconds: 30,
  adminScope: 'admin',
};
const verify = createTokenVerifier(config);

async function rejection(authorization: string | undefined) {
  try {
    await verify(authorization);
  } catch (error) {
    return error as UnauthorizedError;
  }
  throw new Error('expected the token to be rejected');
}

describe('bearer tokens', () => {
  it('accepts a local token and reads the customer id and admin scope', async () => {
    const customer = await verify(`Bearer ${await signLocalToken(config, { sub: '42' })}`);
    expect(customer).toEqual({ subject: '42', customerId: 42, isAdmin: false });
    const admin = await verify(`Bearer ${await signLocalToken(config, { sub: 'ops', admin: true })}`);
    expect(admin).toEqual({ subject: 'ops', customerId: null, isAdmin: true });
  });

  it('rejects a missing or malformed header with 401 and WWW-Authenticate', async () => {
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer not-a-jwt']) {
      const error = await rejection(header);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect(error.status).toBe(401);
      expect(error.headers?.['WWW-Authenticate']).toMatch(/^Bearer /);
    }
  });

  it('rejects expired tokens beyond the clock skew, but tolerates skew', async () => {
    const secret = new TextEncoder().encode(config.secret);
    const signed = (exp: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('42')
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setExpirationTime(exp)
        .sign(secret);
    const now = Math.floor(Date.now() / 1000);
    expect((await rejection(`Bearer ${await signed(now - 120)}`)).message).toMatch(/expired/);
    await expect(verify(`Bearer ${await signed(now - 10)}`)).resolves.toMatchObject({ customerId: 42 });
  });

  it('rejects a wrong secret, issuer, audience or algorithm', async () => {
    const other = { ...config, secret: 'another-secret-that-is-long-enough-000' };
    await rejection(`Bearer ${await signLocalToken(other, { sub: '42' })}`);
    await rejection(`Bearer ${await signLocalToken({ ...config, issuer: 'someone-else' }, { sub: '42' })}`);
    await rejection(`Bearer ${await signLocalToken({ ...config, audience: 'another-api' }, { sub: '42' })}`);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: '42', iss: config.issuer, aud: config.audience, exp: 9_999_999_999 }),
    ).toString('base64url')}.`;
    await rejection(`Bearer ${unsigned}`);
  });
});
