import { z } from 'zod';
import { getSql } from '../shared/clients/postgres.js';
import { cacheKey, getRedis } from '../shared/clients/redis.js';
import { httpHandler } from '../shared/http/handler.js';
import { intQueryParam } from '../shared/http/schemas.js';
import { getTopProducts } from '../shared/products/top-products.js';

const QuerySchema = z.strictObject({
  limit: intQueryParam(1, 100).default(10),
  days: intQueryParam(1, 365).optional(),
});

export const handler = httpHandler('getTopProducts', { query: QuerySchema }, async ({ query }) => {
  const { result, cache } = await getTopProducts(
    {
      sql: getSql(),
      redis: getRedis(),
      key: ({ limit, days }) => cacheKey('top-products', 'v1', days ?? 'all', limit),
      ttlSeconds: 60,
    },
    query,
  );
  return { statusCode: 200, body: result, headers: { 'X-Cache': cache } };
});
