import { getSql } from '../shared/clients/postgres.js';
import { httpHandler } from '../shared/http/handler.js';
import { createOrder } from '../shared/orders/create-order.js';
import { CreateOrderBodySchema } from '../shared/orders/schemas.js';

export const handler = httpHandler('createOrder', { body: CreateOrderBodySchema }, async ({ body }) => {
  const order = await createOrder(getSql(), body);
  return { statusCode: 201, body: order };
});
