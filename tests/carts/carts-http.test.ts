import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as checkoutCart } from '../../functions/checkoutCart.js';
import { handler as deleteCart } from '../../functions/deleteCart.js';
import { handler as getCart } from '../../functions/getCart.js';
import { handler as saveCart } from '../../functions/saveCart.js';
import { closeMongo } from '../../shared/clients/mongo.js';
import { closeSql } from '../../shared/clients/postgres.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import { invoke, resetCarts, snapshotCarts, testMongo } from './helpers.js';

/**
 * The HTTP contract of the four cart functions, invoked in-process (the same middy stack Lambda runs),
 * against the real Mongo-protocol server. Every rejected request must leave every cart as it was.
 */
const { client, db } = testMongo();

const put = (customerId: string, body: unknown, headers?: Record<string, string>) =>
  invoke(saveCart, { method: 'PUT', customerId, body, ...(headers ? { headers } : {}) });
const putRaw = (customerId: string, rawBody: string) => invoke(saveCart, { method: 'PUT', customerId, rawBody });
const get = (customerId: string) => invoke(getCart, { method: 'GET', customerId });

/** Two carts that no rejected request may touch. */
const victims = {
  '501': { items: [{ productId: 1, quantity: 1, attributes: { size: 'S' } }], note: 'victim one' },
  '502': { items: [{ productId: 2, quantity: 5 }] },
};

beforeAll(async () => {
  await resetCarts(db);
  for (const [id, body] of Object.entries(victims)) expect((await put(id, body)).status).toBe(200);
});

afterAll(async () => {
  await closeMongo();
  await closeSql();
  await client.close();
});

describe('happy paths', () => {
  it('PUT 200 with the stored cart and an ETag; GET returns the same; DELETE 204 (also when missing)', async () => {
    const body = { items: [{ productId: 7, quantity: 2, attributes: { size: 'M', giftWrap: true } }], note: 'hi' };
    const saved = await put('510', body);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ customerId: 510, ...body, version: 1 });
    expect(Object.keys(saved.body).sort()).toEqual(['customerId', 'expiresAt', 'items', 'note', 'updatedAt', 'version']);
    // The version, then when it expires (ms, base 36): what a conditional write needs to skip a read; then
    // their signature, which shows the version was served.
    expect(saved.headers.etag).toMatch(new RegExp(`^"1\\.${Date.parse(saved.body.expiresAt).toString(36)}\\.[A-Za-z0-9_-]{22}"$`));
    const read = await get('510');
    expect(read.status).toBe(200);
    expect(read.body).toEqual(saved.body);
    expect(read.headers.etag).toBe(saved.headers.etag);

    const deleted = await invoke(deleteCart, { method: 'DELETE', customerId: '510' });
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await get('510')).status).toBe(404);
    expect((await invoke(deleteCart, { method: 'DELETE', customerId: '510' })).status).toBe(204);
    expect((await invoke(deleteCart, { method: 'DELETE', customerId: '987650' })).status).toBe(204);
  });

  it('GET of a missing cart is 404 CART_NOT_FOUND in the error envelope', async () => {
    const missing = await get('987651');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'CART_NOT_FOUND', message: expect.any(String), details: { customerId: 987651 } } });
  });

  it('If-Match: current version (plain or quoted) ⇒ 200, stale ⇒ 412 VERSION_CONFLICT, malformed ⇒ 400', async () => {
    const first = await put('511', { items: [] });
    const second = await put('511', { items: [{ productId: 1, quantity: 1 }] }, { 'If-Match': String(first.body.version) });
    expect(second.status).toBe(200);
    const third = await put('511', { items: [] }, { 'If-Match': `"${second.body.version}"` });
    expect(third.status).toBe(200);
    const before = await snapshotCarts(db);
    const stale = await put('511', { items: [{ productId: 9, quantity: 9 }] }, { 'If-Match': String(first.body.version) });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { expected: first.body.version, current: third.body.version },
    });
    for (const bad of ['abc', 'W/"1"', '1, 2', '0', '-1', '"1', '1.5', '']) {
      const response = await put('511', { items: [] }, { 'If-Match': bad });
      expect(response.status, `If-Match: ${bad}`).toBe(400);
      expect(response.body.error.details[0].field).toBe('headers.if-match');
    }
    const deleteStale = await invoke(deleteCart, { method: 'DELETE', customerId: '511', headers: { 'If-Match': '1' } });
    expect(deleteStale.status).toBe(412);
    expect(await snapshotCarts(db)).toEqual(before);
  });

  it('If-Match with the ETag served: 200 and a new ETag; the same ETag again (stale) ⇒ 412 naming the version that won', async () => {
    const first = await put('513', { items: [] });
    const read = await get('513');
    const second = await put('513', { items: [{ productId: 1, quantity: 1 }] }, { 'If-Match': read.headers.etag! });
    expect([second.status, second.body.version]).toEqual([200, first.body.version + 1]);
    expect(second.headers.etag).not.toBe(read.headers.etag);
    const before = await snapshotCarts(db);
    const stale = await put('513', { items: [] }, { 'If-Match': read.headers.etag! });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { expected: first.body.version, current: second.body.version },
    });
    const deleteStale = await invoke(deleteCart, { method: 'DELETE', customerId: '513', headers: { 'If-Match': read.headers.etag! } });
    expect(deleteStale.status).toBe(412);
    expect(await snapshotCarts(db)).toEqual(before);
    const deleted = await invoke(deleteCart, { method: 'DELETE', customerId: '513', headers: { 'If-Match': second.headers.etag! } });
    expect(deleted.status).toBe(204);
  });

  it('an edited ETag (a version the cart never had) is checked against the stored cart: 412, nothing written, the served ETag still works', async () => {
    const first = await put('514', { items: [{ productId: 1, quantity: 1 }] });
    const before = await snapshotCarts(db);
    const later = Date.parse(first.body.expiresAt).toString(36);
    for (const edited of [`"${first.body.version + 4}.${later}"`, `"999999999999998.${later}"`]) {
      const response = await put('514', { items: [] }, { 'If-Match': edited });
      expect(response.status, `If-Match: ${edited}`).toBe(412);
      expect(response.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { current: first.body.version } });
    }
    expect(await snapshotCarts(db)).toEqual(before);
    const next = await put('514', { items: [{ productId: 2, quantity: 2 }] }, { 'If-Match': first.headers.etag! });
    expect([next.status, next.body.version]).toEqual([200, first.body.version + 1]);
    expect((await get('514')).body).toEqual(next.body);
  });

  it('If-None-Match: * creates a cart only where there is none (412 otherwise); any other value, or with If-Match, is 400', async () => {
    const created = await put('515', { items: [{ productId: 1, quantity: 1 }] }, { 'If-None-Match': '*' });
    expect([created.status, created.body.version]).toEqual([200, 1]);
    const before = await snapshotCarts(db);
    const again = await put('515', { items: [] }, { 'If-None-Match': '*' });
    expect(again.status).toBe(412);
    expect(again.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { expected: 'none', current: 1 } });
    const refused: Array<Record<string, string>> = [
      { 'If-None-Match': '"1"' },
      { 'If-None-Match': 'W/"1"' },
      { 'If-None-Match': '*', 'If-Match': '1' },
    ];
    for (const headers of refused) {
      const response = await put('515', { items: [] }, headers);
      expect(response.status, JSON.stringify(headers)).toBe(400);
    }
    expect(await snapshotCarts(db)).toEqual(before);
  });

  it('accepts the contract limits exactly: 50 items (as an order), quantity 1 and 1000, nesting 5, 50 keys, 500-char strings', async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ productId: i + 1, quantity: i % 2 ? 1 : 1000 }));
    expect((await put('512', { items })).status).toBe(200);
    const attributes = {
      nested: { l2: { l3: { l4: { leaf: 'five levels' } } } },
      list: [1, { inner: [2, { deeper: 'x' }] }],
      wide: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, i])),
      text: 'x'.repeat(500),
      'spaces and ünïcödé': 'fine',
    };
    const saved = await put('512', { items: [{ productId: 1, quantity: 1, attributes }] });
    expect(saved.status).toBe(200);
    expect((await get('512')).body.items[0].attributes).toEqual(attributes);
  });
});

describe('every rejected input: 400 VALIDATION_ERROR (413 for size), nothing written', () => {
  let before: unknown[];
  beforeEach(async () => {
    before = await snapshotCarts(db);
  });
  const expectUntouched = async () => expect(await snapshotCarts(db)).toEqual(before);

  it.each(['abc', '0', '-1', '01', '1.5', '1e3', '2147483648', ' 1', '%7B%22%24gt%22%3A0%7D', '{"$gt":0}', '[1]'])(
    'bad customer id in the path: %s',
    async (customerId) => {
      for (const response of [
        await put(customerId, { items: [] }),
        await get(customerId),
        await invoke(deleteCart, { method: 'DELETE', customerId }),
        await invoke(checkoutCart, { method: 'POST', customerId, suffix: '/checkout' }),
      ]) {
        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR' });
        expect(response.body.error.details[0].field).toBe('path.customerId');
      }
      await expectUntouched();
    },
  );

  const item = (patch: Record<string, unknown>) => ({ items: [{ productId: 1, quantity: 1, ...patch }] });
  const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { d: nest(depth - 1) });

  it.each([
    ['productId 0', item({ productId: 0 }), 'body.items.0.productId'],
    ['productId -1', item({ productId: -1 }), 'body.items.0.productId'],
    ['productId 1.5', item({ productId: 1.5 }), 'body.items.0.productId'],
    ['productId as a string', item({ productId: '7' }), 'body.items.0.productId'],
    ['productId above int32', item({ productId: 2_147_483_648 }), 'body.items.0.productId'],
    ['productId as an operator', item({ productId: { $gt: 0 } }), 'body.items.0.productId'],
    ['quantity 0', item({ quantity: 0 }), 'body.items.0.quantity'],
    ['quantity 1001', item({ quantity: 1001 }), 'body.items.0.quantity'],
    ['quantity -5', item({ quantity: -5 }), 'body.items.0.quantity'],
    ['quantity 1.5', item({ quantity: 1.5 }), 'body.items.0.quantity'],
    ['quantity as a string', item({ quantity: '2' }), 'body.items.0.quantity'],
    ['quantity missing', { items: [{ productId: 1 }] }, 'body.items.0.quantity'],
    ['51 items (more than an order takes)', { items: Array.from({ length: 51 }, () => ({ productId: 1, quantity: 1 })) }, 'body.items'],
    ['items missing', {}, 'body.items'],
    ['items not an array', { items: { $gt: [] } }, 'body.items'],
    ['note too long', { items: [], note: 'n'.repeat(1001) }, 'body.note'],
    ['unknown field on the item', item({ price: 0.01 }), 'body.items.0'],
    ['customerId operator in the body', { items: [], customerId: { $gt: 0 } }, 'body'],
    ['$set at the top level', { $set: { items: [] } }, 'body'],
    ['$where at the top level', { items: [], $where: 'sleep(1000)' }, 'body'],
    ['attributes with a $ key', item({ attributes: { $gt: 1 } }), 'body.items.0.attributes.$gt'],
    ['attributes with $set', item({ attributes: { $set: { version: 0 } } }), 'body.items.0.attributes.$set'],
    [
      'attributes with $where deep inside',
      item({ attributes: { a: { b: [{ $where: 'true' }] } } }),
      'body.items.0.attributes.a.b.0.$where',
    ],
    ['attributes with a dotted key', item({ attributes: { 'a.b': 1 } }), 'body.items.0.attributes.a.b'],
    ['attributes with a nested dotted key', item({ attributes: { a: { 'version.x': 1 } } }), 'body.items.0.attributes.a.version.x'],
    ['attributes with a constructor key', item({ attributes: { constructor: 'Object' } }), 'body.items.0.attributes.constructor'],
    // The JSON body parser already refuses constructor.prototype (prototype poisoning) as a whole-body error.
    ['attributes with constructor.prototype', item({ attributes: { constructor: { prototype: 1 } } }), 'body'],
    ['attributes with a prototype key', item({ attributes: { a: { prototype: 1 } } }), 'body.items.0.attributes.a.prototype'],
    ['attributes with an empty key', item({ attributes: { '': 1 } }), 'body.items.0.attributes.'],
    ['attributes nested 6 deep', item({ attributes: nest(6) }), 'body.items.0.attributes.d.d.d.d.d'],
    ['arrays count as nesting', item({ attributes: { a: [{ b: [{ c: [{ d: 1 }] }] }] } }), 'body.items.0.attributes.a.0.b.0.c'],
    ['an array directly inside an array', item({ attributes: { a: [1, [2]] } }), 'body.items.0.attributes.a.1'],
    [
      'attributes with 51 keys',
      item({ attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }),
      'body.items.0.attributes',
    ],
    ['attributes with a 501-char string', item({ attributes: { s: 'x'.repeat(501) } }), 'body.items.0.attributes.s'],
    ['attributes with a 51-element array', item({ attributes: { a: Array.from({ length: 51 }, () => 1) } }), 'body.items.0.attributes.a'],
    ['attributes with a 101-char key', item({ attributes: { ['k'.repeat(101)]: 1 } }), `body.items.0.attributes.${'k'.repeat(101)}`],
    ['attributes as an array', item({ attributes: ['size', 'M'] }), 'body.items.0.attributes'],
    ['attributes as a string', item({ attributes: 'size=M' }), 'body.items.0.attributes'],
  ])('%s', async (_name, body, field) => {
    const response = await put('501', body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    await expectUntouched();
  });

  it('more than 200 attribute values in one line', async () => {
    const wide = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`g${i}`, Object.fromEntries(Array.from({ length: 45 }, (_, j) => [`k${j}`, j]))]),
    );
    const response = await put('501', item({ attributes: wide }));
    expect(response.status).toBe(400);
    await expectUntouched();
  });

  it('__proto__ keys (raw JSON, anywhere) are rejected', async () => {
    for (const raw of [
      '{"items":[{"productId":1,"quantity":1,"attributes":{"__proto__":{"polluted":true}}}]}',
      '{"items":[{"productId":1,"quantity":1,"attributes":{"a":{"__proto__":{"x":1}}}}]}',
      '{"__proto__":{"items":[]},"items":[]}',
    ]) {
      const response = await putRaw('501', raw);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectUntouched();
  });

  it('malformed JSON ⇒ 400, wrong content type ⇒ 415', async () => {
    expect((await putRaw('501', '{"items": [')).status).toBe(400);
    const wrongType = await invoke(saveCart, {
      method: 'PUT',
      customerId: '501',
      rawBody: 'items=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    await expectUntouched();
  });

  it('a body over 64 KB ⇒ 413 PAYLOAD_TOO_LARGE before it is parsed', async () => {
    const body = JSON.stringify({ items: [], note: 'x'.repeat(64 * 1024) });
    const response = await putRaw('501', body);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    await expectUntouched();
  });

  it('a base64-encoded body counts its decoded bytes: exactly 64 KB is taken, one byte more is 413', async () => {
    const json = (bytes: number) => `{"items":[]}${' '.repeat(bytes - '{"items":[]}'.length)}`;
    const send = async (body: string) => {
      const event = {
        ...httpEvent({
          method: 'PUT',
          path: '/carts/503',
          routeKey: 'PUT /carts/{customerId}',
          pathParameters: { customerId: '503' },
          rawBody: Buffer.from(body).toString('base64'),
        }),
        isBase64Encoded: true,
      };
      return (await saveCart(event, lambdaContext('carts'))).statusCode;
    };
    expect(await send(json(64 * 1024))).toBe(200);
    expect(await send(json(64 * 1024 + 1))).toBe(413);
  });

  it('a malformed Idempotency-Key on checkout ⇒ 400 before anything is read or ordered', async () => {
    for (const key of ['has space', 'k'.repeat(129), 'tab\tkey']) {
      const response = await invoke(checkoutCart, {
        method: 'POST',
        customerId: '501',
        suffix: '/checkout',
        headers: { 'Idempotency-Key': key },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.details[0].field).toBe('headers.idempotency-key');
    }
    await expectUntouched();
  });
});

describe('operator injection leaves other carts untouched', () => {
  it('victim carts are exactly as saved after every hostile request above and below', async () => {
    const hostile = [
      () => put('{"$gt":0}', { items: [] }),
      () => put('501', { items: [], customerId: { $ne: 501 } }),
      () => put('501', { $set: { items: [] }, items: [] }),
      () => put('501', { items: [{ productId: 1, quantity: 1, attributes: { $set: { note: 'pwned' } } }] }),
      () => put('501', { items: [{ productId: { $gt: 0 }, quantity: 1 }] }),
      () => putRaw('501', '{"items":[],"$where":"this.version > 0"}'),
      () => get('{"$ne":null}'),
      () => invoke(deleteCart, { method: 'DELETE', customerId: '{"$gt":0}' }),
    ];
    for (const request of hostile) expect((await request()).status).toBeGreaterThanOrEqual(400);
    for (const [id, body] of Object.entries(victims)) {
      const read = await get(id);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ customerId: Number(id), ...body, version: 1 });
    }
  });
});
