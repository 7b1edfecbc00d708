import { getCart } from '../shared/carts/carts.js';
import { CartPathSchema } from '../shared/carts/schemas.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { httpHandler } from '../shared/http/handler.js';

export const handler = httpHandler('getCart', { path: CartPathSchema }, async ({ path }) => {
  const cart = await getCart(getMongoDb(), path.customerId);
  return { statusCode: 200, body: cart };
});
