import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as createOrderHandler } from '../../functions/createOrder.js';
import { handler as saveCartHandler } from '../../functions/saveCart.js';
import { closeMongo } from '../../shared/clients/mongo.js';
import { closeSql } from '../../shared/clients/postgres.js';
import { MAX_BODY_BYTES } from '../../shared/http/handler.js';
import { resetCarts, snapshotCarts, testMongo } from '../carts/helpers.js';
import { bearerFor } from '../helpers/auth.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';
import { dbState } from '../orders/helpers.js';
import { callHandler, rawFetch } from './helpers.js';

/**
 * Hostile input through serverless-offline: size and type limits, strict schemas, bounds, prototype and
 * operator keys, SQL-injection strings, invalid UTF-8 and absurd numbers. Every one is a 4xx (never a
 * 5xx, never a 200 with errorMessage) and changes nothing.
 */
const sql = testSql();
const { client, db } = testMongo();
let fx: Fixtures;
let C: number; // the caller: every request uses C's own token, so only the input is hostile
let P: number;
let token: string;

beforeAll(async () => {
  await resetShop(sql);
  await resetCarts(db);
  fx = await insertFixtures(sql, { customers: 2, products: 3, stock: 50 });
  C = fx.customerIds[0]!;
  P = fx.productIds[0]!;
  token = await bearerFor(C);
  const victim = await api('PUT', `/carts/${C}`, {
    body: { items: [{ productId: P, quantity: 1, attributes: { size: 'S' } }], note: 'victim' },
    authorization: token,
  });
  expect(victim.status).toBe(200);
});

afterAll(async () => {
  await closeSql();
  await closeMongo();
  await client.close();
  await sql.end();
});

async function everything() {
  return { db: await dbState(sql), carts: await snapshotCarts(db) };
}

/** Runs the requests, expects each to be refused with `status` (and `code`), and nothing to have changed. */
async function expectAllRefused(
  status: number,
  code: string | undefined,
  requests: Array<[label: string, send: () => Promise<{ status: number; body: any }>]>,
): Promise<void> {
  const before = await everything();
  for (const [label, send] of requests) {
    const response = await send();
    expect(response.status, `${label}: ${JSON.stringify(response.body)?.slice(0, 300)}`).toBe(status);
    if (code) expect(response.body?.error?.code, label).toBe(code);
  }
  expect(await everything()).toEqual(before);
}

const order = (body: unknown) => () => api('POST', '/orders', { body, authorization: token });
const orderRaw =
  (raw: string, headers: Record<string, string> = {}) =>
  () =>
    api('POST', '/orders', { rawBody: raw, authorization: token, headers });
const cart = (body: unknown) => () => api('PUT', `/carts/${C}`, { body, authorization: token });
const cartRaw =
  (raw: string | Uint8Array, headers: Record<string, string> = {}) =>
  () =>
    rawFetch('PUT', `/carts/${C}`, raw, { 'Content-Type': 'application/json', Authorization: token, ...headers });
const item = (fields: Record<string, unknown> = {}) => ({ productId: P, quantity: 1, ...fields });
const validOrder = () => ({ customerId: C, items: [item()] });

describe('body size: at most 64 KB (413)', () => {
  it('counts bytes, not characters, and answers 413 before parsing', async () => {
    const padded = (bytes: number) => {
      const head = '{"items":[]';
      return `${head + ' '.repeat(bytes - head.length - 1)}}`;
    };
    expect(Buffer.byteLength(padded(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
    expect((await cartRaw(padded(MAX_BODY_BYTES))()).status).toBe(200);
    await expectAllRefused(413, 'PAYLOAD_TOO_LARGE', [
      ['64 KB + 1 byte', cartRaw(padded(MAX_BODY_BYTES + 1))],
      ['40,000 two-byte characters', cartRaw(JSON.stringify({ items: [], note: 'é'.repeat(40_000) }))],
      ['POST /orders, 1 MB', orderRaw(JSON.stringify({ ...validOrder(), pad: 'x'.repeat(1024 * 1024) }))],
      [
        'a body on a route without one, 100 KB',
        () => api('POST', `/carts/${C}/checkout`, { rawBody: 'x'.repeat(100_000), authorization: token }),
      ],
    ]);
    // Re-save the victim (the 64 KB request above legitimately emptied it).
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'victim' })()).status).toBe(200);
  });

  it('a body larger than serverless-offline accepts (11 MB) is still a 413', async () => {
    const response = await rawFetch('PUT', `/carts/${C}`, `{"items":[],"note":"${'x'.repeat(11 * 1024 * 1024)}"}`, {
      'Content-Type': 'application/json',
      Authorization: token,
    });
    expect(response.status).toBe(413);
  });
});

describe('JSON only (415)', () => {
  it('refuses other content types on every route with a body', async () => {
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'text/json',
      'application/jsonp',
      'application/json-seq x',
    ];
    await expectAllRefused(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      types.flatMap(
        (type): Array<[string, () => Promise<{ status: number; body: any }>]> => [
          [`POST /orders as ${type}`, orderRaw(JSON.stringify(validOrder()), { 'Content-Type': type })],
          [`PUT /carts as ${type}`, cartRaw(JSON.stringify({ items: [] }), { 'Content-Type': type })],
        ],
      ),
    );
  });

  it('accepts application/json with a charset', async () => {
    const response = await cartRaw(JSON.stringify({ items: [item({ attributes: { size: 'S' } })], note: 'victim' }), {
      'Content-Type': 'application/json; charset=utf-8',
    })();
    expect(response.status).toBe(200);
  });

  it('accepts application/json as RFC 9110 writes it: any case, spaces around the semicolon', async () => {
    for (const type of [
      'Application/JSON',
      'application/json;charset=UTF-8',
      'application/json ; charset=utf-8',
      'application/json\t;charset=utf-8',
    ]) {
      const response = await cartRaw(JSON.stringify({ items: [] }), { 'Content-Type': type })();
      expect(response.status, type).toBe(200);
    }
  });

  it('checks the type before the bytes: a body that is not UTF-8, sent as text, is a 415', async () => {
    const response = await callHandler(saveCartHandler, {
      method: 'PUT',
      path: `/carts/${C}`,
      pathParameters: { customerId: String(C) },
      rawBody: 'caf\uFFFD',
      headers: { 'content-type': 'text/plain' },
      authorization: token,
    });
    expect(response.status).toBe(415);
  });

  it('no Content-Type at all is a 415 (in process: serverless-offline would default it to JSON)', async () => {
    const response = await callHandler(saveCartHandler, {
      method: 'PUT',
      path: `/carts/${C}`,
      pathParameters: { customerId: String(C) },
      rawBody: '{"items":[]}',
      headers: { 'content-type': '' },
      authorization: token,
    });
    expect(response.status).toBe(415);
  });
});

describe('strict schemas: unknown fields are rejected (400), each one named', () => {
  it('POST /orders: a client-sent price, total or status, at the top or in an item', async () => {
    const response = await order({ ...validOrder(), totalAmount: '0.01', status: 'paid', items: [item({ unitPrice: '0.01' })] })();
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'body.items.0.unitPrice',
      'body.status',
      'body.totalAmount',
    ]);
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['an extra field', order({ ...validOrder(), discount: 100 })],
      ['an extra field in an item', order({ customerId: C, items: [item({ price: 0 })] })],
      ['an array body', order([validOrder()])],
      ['null', orderRaw('null')],
      ['a string', orderRaw('"order"')],
      ['a number', orderRaw('42')],
      ['an empty body', orderRaw('')],
      ['malformed JSON', orderRaw('{"customerId": 1,')],
    ]);
  });

  it('PUT /carts: customerId, version, expiresAt, an operator, a price', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['customerId in the body', cart({ items: [], customerId: C + 1 })],
      ['version', cart({ items: [], version: 99 })],
      ['expiresAt', cart({ items: [], expiresAt: '2999-01-01T00:00:00Z' })],
      ['$set', cart({ items: [], $set: { note: 'x' } })],
      ['a price in an item', cart({ items: [item({ price: 0 })] })],
      ['items missing', cart({ note: 'no items' })],
    ]);
  });

  it('query strings: unknown parameters, and any on a route that takes none', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['GET /products/top?sort=', () => api('GET', '/products/top?limit=3&sort=price', { authorization: null })],
      ['GET /products/top?limit[$gt]=0', () => api('GET', '/products/top?limit[$gt]=0', { authorization: null })],
      ['GET /analytics/summary?evil=1', () => api('GET', '/analytics/summary?days=7&evil=1')],
      ['GET /carts/C?fields=all', () => api('GET', `/carts/${C}?fields=all`, { authorization: token })],
      ['DELETE /carts/C?force=true', () => api('DELETE', `/carts/${C}?force=true`, { authorization: token })],
    ]);
  });

  it('a body on a route that takes none', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['DELETE with a body', () => api('DELETE', `/carts/${C}`, { body: { items: [] }, authorization: token })],
      ['checkout with a body', () => api('POST', `/carts/${C}/checkout`, { body: { customerId: C + 1 }, authorization: token })],
      [
        'GET-like checkout with text',
        () => api('POST', `/carts/${C}/checkout`, { rawBody: 'please', authorization: token, headers: { 'Content-Type': 'text/plain' } }),
      ],
    ]);
  });
});

describe('requests no route matches', () => {
  it('an unknown path is a 404 in the API’s error shape, whatever its method, query or body; it changes nothing', async () => {
    await expectAllRefused(404, 'NOT_FOUND', [
      ['GET /nope', () => api('GET', '/nope', { authorization: null })],
      ['GET /orders/1/items', () => api('GET', '/orders/1/items', { authorization: token })],
      ['POST /nope with JSON', () => api('POST', '/nope?x=1', { body: { customerId: C }, authorization: token })],
      ['POST /nope with text', () => api('POST', '/nope', { rawBody: 'hello', headers: { 'Content-Type': 'text/plain' } })],
    ]);
    const response = await api('GET', '/nope?x=1', { authorization: null });
    expect(response.body.error).toMatchObject({ message: expect.stringContaining('GET /nope'), details: { method: 'GET', path: '/nope' } });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('a known path with a method it does not take is a 405 naming the methods it does (Allow)', async () => {
    await expectAllRefused(405, 'METHOD_NOT_ALLOWED', [
      ['PATCH /carts/C', () => api('PATCH', `/carts/${C}`, { body: { items: [] }, authorization: token })],
      ['DELETE /orders', () => api('DELETE', '/orders', { authorization: token })],
      ['PUT /products/top', () => api('PUT', '/products/top', { authorization: null })],
    ]);
    const cart = await api('PATCH', `/carts/${C}`, { authorization: token });
    expect(cart.headers.get('allow')).toBe('DELETE, GET, PUT');
    expect(cart.body.error.details).toEqual({ method: 'PATCH', path: `/carts/${C}`, allow: ['DELETE', 'GET', 'PUT'] });
    expect((await api('DELETE', '/orders', { authorization: token })).headers.get('allow')).toBe('POST');
  });
});

describe('expensive shapes within 64 KB', () => {
  it('deep nesting (32,000 levels) is a 400, not a stack overflow 500', async () => {
    const depth = 30_000;
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['an order of nested arrays', orderRaw('['.repeat(depth) + ']'.repeat(depth))],
      [
        'nested arrays in attributes',
        cartRaw(`{"items":[{"productId":${P},"quantity":1,"attributes":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}]}`),
      ],
      ['nested objects in a note', cartRaw(`{"items":[],"note":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`)],
    ]);
  });

  it('thousands of unknown fields: a 400 listing at most 100 of them', async () => {
    const fields = Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`f${i}`, 0]));
    const response = await order({ ...validOrder(), ...fields })();
    expect(response.status).toBe(400);
    expect(response.body.error.details).toHaveLength(101);
    expect(response.body.error.details.at(-1)).toEqual({ field: 'body', message: '5900 more problems not listed' });
  });
});

describe('numeric bounds', () => {
  it('quantities, item counts and ids outside their bounds', async () => {
    const many = (n: number) => Array.from({ length: n }, () => item());
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ...[0, -1, 1001, 1.5, '1', null, true, [1], { n: 1 }].map((quantity): [string, () => Promise<any>] => [
        `quantity ${JSON.stringify(quantity)}`,
        order({ customerId: C, items: [item({ quantity })] }),
      ]),
      ...[0, -1, 1001, 2.5].map((quantity): [string, () => Promise<any>] => [
        `cart quantity ${quantity}`,
        cart({ items: [item({ quantity })] }),
      ]),
      ['no items', order({ customerId: C, items: [] })],
      ['51 order lines', order({ customerId: C, items: many(51) })],
      ['101 cart lines', cart({ items: many(101) })],
      ['customerId 0', order({ customerId: 0, items: [item()] })],
      ['customerId -1', order({ customerId: -1, items: [item()] })],
      ['productId 0', order({ customerId: C, items: [item({ productId: 0 })] })],
      ['productId 2^31', order({ customerId: C, items: [item({ productId: 2 ** 31 })] })],
    ]);
  });

  it('query parameters outside their bounds', async () => {
    await expectAllRefused(
      400,
      'VALIDATION_ERROR',
      [
        'limit=0',
        'limit=101',
        'limit=-1',
        'limit=1.5',
        'limit=1e1',
        'limit=%201',
        'limit=',
        'days=0',
        'days=366',
        'days=99999999',
        'limit=1&limit=2',
      ].map((query): [string, () => Promise<any>] => [
        `/products/top?${query}`,
        () => api('GET', `/products/top?${query}`, { authorization: null }),
      ]),
    );
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['analytics days=366', () => api('GET', '/analytics/summary?days=366')],
      ['analytics top=51', () => api('GET', '/analytics/summary?top=51')],
    ]);
  });
});

describe('string length bounds', () => {
  it('note, attribute strings and keys, nesting, Idempotency-Key', async () => {
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'n'.repeat(1000) })()).status).toBe(200);
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'victim' })()).status).toBe(200);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 6; i++) deep = { d: deep };
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['note of 1001 characters', cart({ items: [], note: 'n'.repeat(1001) })],
      ['an attribute string of 501 characters', cart({ items: [item({ attributes: { engraving: 'e'.repeat(501) } })] })],
      ['an attribute key of 101 characters', cart({ items: [item({ attributes: { ['k'.repeat(101)]: 1 } })] })],
      ['attributes nested 7 deep', cart({ items: [item({ attributes: deep })] })],
      [
        '51 attribute keys',
        cart({ items: [item({ attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) })] }),
      ],
      ['an attribute array of 51', cart({ items: [item({ attributes: { tags: Array.from({ length: 51 }, (_, i) => i) } })] })],
      ['a note that is a number', cart({ items: [], note: 42 })],
    ]);
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      [
        'Idempotency-Key of 129',
        () => api('POST', '/orders', { body: validOrder(), authorization: token, headers: { 'Idempotency-Key': 'k'.repeat(129) } }),
      ],
      [
        'Idempotency-Key with a space',
        () => api('POST', '/orders', { body: validOrder(), authorization: token, headers: { 'Idempotency-Key': 'a b' } }),
      ],
      [
        'Idempotency-Key with Latin-1',
        () => api('POST', '/orders', { body: validOrder(), authorization: token, headers: { 'Idempotency-Key': 'cl\u00e9' } }),
      ],
    ]);
  });
});

describe('__proto__, constructor and prototype keys', () => {
  const ordersRaw = [
    `{"__proto__": {"isAdmin": true}, "customerId": ${C}, "items": [{"productId": ${P}, "quantity": 1}]}`,
    `{"constructor": {"prototype": {"polluted": true}}, "customerId": ${C}, "items": [{"productId": ${P}, "quantity": 1}]}`,
    `{"prototype": {"polluted": true}, "customerId": ${C}, "items": [{"productId": ${P}, "quantity": 1}]}`,
    `{"customerId": ${C}, "items": [{"productId": ${P}, "quantity": 1, "__proto__": {"quantity": 0}}]}`,
    `{"customerId": ${C}, "items": [{"productId": ${P}, "quantity": 1, "constructor": 1}]}`,
  ];
  const cartsRaw = [
    `{"__proto__": {"items": []}, "items": []}`,
    `{"items": [], "constructor": {"prototype": {"polluted": true}}}`,
    ...['__proto__', 'constructor', 'prototype'].flatMap((key) => [
      `{"items": [{"productId": ${P}, "quantity": 1, "attributes": {"${key}": {"polluted": true}}}]}`,
      `{"items": [{"productId": ${P}, "quantity": 1, "attributes": {"a": {"b": {"${key}": {"polluted": true}}}}}]}`,
      `{"items": [{"productId": ${P}, "quantity": 1, "attributes": {"list": [{"${key}": 1}]}}]}`,
    ]),
  ];

  it('are rejected (400) through serverless-offline, in the body and in cart attributes', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ...ordersRaw.map((raw): [string, () => Promise<any>] => [raw, orderRaw(raw)]),
      ...cartsRaw.map((raw): [string, () => Promise<any>] => [raw, cartRaw(raw)]),
    ]);
  });

  it('and pollute nothing in process (the same handlers, called directly)', async () => {
    const before = await everything();
    for (const raw of ordersRaw) {
      const response = await callHandler(createOrderHandler, { method: 'POST', path: '/orders', rawBody: raw, authorization: token });
      expect(response.status, raw).toBe(400);
    }
    for (const raw of cartsRaw) {
      const response = await callHandler(saveCartHandler, {
        method: 'PUT',
        path: `/carts/${C}`,
        pathParameters: { customerId: String(C) },
        rawBody: raw,
        authorization: token,
      });
      expect(response.status, raw).toBe(400);
    }
    const probe = {} as Record<string, unknown>;
    expect(probe.polluted).toBeUndefined();
    expect(probe.isAdmin).toBeUndefined();
    expect(probe.items).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(await everything()).toEqual(before);
  });
});

describe('MongoDB operators and dotted keys', () => {
  it('operators as ids, $where, and $/dotted keys anywhere in a cart are rejected', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['customerId {"$gt":0}', order({ customerId: { $gt: 0 }, items: [item()] })],
      ['productId {"$ne":null}', order({ customerId: C, items: [item({ productId: { $ne: null } })] })],
      ['quantity {"$gt":0}', cart({ items: [item({ quantity: { $gt: 0 } })] })],
      ['a top-level $where', cart({ items: [], $where: 'sleep(1000)' })],
      ['attributes {"$where": …}', cart({ items: [item({ attributes: { $where: 'sleep(1000)' } })] })],
      ['attributes {"size": {"$gt": ""}}', cart({ items: [item({ attributes: { size: { $gt: '' } } })] })],
      ['attributes {"a.b": 1}', cart({ items: [item({ attributes: { 'a.b': 1 } })] })],
      ['attributes {"x": {"y.z": 1}}', cart({ items: [item({ attributes: { x: { 'y.z': 1 } } })] })],
      ['attributes {"x": [{"$set": 1}]}', cart({ items: [item({ attributes: { x: [{ $set: 1 }] } })] })],
      ['an empty attribute key', cart({ items: [item({ attributes: { '': 1 } })] })],
      ['a NUL in an attribute key', cart({ items: [item({ attributes: { 'a\u0000b': 1 } })] })],
      ...['%7B%22%24gt%22%3A0%7D', '%24gt', '%24where', '1%2E0', 'a.b', '%5B1%5D'].map((id): [string, () => Promise<any>] => [
        `GET /carts/${id}`,
        () => api('GET', `/carts/${id}`, { authorization: token }),
      ]),
    ]);
  });

  it('operator-looking text is data, stored and returned verbatim', async () => {
    const body = {
      items: [item({ attributes: { engraving: '{"$where": "sleep(1000)"}', 'price-$': 'a.b' } })],
      note: '$where: 1; db.dropDatabase()',
    };
    const saved = await cart(body)();
    expect(saved.status).toBe(200);
    expect((await api('GET', `/carts/${C}`, { authorization: token })).body).toMatchObject(body);
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'victim' })()).status).toBe(200);
  });
});

describe('SQL injection strings', () => {
  it('as ids and query parameters: 400 before any query', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['customerId "1 OR 1=1"', order({ customerId: '1 OR 1=1', items: [item()] })],
      ['productId "1; DROP TABLE orders; --"', order({ customerId: C, items: [item({ productId: '1; DROP TABLE orders; --' })] })],
      ['quantity "1) OR (1=1"', order({ customerId: C, items: [item({ quantity: '1) OR (1=1' })] })],
      ['path 1 OR 1=1', () => api('GET', `/carts/${encodeURIComponent('1 OR 1=1')}`, { authorization: token })],
      ['path 1;DROP', () => api('DELETE', `/carts/${encodeURIComponent(`${C};DROP TABLE orders`)}`, { authorization: token })],
      ['limit=1 OR 1=1', () => api('GET', `/products/top?limit=${encodeURIComponent('1 OR 1=1')}`, { authorization: null })],
      ["days=1'--", () => api('GET', `/products/top?days=${encodeURIComponent("1'--")}`, { authorization: null })],
      ['analytics days=1;DROP', () => api('GET', `/analytics/summary?days=${encodeURIComponent('1;DROP TABLE orders')}`)],
    ]);
  });

  it('as free text (an Idempotency-Key, a cart note) they are data: parameterised all the way', async () => {
    const key = "';DROP-TABLE-orders;--";
    const first = await api('POST', '/orders', { body: validOrder(), authorization: token, headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(201);
    const replay = await api('POST', '/orders', { body: validOrder(), authorization: token, headers: { 'Idempotency-Key': key } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const [stored] = await sql<
      Array<{ key: string }>
    >`select idempotency_key as key from idempotency_keys where order_id = ${first.body.orderId}`;
    expect(stored?.key).toBe(key);

    const note = "Robert'); DROP TABLE orders;-- \\' OR '1'='1";
    expect((await cart({ items: [item()], note })()).status).toBe(200);
    expect((await api('GET', `/carts/${C}`, { authorization: token })).body.note).toBe(note);
    const checkout = await api('POST', `/carts/${C}/checkout`, { authorization: token });
    expect(checkout.status).toBe(201);
    const [counts] = await sql<Array<{ orders: number; tables: number }>>`
      select (select count(*)::int from orders where customer_id = ${C}) as orders,
             (select count(*)::int from pg_tables where schemaname = 'public' and tablename in ('orders', 'order_items', 'products', 'customers', 'idempotency_keys')) as tables`;
    expect(counts).toEqual({ orders: 2, tables: 5 });
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'victim' })()).status).toBe(200);
  });
});

describe('invalid UTF-8 (raw bytes): 400, never a 500', () => {
  const bytes = (...parts: Array<string | number[]>) =>
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

  it('in a cart note, a key, or an order body', async () => {
    await expectAllRefused(400, 'VALIDATION_ERROR', [
      ['\\xff\\xfe in a string', cartRaw(bytes('{"items":[],"note":"', [0xff, 0xfe], '"}'))],
      ['overlong "/" (\\xc0\\xaf)', cartRaw(bytes('{"items":[],"note":"', [0xc0, 0xaf], '"}'))],
      ['a truncated sequence', cartRaw(bytes('{"items":[],"note":"', [0xe2, 0x82], '"}'))],
      ['an encoded surrogate (CESU)', cartRaw(bytes('{"items":[],"note":"', [0xed, 0xa0, 0x80], '"}'))],
      ['in an attribute key', cartRaw(bytes(`{"items":[{"productId":${P},"quantity":1,"attributes":{"`, [0xff], '":1}}]}'))],
      [
        'between tokens of an order',
        () =>
          rawFetch('POST', '/orders', bytes(`{"customerId":${C},`, [0x80], `"items":[{"productId":${P},"quantity":1}]}`), {
            'Content-Type': 'application/json',
            Authorization: token,
          }),
      ],
      ['a lone surrogate as a JSON escape', cartRaw('{"items":[],"note":"\\ud800"}')],
      ['a lone low surrogate in a key', cartRaw(`{"items":[{"productId":${P},"quantity":1,"attributes":{"\\udc00":1}}]}`)],
      ['a literal U+FFFD (what a decoder leaves of invalid bytes)', cartRaw('{"items":[],"note":"a\uFFFDb"}')],
    ]);
  });

  it('valid UTF-8 round-trips exactly (accents, CJK, emoji, escaped U+FFFD)', async () => {
    const note = 'Grüße, 東京 😀 \ufffd';
    const raw = `{"items":[{"productId":${P},"quantity":1,"attributes":{"size":"S","emoji":"\\ud83d\\ude00"}}],"note":${JSON.stringify(note).replace('\ufffd', '\\ufffd')}}`;
    const saved = await cartRaw(raw)();
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.note).toBe(note);
    expect(saved.body.items[0].attributes.emoji).toBe('😀');
    expect((await cart({ items: [item({ attributes: { size: 'S' } })], note: 'victim' })()).status).toBe(200);
  });
});

describe('huge integers and floats as ids: 400', () => {
  it('in the body', async () => {
    const values = ['1e309', '-1e309', '9007199254740993', '99999999999', '2147483648', '1.5', '1.0000000001', '-0', '1e400'];
    await expectAllRefused(
      400,
      'VALIDATION_ERROR',
      values.flatMap(
        (value): Array<[string, () => Promise<any>]> => [
          [`customerId ${value}`, orderRaw(`{"customerId":${value},"items":[{"productId":${P},"quantity":1}]}`)],
          [`productId ${value}`, orderRaw(`{"customerId":${C},"items":[{"productId":${value},"quantity":1}]}`)],
          [`cart productId ${value}`, cartRaw(`{"items":[{"productId":${value},"quantity":1}]}`)],
        ],
      ),
    );
  });

  it('in the path', async () => {
    await expectAllRefused(
      400,
      'VALIDATION_ERROR',
      [
        '1e309',
        '9007199254740993',
        '99999999999',
        '2147483648',
        '1.5',
        '1.0',
        '0x10',
        '+1',
        '-1',
        '00001',
        'Infinity',
        'NaN',
        '1e3',
        `${C}%00`,
      ].map((id): [string, () => Promise<any>] => [`/carts/${id}`, () => api('GET', `/carts/${id}`, { authorization: token })]),
    );
  });
});
