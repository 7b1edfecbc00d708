import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { NotFoundError } from '../shared/errors.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { customerOrdersScope, listCustomerOrders } from '../shared/orders/history.js';
import { listCustomerOrdersRoute } from '../shared/orders/routes.js';
import { pageRequest } from '../shared/pagination.js';

/** GET /customers/{customerId}/orders?limit=20&cursor=… — a customer's orders, newest first. Contract: docs/orders.md. */
export const handler = routeHandler(listCustomerOrdersRoute, async ({ path, query }) => {
  const { page, cursor } = pageRequest(getConfig().pagination.cursorSecret, customerOrdersScope(path.customerId), query, 'text');
  const orders = await listCustomerOrders(getSql(), path.customerId, page, cursor);
  if (!orders)
    throw new NotFoundError('CUSTOMER_NOT_FOUND', `Customer ${path.customerId} does not exist.`, { customerId: path.customerId });
  return { statusCode: 200, body: { orders: orders.items, nextCursor: orders.nextCursor } };
});
