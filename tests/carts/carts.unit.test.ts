import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { parseIfMatchHeader } from '../../shared/carts/schemas.js';
import { cartStoreCall, isServerTimeout } from '../../shared/carts/store.js';
import { toAppError } from '../../shared/http/error-response.js';

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
    expect(isServerTimeout(mongo)).toBe(true);
    expect(isServerTimeout(ferret)).toBe(true);
    expect(isServerTimeout(other)).toBe(false);
    expect(isServerTimeout(new Error('context deadline exceeded'))).toBe(false);
  });

  it('cartStoreCall maps them to 503 CART_STORE_UNAVAILABLE with Retry-After and lets others through', async () => {
    for (const error of [mongo, ferret]) {
      const mapped = toAppError(await cartStoreCall(() => Promise.reject(error)).catch((e: unknown) => e));
      expect([mapped.status, mapped.code]).toEqual([503, 'CART_STORE_UNAVAILABLE']);
      expect(mapped.headers?.['Retry-After']).toBe('2');
    }
    await expect(cartStoreCall(() => Promise.reject(other))).rejects.toBe(other);
  });
});

describe('If-Match parsing', () => {
  it.each([
    ['3', 3],
    ['"3"', 3],
    [' 12 ', 12],
    ['*', '*'],
  ])('%s', (value, expected) => {
    expect(parseIfMatchHeader({ 'if-match': value })).toBe(expected);
  });
  it('absent is undefined; weak, lists, zero and garbage are 400', () => {
    expect(parseIfMatchHeader({})).toBeUndefined();
    for (const bad of ['W/"3"', '"3", "4"', '0', '"0"', 'x', '3"', '1234567890123456']) {
      expect(() => parseIfMatchHeader({ 'if-match': bad })).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});
