import { deleteCart } from '../shared/carts/carts.js';
import { CartPathSchema, OWN_CART, parseIfMatchHeader } from '../shared/carts/schemas.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { getConfig } from '../shared/config.js';
import { httpHandler } from '../shared/http/handler.js';

/** DELETE /carts/{customerId} — 204, also when there is no cart (idempotent); optional If-Match. Contract: docs/carts.md. */
export const handler = httpHandler('deleteCart', { path: CartPathSchema, access: OWN_CART }, async ({ path, headers }) => {
  const ifMatch = parseIfMatchHeader(headers);
  await deleteCart(getMongoDb(), path.customerId, {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ttlSeconds: getConfig().carts.ttlSeconds,
  });
  return { statusCode: 204 };
});
