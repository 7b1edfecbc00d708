import { getSql } from '../shared/clients/postgres.js';
import { getRequestCache } from '../shared/clients/redis.js';
import { timeLeftBeforeAnswer } from '../shared/http/handler.js';
import { parseIdempotencyKeyHeader } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { count, METRIC } from '../shared/metrics.js';
import { createOrder } from '../shared/orders/create-order.js';
import { createOrderRoute, orderLocation } from '../shared/orders/routes.js';
import { recordSale } from '../shared/products/leaderboard.js';

/** POST /orders — contract and semantics in docs/orders.md; request and responses declared in shared/orders/routes.ts. */
export const handler = routeHandler(createOrderRoute, async ({ body, headers }, context) => {
  const idempotencyKey = parseIdempotencyKeyHeader(headers);
  const { order, replayed } = await createOrder(getSql(), body, { idempotencyKey, timeLeftMs: timeLeftBeforeAnswer(context) });
  count(replayed ? METRIC.idempotentReplays : METRIC.ordersPlaced);
  const location = { Location: orderLocation(order.orderId) };
  if (replayed) {
    return { statusCode: 201, body: order, headers: { ...location, 'Idempotent-Replayed': 'true' } };
  }
  // After commit; never throws and is bounded by the cache timeout (a cache problem never fails an order).
  await recordSale(getRequestCache(), order);
  return { statusCode: 201, body: order, headers: location };
});
