import { getCart } from '../shared/carts/carts.js';
import { getCartRoute } from '../shared/carts/routes.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getConfig } from '../shared/config.js';
import { etag } from '../shared/http/headers.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /carts/{customerId} — the live cart or 404 CART_NOT_FOUND (also when expired). Contract: docs/carts.md. */
export const handler = routeHandler(getCartRoute, async ({ path }) => {
  const cart = await getCart(getMongoDb(), path.customerId);
  return { statusCode: 200, body: cart, headers: { ETag: etag(cart, getConfig().pagination.cursorSecret), 'Cache-Control': 'no-store' } };
});
