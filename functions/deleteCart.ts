import { deleteCart } from '../shared/carts/carts.js';
import { deleteCartRoute } from '../shared/carts/routes.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getConfig } from '../shared/config.js';
import { parseIfMatchHeader } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** DELETE /carts/{customerId} — 204, also when there is no cart (idempotent); optional If-Match. Contract: docs/carts.md. */
export const handler = routeHandler(deleteCartRoute, async ({ path, headers }) => {
  const { carts, pagination } = getConfig();
  const ifMatch = parseIfMatchHeader(headers, { customerId: path.customerId, secret: pagination.cursorSecret });
  await deleteCart(getMongoDb(), path.customerId, {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ttlSeconds: carts.ttlSeconds,
  });
  return { statusCode: 204 };
});
