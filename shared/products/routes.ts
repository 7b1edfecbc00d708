import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, Money, type SameKeys, Timestamp } from '../http/route.js';
import { intQueryParam, PageQuery } from '../http/schemas.js';
import { id, idParam } from '../ids.js';
import { CATALOG_LIMITS, type CatalogFilter, type CatalogProduct } from './catalog.js';
import { MAX_LIMIT, type TopProductsResult } from './top-products.js';
import { MAX_WINDOW_DAYS } from './window.js';

/** Strict: an unknown parameter is a 400, not silently ignored. */
export const TopProductsQuerySchema = z.strictObject({
  limit: intQueryParam(1, MAX_LIMIT)
    .default(10)
    .meta({ description: `How many products (1–${MAX_LIMIT}, default 10).` }),
  days: intQueryParam(1, MAX_WINDOW_DAYS)
    .optional()
    .meta({ description: `Today (UTC) and the days before it, 1–${MAX_WINDOW_DAYS}; all time when absent.` }),
});

export const TopProductsSchema = z
  .object({
    products: z.array(z.object({ productId: id, name: z.string(), unitsSold: z.number().int().min(0), revenue: Money })),
    generatedAt: Timestamp,
    window: z.object({ days: z.number().int().min(1).nullable(), since: z.string().nullable() }),
  })
  .meta({ title: 'TopProducts' }) satisfies z.ZodType<TopProductsResult>;
assertType<SameKeys<z.output<typeof TopProductsSchema>, TopProductsResult>>();

export const getTopProductsRoute = defineRoute({
  function: 'getTopProducts',
  method: 'GET',
  path: '/products/top',
  summary: 'Best-selling products',
  description:
    'Served from Redis (Upstash) with PostgreSQL as the source of truth; never fails because of the cache. Contract: docs/top-products.md.',
  tags: ['products'],
  request: { query: TopProductsQuerySchema, access: 'public' },
  example: { query: { limit: '5', days: '30' } },
  responses: {
    200: {
      description: 'Products by units sold (ties by product id).',
      schema: TopProductsSchema,
      headers: { 'X-Cache': 'HIT, MISS (computed and cached) or BYPASS (the cache was unusable; answered from PostgreSQL).' },
    },
  },
});

const ATTRIBUTE_PARAMETER = new RegExp(`^attr\\.[A-Za-z0-9_-]{1,${CATALOG_LIMITS.keyLength}}$`);
const ATTRIBUTE_VALUE_RULE = `must be 1 to ${CATALOG_LIMITS.valueLength} characters, without NUL (U+0000: PostgreSQL's jsonb has none)`;
const isAttributeValue = (value: string) => value.length > 0 && value.length <= CATALOG_LIMITS.valueLength && !value.includes('\u0000');
const AttributeValue = z.string().min(1).max(CATALOG_LIMITS.valueLength).refine(isAttributeValue, ATTRIBUTE_VALUE_RULE);
const PriceParam = z
  .string()
  .regex(/^[0-9]{1,10}(\.[0-9]{1,2})?$/, 'must be an amount such as 10 or 19.99')
  .meta({ description: 'An amount, inclusive (e.g. 19.99).' });
/** Attribute keys of the sample shop, listed so the API reference offers them; any other `attr.<key>` (ATTRIBUTE_PARAMETER) works alike. */
const SAMPLE_ATTRIBUTES = ['category', 'brand', 'colour', 'size', 'material', 'tags'] as const;

const LIST_PRODUCTS_QUERY = {
  ...PageQuery,
  minPrice: PriceParam.optional(),
  maxPrice: PriceParam.optional(),
  inStock: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .meta({ description: '`true`: only products in stock; `false`: only sold-out ones.' }),
  ...Object.fromEntries(
    SAMPLE_ATTRIBUTES.map((key) => [
      `attr.${key}`,
      AttributeValue.optional().meta({
        description: `Products whose \`${key}\` is this value (for a list such as tags: contains it). Any \`attr.<key>\` filters alike; up to ${CATALOG_LIMITS.attributes}, AND-ed.`,
      }),
    ]),
  ),
};

/**
 * GET /products query: the page, price and stock filters, and up to 10 `attr.<key>=<value>` filters.
 * Anything else is a 400 naming the parameter.
 */
export const ListProductsQuerySchema = z
  .object(LIST_PRODUCTS_QUERY)
  .catchall(z.string())
  .superRefine((query, ctx) => {
    const keys = Object.keys(query);
    for (const key of keys) {
      if (Object.hasOwn(LIST_PRODUCTS_QUERY, key)) continue;
      const value = String(query[key]);
      if (!ATTRIBUTE_PARAMETER.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `Unknown parameter (an attribute filter is attr.<key>, the key 1–${CATALOG_LIMITS.keyLength} letters, digits, _ or -).`,
        });
      } else if (!isAttributeValue(value)) {
        ctx.addIssue({ code: 'custom', path: [key], message: ATTRIBUTE_VALUE_RULE });
      }
    }
    if (keys.filter((key) => key.startsWith('attr.')).length > CATALOG_LIMITS.attributes) {
      ctx.addIssue({ code: 'custom', path: ['attr'], message: `at most ${CATALOG_LIMITS.attributes} attribute filters` });
    }
    if (query.minPrice !== undefined && query.maxPrice !== undefined && Number(query.minPrice) > Number(query.maxPrice)) {
      ctx.addIssue({ code: 'custom', path: ['minPrice'], message: 'must not be more than maxPrice' });
    }
  });

/** The catalog filter a validated GET /products query asks for. */
export function catalogFilter(query: z.output<typeof ListProductsQuerySchema>): CatalogFilter {
  // No prototype: `attr.__proto__` is a filter on the key "__proto__" like any other, not a prototype to set.
  const attributes: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(query)) {
    if (key.startsWith('attr.') && typeof value === 'string') attributes[key.slice('attr.'.length)] = value;
  }
  return { attributes, minPrice: query.minPrice, maxPrice: query.maxPrice, inStock: query.inStock };
}

export const CatalogProductSchema = z
  .object({
    productId: id,
    name: z.string(),
    price: Money,
    stockQuantity: z.number().int().min(0),
    attributes: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The product’s attributes (its metadata): category, brand, colour, size, tags …' }),
  })
  .meta({ title: 'Product' }) satisfies z.ZodType<CatalogProduct>;
assertType<SameKeys<z.output<typeof CatalogProductSchema>, CatalogProduct>>();

export const ProductPageSchema = z
  .object({
    products: z.array(CatalogProductSchema),
    nextCursor: z.string().nullable().meta({ description: 'The cursor of the next page; null on the last page.' }),
  })
  .meta({ title: 'ProductPage' });

export const listProductsRoute = defineRoute({
  function: 'listProducts',
  method: 'GET',
  path: '/products',
  summary: 'The catalog, filtered by attributes',
  description:
    'Products in id order, a page at a time. `attr.<key>=<value>` filters (a key of letters, digits, `_` or `-`; a text value, or an element of a list; up to 10, AND-ed) are answered by the GIN index on the attributes. Contract: docs/catalog.md.',
  tags: ['products'],
  request: { query: ListProductsQuerySchema, access: 'public' },
  example: { query: { 'attr.colour': 'red', 'attr.size': 'M', inStock: 'true', limit: '5' } },
  responses: { 200: { description: 'A page of products.', schema: ProductPageSchema } },
});

export const getProductRoute = defineRoute({
  function: 'getProduct',
  method: 'GET',
  path: '/products/{productId}',
  summary: 'One product',
  description: 'A product of the catalog by id.',
  tags: ['products'],
  request: { path: z.strictObject({ productId: idParam }), access: 'public' },
  example: { path: { productId: '7' } },
  responses: {
    200: { description: 'The product.', schema: CatalogProductSchema },
    404: { description: 'PRODUCT_NOT_FOUND.', schema: ErrorEnvelopeSchema },
  },
});
