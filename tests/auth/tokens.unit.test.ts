import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthConfig, createTokenVerifier, signLocalToken, UnauthorizedError } from '../../shared/auth/tokens.js';

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

  it('signs a token that lives exactly its ttl, even when the clock passes a second while it is signed', async () => {
    // Each read of the clock is a millisecond later, the first one a millisecond before a second begins.
    let clock = 1_800_000_000_999;
    const RealDate = Date;
    class SteppingDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(clock++);
        else super(...(args as [number]));
      }
      static override now() {
        return clock++;
      }
    }
    vi.stubGlobal('Date', SteppingDate);
    let token: string;
    try {
      token = await signLocalToken({ ...config, maxTokenAgeSeconds: 3600 }, { sub: '42', ttlSeconds: 3600 });
    } finally {
      vi.unstubAllGlobals();
    }
    const { iat, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
    expect(exp - iat).toBe(3600);
  });

  it('reads the scheme name case-insensitively, as HTTP defines it (RFC 9110 §11.1)', async () => {
    const token = await signLocalToken(config, { sub: '42' });
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      await expect(verify(`${scheme} ${token}`)).resolves.toMatchObject({ customerId: 42 });
    }
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

  describe('a token verified before', () => {
    afterEach(() => vi.useRealTimers());

    it('still expires while it is remembered', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const fresh = createTokenVerifier(config);
      // Within the time a verification is remembered (VERIFIED_TOKENS.ttlMs, 300 s).
      const token = `Bearer ${await signLocalToken(config, { sub: '42', ttlSeconds: 60 })}`;
      await expect(fresh(token)).resolves.toMatchObject({ customerId: 42 });
      vi.setSystemTime(Date.now() + 59_000);
      await expect(fresh(token)).resolves.toMatchObject({ customerId: 42 });
      vi.setSystemTime(Date.now() + 1_000 + (config.clockSkewSeconds + 1) * 1000);
      await expect(fresh(token)).rejects.toThrow(/expired/);
    });

    it('is remembered only with its own signature: the same claims signed otherwise are refused', async () => {
      const fresh = createTokenVerifier(config);
      const token = await signLocalToken(config, { sub: '42' });
      await expect(fresh(`Bearer ${token}`)).resolves.toMatchObject({ customerId: 42 });
      const forged = await signLocalToken({ ...config, secret: 'another-secret-that-is-long-enough-5678' }, { sub: '42' });
      expect(forged.split('.').slice(0, 2)).toEqual(token.split('.').slice(0, 2));
      await expect(fresh(`Bearer ${forged}`)).rejects.toThrow(/invalid/);
    });
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

  it('enforces a maximum token age: no longer validity from now or lifetime, no older issue time', async () => {
    const secret = new TextEncoder().encode(config.secret);
    const now = Math.floor(Date.now() / 1000);
    const signed = (claims: { iat?: number; exp: number }) => {
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('42')
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setExpirationTime(claims.exp);
      return (claims.iat === undefined ? jwt : jwt.setIssuedAt(claims.iat)).sign(secret);
    };
    const day = 86_400;
    // The default maximum is a day; a token that lives a day is fine.
    await expect(verify(`Bearer ${await signed({ iat: now, exp: now + day })}`)).resolves.toMatchObject({ customerId: 42 });
    expect((await rejection(`Bearer ${await signed({ iat: now, exp: now + 100 * 365 * day })}`)).message).toMatch(/lifetime|age/);
    expect((await rejection(`Bearer ${await signed({ iat: now - 2 * day, exp: now + 60 })}`)).message).toMatch(/age|old/);
    // Without an issue time, the expiry alone bounds it.
    await expect(verify(`Bearer ${await signed({ exp: now + 60 })}`)).resolves.toMatchObject({ customerId: 42 });
    expect((await rejection(`Bearer ${await signed({ exp: now + 100 * 365 * day })}`)).message).toMatch(/maximum token age/);
    // Issued in the future (beyond the clock skew): not yet a token, whatever its expiry.
    expect((await rejection(`Bearer ${await signed({ iat: now + 365 * day, exp: now + 600 })}`)).message).toMatch(/issued in the future/);
    await expect(verify(`Bearer ${await signed({ iat: now + 5, exp: now + 600 })}`)).resolves.toMatchObject({ customerId: 42 });
    // Configurable.
    const strict = createTokenVerifier({ ...config, maxTokenAgeSeconds: 600 });
    await expect(strict(`Bearer ${await signed({ iat: now, exp: now + 600 })}`)).resolves.toMatchObject({ customerId: 42 });
    await expect(strict(`Bearer ${await signed({ iat: now, exp: now + 3600 })}`)).rejects.toMatchObject({ status: 401 });
    // Local tokens longer than the maximum are not even signed.
    await expect(signLocalToken({ ...config, maxTokenAgeSeconds: 600 }, { sub: '42', ttlSeconds: 3600 })).rejects.toThrow(/maximum/);
  });

  it('refuses a subject that is not a string (RFC 7519): a number is not a customer id, an object not a name', async () => {
    const secret = new TextEncoder().encode(config.secret);
    for (const sub of [42, { id: 42 }, ['42']]) {
      const token = await new SignJWT({ sub } as never)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(secret);
      expect(await rejection(`Bearer ${token}`), JSON.stringify(sub)).toMatchObject({ status: 401 });
    }
  });
});
