import { describe, expect, it } from 'vitest';
import { devSignInAvailable, fromThisMachine } from '../../shared/auth/dev-sign-in.js';
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

describe('fromThisMachine: the dev sign-in answers this machine’s own pages only', () => {
  it('a loopback Host, and no Origin or the same origin (the console, curl, the tests)', () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST', '[::1]:3000', '127.0.0.1']) {
      expect(fromThisMachine({ host }), host).toBe(true);
    }
    expect(fromThisMachine({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' })).toBe(true);
  });

  it('refuses another page’s origin (a cross-site request) and a name resolving to this machine (DNS rebinding)', () => {
    expect(fromThisMachine({ host: '127.0.0.1:3000', origin: 'https://evil.example' })).toBe(false);
    expect(fromThisMachine({ host: '127.0.0.1:3000', origin: 'http://localhost:3000' })).toBe(false);
    expect(fromThisMachine({ host: '127.0.0.1:3000', origin: 'null' })).toBe(false);
    expect(fromThisMachine({ host: 'evil.example:3000', origin: 'http://evil.example:3000' })).toBe(false);
    expect(fromThisMachine({ host: '127.0.0.1.evil.example:3000' })).toBe(false);
    expect(fromThisMachine({})).toBe(false);
  });
});
