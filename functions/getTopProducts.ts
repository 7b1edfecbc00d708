import { getSql } from '../shared/clients/postgres.js';
import { getRequestCache } from '../shared/clients/redis.js';
import { getConfig } from '../shared/config.js';
import { TIMEOUT_MARGIN_MS } from '../shared/http/handler.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { count, METRIC } from '../shared/metrics.js';
import { getTopProductsRoute } from '../shared/products/routes.js';
import { getTopProducts, type TopProductsDeps } from '../shared/products/top-products.js';

/** GET /products/top — contract, cache design and bounds in docs/top-products.md; declared in shared/products/routes.ts. */
export function createGetTopProductsHandler(deps: () => TopProductsDeps) {
  return routeHandler(getTopProductsRoute, async ({ query }, context) => {
    // Answer before the HTTP stack's backstop would (a 503 that also drops the container's pool).
    const deadline = Date.now() + context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS;
    const { result, cache } = await getTopProducts({ ...deps(), deadline }, query);
    count(cache === 'HIT' ? METRIC.cacheHit : cache === 'MISS' ? METRIC.cacheMiss : METRIC.cacheBypass);
    return { statusCode: 200, body: result, headers: { 'X-Cache': cache } };
  });
}

// Per container: Postgres answers given while Redis is unusable, kept for the freshness bound.
const bypassMemo: NonNullable<TopProductsDeps['bypassMemo']> = new Map();

export const handler = createGetTopProductsHandler(() => ({
  sql: getSql(),
  ...getRequestCache(),
  bypassMemo,
  settings: { postgresBudgetMs: getConfig().database.statementTimeoutMs },
}));
