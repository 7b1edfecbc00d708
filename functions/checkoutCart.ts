import { checkoutCart } from '../shared/carts/checkout.js';
import { checkoutCartRoute } from '../shared/carts/routes.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getSql } from '../shared/clients/postgres.js';
import { getRequestCache } from '../shared/clients/redis.js';
import { getConfig } from '../shared/config.js';
import { timeLeftBeforeAnswer } from '../shared/http/handler.js';
import { parseIdempotencyKeyHeader, parseIfMatchHeader } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { count, METRIC } from '../shared/metrics.js';
import { orderLocation } from '../shared/orders/routes.js';
import { recordSale } from '../shared/products/leaderboard.js';

/**
 * POST /carts/{customerId}/checkout — places the cart's order through the POST /orders code, empties the
 * cart, 201 with the order (`Idempotent-Replayed: true` on a replay, `Cart-Emptied` saying whether the
 * ordered version is no longer the cart). Contract: docs/carts.md.
 */
export const handler = routeHandler(checkoutCartRoute, async ({ path, headers }, context) => {
  const idempotencyKey = parseIdempotencyKeyHeader(headers);
  const config = getConfig();
  const ifMatch = parseIfMatchHeader(headers, { customerId: path.customerId, secret: config.pagination.cursorSecret });
  const { order, replayed, cartEmptied } = await checkoutCart(
    {
      db: getMongoDb(),
      sql: getSql(),
      // As POST /orders does after a new order: bounded by the cache timeout, never throws.
      onNewOrder: (placed) => recordSale(getRequestCache(), placed),
      timeLeftMs: timeLeftBeforeAnswer(context),
    },
    path.customerId,
    {
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...(ifMatch === undefined ? {} : { ifMatch }),
      ttlSeconds: config.carts.ttlSeconds,
    },
  );
  count(replayed ? METRIC.idempotentReplays : METRIC.ordersPlaced);
  return {
    statusCode: 201,
    body: order,
    headers: {
      Location: orderLocation(order.orderId),
      'Cart-Emptied': String(cartEmptied),
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    },
  };
});
