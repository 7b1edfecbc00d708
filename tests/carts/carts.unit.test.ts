import { MongoServerError, MongoWriteConcernError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { SaveCartBodySchema } from '../../shared/carts/schemas.js';
import { isMongoServerTimeout } from '../../shared/clients/errors.js';
import { toAppError } from '../../shared/http/error-response.js';
import { etag, parseIfMatchHeader } from '../../shared/http/headers.js';

describe('server-side timeouts are 503, not 500', () => {
  const mongo = new MongoServerError({ ok: 0, code: 50, codeName: 'MaxTimeMSExpired', errmsg: 'operation exceeded time limit' });
  const ferret = new MongoServerError({
    ok: 0,
    code: 1,
    codeName: 'InternalError',
    errmsg: '[msg_findandmodify.go:196 …] [collection.go:177 sqlite.(*collection).UpdateAll.func1] context deadline exceeded',
  });
  const other = new MongoServerError({ ok: 0, code: 1, codeName: 'InternalError', errmsg: 'something else' });

  it('recognises MongoDB MaxTimeMSExpired and the FerretDB deadline error, nothing else', () => {
    expect(isMongoServerTimeout(mongo)).toBe(true);
    expect(isMongoServerTimeout(ferret)).toBe(true);
    expect(isMongoServerTimeout(other)).toBe(false);
    expect(isMongoServerTimeout(new Error('context deadline exceeded'))).toBe(false);
  });

  it('the error mapping turns them into 503 CART_STORE_UNAVAILABLE with Retry-After, and nothing else', () => {
    for (const error of [mongo, ferret]) {
      const mapped = toAppError(error);
      expect([mapped.status, mapped.code]).toEqual([503, 'CART_STORE_UNAVAILABLE']);
      expect(mapped.headers?.['Retry-After']).toBe('2');
    }
    expect(toAppError(other).status).toBe(500);
  });
});

describe('a cart store failing over, shutting down or without its storage is 503, not 500', () => {
  const serverError = (code: number, codeName: string, errmsg = codeName) => new MongoServerError({ ok: 0, code, codeName, errmsg });

  it('MongoDB: the codes the driver itself would retry (replica set elections, shutdown, network)', () => {
    const codes: Array<[number, string]> = [
      [6, 'HostUnreachable'],
      [7, 'HostNotFound'],
      [89, 'NetworkTimeout'],
      [91, 'ShutdownInProgress'],
      [134, 'ReadConcernMajorityNotAvailableYet'],
      [189, 'PrimarySteppedDown'],
      [262, 'ExceededTimeLimit'],
      [9001, 'SocketException'],
      [10107, 'NotWritablePrimary'],
      [11600, 'InterruptedAtShutdown'],
      [11602, 'InterruptedDueToReplStateChange'],
      [13435, 'NotPrimaryNoSecondaryOk'],
      [13436, 'NotPrimaryOrSecondary'],
    ];
    for (const [code, name] of codes) {
      const mapped = toAppError(serverError(code, name));
      expect([name, mapped.status, mapped.code]).toEqual([name, 503, 'CART_STORE_UNAVAILABLE']);
    }
    expect(toAppError(serverError(2, 'BadValue')).status).toBe(500);
  });

  it('MongoDB: a write the replica set could not confirm in time (write concern), which may or may not stand', () => {
    for (const [code, codeName] of [
      [64, 'WriteConcernFailed'],
      [100, 'UnsatisfiableWriteConcern'],
    ] as const) {
      const error = new MongoWriteConcernError({ writeConcernError: { code, codeName, errmsg: codeName }, ok: 1, n: 1 } as never);
      const mapped = toAppError(error);
      expect([codeName, mapped.status, mapped.code]).toEqual([codeName, 503, 'CART_STORE_UNAVAILABLE']);
    }
  });

  it('FerretDB: its PostgreSQL storage stopped, as FerretDB 1.24 reports it (measured)', () => {
    for (const errmsg of [
      '[msg_find.go:344 handler.handleMaxTimeMSError] [collection.go:109 postgresql.(*collection).Query] FATAL: terminating connection due to administrator command (SQLSTATE 57P01)',
      '[msg_insert.go:168 handler.(*Handler).MsgInsert] failed to connect to `user=postgres database=ferretdb`:\n\t127.0.0.1:5432 (127.0.0.1): dial error: dial tcp 127.0.0.1:5432: connect: connection refused',
    ]) {
      const mapped = toAppError(serverError(1, 'InternalError', errmsg));
      expect([mapped.status, mapped.code]).toEqual([503, 'CART_STORE_UNAVAILABLE']);
    }
    expect(toAppError(serverError(1, 'InternalError', 'ERROR: invalid input syntax (SQLSTATE 22P02)')).status).toBe(500);
  });
});

describe('If-Match parsing', () => {
  const SECRET = 'a-test-secret-of-at-least-32-characters';
  const cartOf7 = { customerId: 7, secret: SECRET };
  it.each([
    ['3', 3],
    ['"3"', 3],
    [' 12 ', 12],
    ['*', '*'],
  ])('%s', (value, expected) => {
    expect(parseIfMatchHeader({ 'if-match': value }, cartOf7)).toBe(expected);
  });
  it('an ETag we served comes back as the version and the time it expires, to the millisecond', () => {
    const cart = { customerId: 7, version: 7, expiresAt: '2026-12-12T08:30:00.123Z' };
    expect(etag(cart, SECRET)).toMatch(new RegExp(`^"7\\.${Date.parse(cart.expiresAt).toString(36)}\\.[A-Za-z0-9_-]{22}"$`));
    expect(parseIfMatchHeader({ 'if-match': etag(cart, SECRET) }, cartOf7)).toEqual({ version: 7, expiresAt: new Date(cart.expiresAt) });
  });
  it('an ETag whose signature does not hold for this cart is its bare version (checked against the stored cart)', () => {
    const cart = { customerId: 7, version: 7, expiresAt: '2026-12-12T08:30:00.123Z' };
    const served = etag(cart, SECRET);
    const [version, expires, signed] = served.slice(1, -1).split('.') as [string, string, string];
    const edited = [
      `"8.${expires}.${signed}"`,
      `"${version}.${(Number.parseInt(expires, 36) + 1).toString(36)}.${signed}"`,
      `"${version}.${expires}.${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}"`,
      `"${version}.${expires}"`,
    ];
    for (const header of edited)
      expect(parseIfMatchHeader({ 'if-match': header }, cartOf7), header).toBe(Number(header.slice(1).split('.')[0]));
    expect(parseIfMatchHeader({ 'if-match': served }, { customerId: 8, secret: SECRET })).toBe(7);
    expect(parseIfMatchHeader({ 'if-match': served }, { customerId: 7, secret: `${SECRET}-other` })).toBe(7);
  });
  it('a version no cart can reach, whose next version would not fit its 15 digits, is 400', () => {
    for (const bad of ['999999999999999', '"999999999999999"', '"999999999999999.zzzzzzzz"']) {
      expect(() => parseIfMatchHeader({ 'if-match': bad }, cartOf7)).toThrow(expect.objectContaining({ status: 400 }));
    }
    expect(parseIfMatchHeader({ 'if-match': '999999999999998' }, cartOf7)).toBe(999_999_999_999_998);
  });
  it('absent is undefined; weak, lists, zero and garbage are 400', () => {
    expect(parseIfMatchHeader({}, cartOf7)).toBeUndefined();
    for (const bad of ['W/"3"', '"3", "4"', '0', '"0"', 'x', '3"', '1234567890123456', '3.mj0k8x2a', '"3."', '"3.MJ0K"', '"3.a.b"']) {
      expect(() => parseIfMatchHeader({ 'if-match': bad }, cartOf7)).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('strings a cart may hold', () => {
  // PostgreSQL's jsonb (FerretDB's storage here) refuses U+0000: the body is refused before any store sees it.
  it('refuses NUL in the note, an attribute key or an attribute string, with the path', () => {
    const line = { productId: 1, quantity: 1 };
    const issues = (body: unknown) => SaveCartBodySchema.safeParse(body).error?.issues.map((issue) => issue.path.join('.'));
    expect(issues({ items: [line], note: 'a\u0000b' })).toEqual(['note']);
    expect(issues({ items: [{ ...line, attributes: { size: 'M\u0000' } }] })).toEqual(['items.0.attributes.size']);
    expect(issues({ items: [{ ...line, attributes: { 'si\u0000ze': 'M' } }] })).toEqual(['items.0.attributes.si\u0000ze']);
    expect(issues({ items: [{ ...line, attributes: { size: 'M' } }], note: 'a\ufffdb' })).toBeUndefined();
  });
});
