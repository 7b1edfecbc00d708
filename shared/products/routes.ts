import * as z from 'zod';
import { assertType, defineRoute, Money, type SameKeys, Timestamp } from '../http/route.js';
import { intQueryParam } from '../http/schemas.js';
import { id } from '../ids.js';
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
