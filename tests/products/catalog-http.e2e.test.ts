import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetShop, testSql } from '../helpers/db.js';
import { api, type JsonResponse } from '../helpers/http.js';

/**
 * GET /products and GET /products/{productId} through serverless-offline: the contract (fields, order,
 * pages, filters), and a 400 with the error envelope for every class of bad input — never a 500.
 */
const sql = testSql();
let ids: number[];

const get = (path: string) => api('GET', path, { authorization: null });

function expectBadRequest(response: JsonResponse, field: string | RegExp) {
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.body.error.code).toBe('VALIDATION_ERROR');
  expect(response.body.error.details.map((detail: { field: string }) => detail.field)).toContainEqual(
    typeof field === 'string' ? field : expect.stringMatching(field),
  );
}

/** Follows nextCursor to the end; every page but the last is full. */
async function walk(query: string, limit: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const response: JsonResponse = await get(`/products?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    seen.push(...response.body.products.map((product: { productId: number }) => product.productId));
    cursor = response.body.nextCursor;
    if (cursor) expect(response.body.products).toHaveLength(limit);
  } while (cursor);
  return seen;
}

beforeAll(async () => {
  await resetShop(sql);
  const rows = await sql<Array<{ id: number }>>`
    insert into products (name, price, stock_quantity, metadata)
    select 'Product ' || g, 5 + g, case when g % 4 = 0 then 0 else 10 end,
      jsonb_build_object('colour', case when g % 2 = 0 then 'red' else 'blue' end, 'size', case when g % 3 = 0 then 'M' else 'L' end)
        || case when g % 5 = 0 then '{"tags": ["sale", "eco"]}'::jsonb else '{}' end
    from generate_series(1, 60) g
    returning product_id as id`;
  ids = rows.map((row) => row.id);
});

afterAll(() => sql.end());

describe('GET /products', () => {
  it('lists products in id order with their attributes; a page and a cursor to the next', async () => {
    const first = await get('/products?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      products: [
        { productId: ids[0], name: 'Product 1', price: '6.00', stockQuantity: 10, attributes: { colour: 'blue', size: 'L' } },
        { productId: ids[1], name: 'Product 2', price: '7.00', stockQuantity: 10, attributes: { colour: 'red', size: 'L' } },
      ],
      nextCursor: expect.stringMatching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
    });
    const second = await get(`/products?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.products.map((product: { productId: number }) => product.productId)).toEqual([ids[2], ids[3]]);
    expect((await get('/products')).body.products).toHaveLength(20);
    expect(await walk('inStock=true', 7)).toHaveLength(45);
  });

  it('AND-s attribute filters, matches an element of a list attribute, and filters on price and stock', async () => {
    const expected = (keep: (g: number) => boolean) => ids.filter((_, i) => keep(i + 1));
    expect(await walk('attr.colour=red&attr.size=M', 4)).toEqual(expected((g) => g % 6 === 0));
    expect(await walk('attr.tags=sale', 5)).toEqual(expected((g) => g % 5 === 0));
    expect(await walk('attr.tags=eco&attr.colour=blue', 5)).toEqual(expected((g) => g % 5 === 0 && g % 2 === 1));
    expect(await walk('minPrice=10&maxPrice=20.50&inStock=false', 3)).toEqual(expected((g) => g >= 5 && g <= 15 && g % 4 === 0));
    expect(await walk('attr.colour=green', 10)).toEqual([]);
  });

  it('an attribute no product has answers an empty page, whatever its key (__proto__ too)', async () => {
    for (const query of ['attr.__proto__=x', 'attr.__proto__=x&attr.colour=red', 'attr.constructor=x']) {
      const response = await get(`/products?${query}`);
      expect([query, response.status, response.body.products]).toEqual([query, 200, []]);
    }
  });

  it('a cursor continues only the list it came from', async () => {
    const red = await get('/products?attr.colour=red&limit=2');
    expectBadRequest(await get(`/products?attr.colour=blue&limit=2&cursor=${red.body.nextCursor}`), 'query.cursor');
    expect((await get(`/products?limit=2&attr.colour=red&cursor=${red.body.nextCursor}`)).status).toBe(200);
  });

  it('refuses every class of bad input with a 400 naming the parameter', async () => {
    const cursor = (await get('/products?limit=1')).body.nextCursor as string;
    const cases: Array<[string, string | RegExp]> = [
      ['limit=0', 'query.limit'],
      ['limit=101', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['limit=1e2', 'query.limit'],
      ['colour=red', 'query.colour'],
      ['attr.=red', 'query.attr.'],
      ['attr.a%20b=red', 'query.attr.a b'],
      [`attr.${'k'.repeat(65)}=x`, /^query\.attr\.k+$/],
      [`attr.colour=${'x'.repeat(201)}`, 'query.attr.colour'],
      [Array.from({ length: 11 }, (_, i) => `attr.k${i}=v`).join('&'), 'query.attr'],
      ['minPrice=-1', 'query.minPrice'],
      ['maxPrice=1.234', 'query.maxPrice'],
      ['minPrice=20&maxPrice=10', 'query.minPrice'],
      ['inStock=yes', 'query.inStock'],
      [`cursor=${cursor.slice(0, -2)}`, 'query.cursor'],
      [`cursor=${cursor.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}`, 'query.cursor'],
      ['cursor=not-a-cursor', 'query.cursor'],
      [`cursor=${'a'.repeat(300)}.b`, 'query.cursor'],
      // PostgreSQL's jsonb has no NUL character: the filter could never match, and the database refuses it.
      ['attr.colour=%00', 'query.attr.colour'],
      ['attr.finish=a%00b', 'query.attr.finish'],
      // Names every JavaScript object has are unknown parameters like any other.
      ['constructor=1', 'query.constructor'],
      ['toString=x', 'query.toString'],
      ['hasOwnProperty=1', 'query.hasOwnProperty'],
      // A validated object cannot hold the key __proto__ (assigning it sets the prototype): it must not vanish.
      ['__proto__=x', 'query.__proto__'],
      ['attr.colour=red&__proto__=x', 'query.__proto__'],
      // A filter given twice (API Gateway joins the values with a comma) is not a filter on "red,blue".
      ['attr.colour=red&attr.colour=blue', 'query.attr.colour'],
      ['attr.colour=red&limit=2&limit=3', 'query.limit'],
    ];
    for (const [query, field] of cases) expectBadRequest(await get(`/products?${query}`), field);
  });
});

describe('GET /products/{productId}', () => {
  it('answers one product, 404 for an unknown one, 400 for an id that is not one', async () => {
    expect((await get(`/products/${ids[4]}`)).body).toEqual({
      productId: ids[4],
      name: 'Product 5',
      price: '10.00',
      stockQuantity: 10,
      attributes: { colour: 'blue', size: 'L', tags: ['sale', 'eco'] },
    });
    const unknown = await get('/products/2147483647');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'PRODUCT_NOT_FOUND', details: { productId: 2147483647 } });
    for (const bad of ['abc', '0', '-1', '1.5', '2147483648', '01']) expectBadRequest(await get(`/products/${bad}`), 'path.productId');
    // The static route wins over the parameter.
    expect((await get('/products/top?limit=1')).status).toBe(200);
  });
});
