import { describe, expect, it } from 'vitest';
import { devSignInAvailable } from '../../shared/auth/dev-sign-in.js';
import { parseConfig } from '../../shared/config.js';

/**
 * The console's dev sign-in mints tokens with the local secret: beyond being left out of every package
 * (tests/deploy/package.test.ts), its handler refuses anywhere but serverless-offline with a local secret.
 */
describe('devSignInAvailable', () => {
  const local = parseConfig(process.env);

  it('only under serverless-offline (IS_OFFLINE=true)', () => {
    expect(devSignInAvailable(local, { IS_OFFLINE: 'true' })).toBe(true);
    expect(devSignInAvailable(local, {})).toBe(false);
    expect(devSignInAvailable(local, { IS_OFFLINE: 'false' })).toBe(false);
  });

  it('never with an identity provider (JWKS) or without the local secret', () => {
    const { secret: _secret, ...withoutSecret } = local.auth;
    expect(
      devSignInAvailable({ ...local, auth: { ...local.auth, jwksUrl: 'https://idp.example/jwks.json' } }, { IS_OFFLINE: 'true' }),
    ).toBe(false);
    expect(devSignInAvailable({ ...local, auth: withoutSecret }, { IS_OFFLINE: 'true' })).toBe(false);
  });
});
