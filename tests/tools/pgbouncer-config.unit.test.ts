import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../scripts/lib/env.js';
import { pooledUrl, userlist } from '../../scripts/lib/pgbouncer.js';

/** The local PgBouncer's configuration (scripts/lib/pgbouncer.ts), for a role with or without a password. */
describe('the local PgBouncer', () => {
  it('logs in to PostgreSQL with the role’s password from DATABASE_URL (a role made with --pwprompt needs it)', () => {
    expect(userlist('postgres://shop:s3cret@127.0.0.1:5432/shop')).toBe('"shop" "s3cret"\n');
    expect(userlist('postgres://postgres@127.0.0.1:5432/shop')).toBe('"postgres" ""\n');
    expect(userlist('postgres://127.0.0.1:5432/shop')).toBe('"postgres" ""\n');
    // Percent-encoded in the URL, as written in the file; a double quote doubled.
    expect(userlist('postgres://sh%22op:p%40ss%22word@127.0.0.1/shop')).toBe('"sh""op" "p@ss""word"\n');
  });

  it('the URL it tells you to use keeps the password out of the terminal', () => {
    expect(redactUrl(pooledUrl('postgres://shop:s3cret@127.0.0.1:5432/shop'))).toBe('postgres://shop:***@127.0.0.1:6432/shop');
  });
});
