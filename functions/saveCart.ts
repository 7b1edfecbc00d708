import { saveCart } from '../shared/carts/carts.js';
import { saveCartRoute } from '../shared/carts/routes.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getConfig } from '../shared/config.js';
import { etag, parseIfMatchHeader } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** PUT /carts/{customerId} — replaces the cart; optional If-Match. Contract: docs/carts.md. */
export const handler = routeHandler(saveCartRoute, async ({ path, body, headers }) => {
  const { carts, pagination } = getConfig();
  const ifMatch = parseIfMatchHeader(headers, { customerId: path.customerId, secret: pagination.cursorSecret });
  const cart = await saveCart(getMongoDb(), path.customerId, body, {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ttlSeconds: carts.ttlSeconds,
  });
  return { statusCode: 200, body: cart, headers: { ETag: etag(cart, pagination.cursorSecret) } };
});
