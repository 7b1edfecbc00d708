import { saveCart } from '../shared/carts/carts.js';
import { CartPathSchema, SaveCartBodySchema } from '../shared/carts/schemas.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { httpHandler } from '../shared/http/handler.js';

export const handler = httpHandler('saveCart', { path: CartPathSchema, body: SaveCartBodySchema }, async ({ path, body }) => {
  const cart = await saveCart(getMongoDb(), path.customerId, body);
  return { statusCode: 200, body: cart };
});
