import { saveCart } from '../shared/carts/carts.js';
import { saveCartRoute } from '../shared/carts/routes.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getConfig } from '../shared/config.js';
import { etag, parseIfMatchHeader, parseIfNoneMatchHeader } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** PUT /carts/{customerId} — replaces the cart; optional If-Match, or If-None-Match: * to create it. Contract: docs/carts.md. */
export const handler = routeHandler(saveCartRoute, async ({ path, body, headers }) => {
  const { carts, pagination } = getConfig();
  const ifMatch = parseIfMatchHeader(headers, { customerId: path.customerId, secret: pagination.cursorSecret });
  const ifNoneMatch = parseIfNoneMatchHeader(headers);
  const cart = await saveCart(getMongoDb(), path.customerId, body, {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
    ttlSeconds: carts.ttlSeconds,
  });
  return { statusCode: 200, body: cart, headers: { ETag: etag(cart, pagination.cursorSecret) } };
});
