import { getSql } from '../shared/clients/postgres.js';
import { NotFoundError } from '../shared/errors.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { getOrder } from '../shared/orders/history.js';
import { getOrderRoute } from '../shared/orders/routes.js';

/** GET /orders/{orderId} — the order, for its customer or an admin; to anyone else it does not exist. */
export const handler = routeHandler(getOrderRoute, async ({ path, principal }) => {
  const order = await getOrder(getSql(), path.orderId, { customerId: principal?.customerId ?? null, isAdmin: principal?.isAdmin ?? false });
  if (!order) throw new NotFoundError('ORDER_NOT_FOUND', `Order ${path.orderId} does not exist.`, { orderId: path.orderId });
  return { statusCode: 200, body: order };
});
