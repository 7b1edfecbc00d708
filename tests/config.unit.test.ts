import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../shared/config.js';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/shop',
  UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:8079',
  UPSTASH_REDIS_REST_TOKEN: 'token',
  MONGODB_URI: 'mongodb://127.0.0.1:27017',
  AUTH_JWT_SECRET: 'a-local-secret-that-is-long-enough-1234',
  CURSOR_SECRET: 'a-cursor-secret-that-is-long-enough-1234',
};

describe('parseConfig', () => {
  it('parses a valid environment with defaults', () => {
    const config = parseConfig(valid);
    expect(config.database).toMatchObject({ poolMax: 2, prepare: true, connectTimeoutSeconds: 3 });
    expect(config.redis.namespace).toBe('ecommerce-pipeline:dev');
    expect(config.mongo).toMatchObject({ database: 'shop', poolMax: 2 });
  });

  it.each(['DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'MONGODB_URI', 'CURSOR_SECRET'])(
    'fails fast naming a missing %s',
    (name) => {
      const env: Record<string, string> = { ...valid };
      delete env[name];
      expect(() => parseConfig(env)).toThrow(ConfigError);
      expect(() => parseConfig(env)).toThrow(name);
    },
  );

  it('gives a function without a store its other settings, and names the missing secret where its code reads it', () => {
    const { DATABASE_URL: _db, MONGODB_URI: _mongo, CURSOR_SECRET: _cursor, ...redisOnly } = valid;
    const config = parseConfig(redisOnly, { secretsWhenRead: true });
    expect(config.redis).toMatchObject({ url: valid.UPSTASH_REDIS_REST_URL, token: 'token' });
    expect(config.database).toMatchObject({ poolMax: 2, statementTimeoutMs: 5_000 });
    expect(config.mongo.database).toBe('shop');
    expect(() => config.database.url).toThrow(ConfigError);
    expect(() => config.database.url).toThrow(/DATABASE_URL is not set for this function/);
    expect(() => config.mongo.uri).toThrow(/MONGODB_URI/);
    expect(() => config.pagination.cursorSecret).toThrow(/CURSOR_SECRET/);
    expect(() => ({ ...config.database })).toThrow(/DATABASE_URL/);
    // A secret that is set is checked at the cold start all the same, and the rest stays strict.
    expect(() => parseConfig({ ...redisOnly, MONGODB_URI: 'http://x' }, { secretsWhenRead: true })).toThrow('MONGODB_URI');
    expect(() => parseConfig({ ...redisOnly, DATABASE_POOL_MAX: '0' }, { secretsWhenRead: true })).toThrow('DATABASE_POOL_MAX');
    const { AUTH_JWT_SECRET: _auth, ...withoutAuth } = redisOnly;
    expect(() => parseConfig(withoutAuth, { secretsWhenRead: true })).toThrow(/AUTH_JWKS_URL/);
    expect(parseConfig(valid, { secretsWhenRead: true }).database.url).toBe(valid.DATABASE_URL);
    // Given but empty (an unset deploy variable): the cold start fails, as for any other variable.
    expect(() => parseConfig({ ...redisOnly, MONGODB_URI: '' }, { secretsWhenRead: true })).toThrow(/MONGODB_URI/);
  });

  it('rejects malformed values with the variable name', () => {
    expect(() => parseConfig({ ...valid, DATABASE_URL: 'mysql://x/y' })).toThrow('DATABASE_URL');
    expect(() => parseConfig({ ...valid, DATABASE_POOL_MAX: '0' })).toThrow('DATABASE_POOL_MAX');
    expect(() => parseConfig({ ...valid, DATABASE_PREPARE: 'maybe' })).toThrow('DATABASE_PREPARE');
    expect(() => parseConfig({ ...valid, MONGODB_URI: 'http://x' })).toThrow('MONGODB_URI');
    expect(() => parseConfig({ ...valid, CURSOR_SECRET: 'short' })).toThrow('CURSOR_SECRET');
  });

  it('refuses a cache setting that fetch would reject with the secret in its message: a token unfit for a header, a URL with credentials', () => {
    for (const token of ['AXyzSECRET\nAbc', 'AXyzSECRET\u0000', 'AXyz SECRET']) {
      expect(() => parseConfig({ ...valid, UPSTASH_REDIS_REST_TOKEN: token })).toThrow('UPSTASH_REDIS_REST_TOKEN');
      expect(() => parseConfig({ ...valid, UPSTASH_REDIS_REST_TOKEN: token })).not.toThrow(/SECRET/);
    }
    expect(() => parseConfig({ ...valid, UPSTASH_REDIS_REST_URL: 'https://user:URLSECRET@eu1.upstash.io' })).toThrow(
      /UPSTASH_REDIS_REST_URL: must not hold credentials/,
    );
    expect(() => parseConfig({ ...valid, UPSTASH_REDIS_REST_URL: 'https://user:URLSECRET@eu1.upstash.io' })).not.toThrow(/URLSECRET/);
    expect(parseConfig({ ...valid, UPSTASH_REDIS_REST_TOKEN: 'AXyz_-+/=0123' }).redis.token).toBe('AXyz_-+/=0123');
    expect(parseConfig({ ...valid, UPSTASH_REDIS_REST_TOKEN: 'AXyz0123\n' }).redis.token).toBe('AXyz0123');
  });

  it('takes the identity provider’s keys over HTTPS only (whoever answers a plain-HTTP JWKS URL on the path signs admin tokens), plain HTTP on this machine', () => {
    const { AUTH_JWT_SECRET: _secret, ...withoutSecret } = valid;
    expect(() => parseConfig({ ...withoutSecret, AUTH_JWKS_URL: 'http://idp.example/.well-known/jwks.json' })).toThrow('AUTH_JWKS_URL');
    expect(() => parseConfig({ ...withoutSecret, AUTH_JWKS_URL: 'not a url' })).toThrow(ConfigError);
    for (const url of ['https://idp.example/.well-known/jwks.json', 'http://127.0.0.1:9999/jwks.json', 'http://localhost:9999/jwks.json'])
      expect(parseConfig({ ...withoutSecret, AUTH_JWKS_URL: url }).auth.jwksUrl, url).toBe(url);
  });

  it('switches prepared statements off for poolers', () => {
    expect(parseConfig({ ...valid, DATABASE_PREPARE: 'false' }).database.prepare).toBe(false);
  });

  it('splits the CORS allow-list', () => {
    expect(parseConfig({ ...valid, CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example' }).cors.allowedOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});
