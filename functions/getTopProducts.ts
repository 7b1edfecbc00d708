import * as z from 'zod';
import { getSql } from '../shared/clients/postgres.js';
import { getRedis } from '../shared/clients/redis.js';
import { getConfig } from '../shared/config.js';
import { httpHandler } from '../shared/http/handler.js';
import { intQueryParam } from '../shared/http/schemas.js';
import { getTopProducts, MAX_LIMIT, type TopProductsDeps } from '../shared/products/top-products.js';
import { MAX_WINDOW_DAYS } from '../shared/products/window.js';

/** Strict: an unknown parameter is a 400, not silently ignored. */
const QuerySchema = z.strictObject({
  limit: intQueryParam(1, MAX_LIMIT).default(10),
  days: intQueryParam(1, MAX_WINDOW_DAYS).optional(),
});

/** GET /products/top — contract, cache design and bounds in docs/top-products.md. */
export function createGetTopProductsHandler(deps: () => TopProductsDeps) {
  return httpHandler('getTopProducts', { query: QuerySchema, access: 'public' }, async ({ query }) => {
    const { result, cache } = await getTopProducts(deps(), query);
    return { statusCode: 200, body: result, headers: { 'X-Cache': cache } };
  });
}

// Per container: Postgres answers given while Redis is unusable, kept for the freshness bound.
const bypassMemo: NonNullable<TopProductsDeps['bypassMemo']> = new Map();

export const handler = createGetTopProductsHandler(() => {
  const config = getConfig();
  return { sql: getSql(), redis: getRedis(), namespace: config.redis.namespace, timeoutMs: config.redis.timeoutMs, bypassMemo };
});
