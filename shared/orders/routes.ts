import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, Money, type SameKeys, Timestamp } from '../http/route.js';
import { id } from '../ids.js';
import type { Order } from './create-order.js';
import { CreateOrderBodySchema, IdempotencyKeySchema } from './schemas.js';

/** The 201 body of POST /orders (and of a cart checkout). */
export const OrderSchema = z
  .object({
    orderId: id,
    customerId: id,
    orderDate: Timestamp,
    totalAmount: Money,
    items: z.array(z.object({ productId: id, quantity: z.number().int().min(1), unitPrice: Money })).min(1),
  })
  .meta({
    title: 'Order',
    description: 'Items merged per product and sorted by product id; amounts as decimal strings.',
  }) satisfies z.ZodType<Order>;
assertType<SameKeys<z.output<typeof OrderSchema>, Order>>();

export const IdempotencyKeyHeader = {
  name: 'Idempotency-Key',
  description: 'Makes a retry safe: the same key (per customer) with the same order answers the stored order again.',
  schema: IdempotencyKeySchema,
};

export const createOrderRoute = defineRoute({
  function: 'createOrder',
  method: 'POST',
  path: '/orders',
  summary: 'Place an order',
  description: 'One PostgreSQL transaction: stock checked and decremented under row locks, never oversold. Contract: docs/orders.md.',
  tags: ['orders'],
  request: { body: CreateOrderBodySchema, access: { customer: ({ body }) => body.customerId } },
  example: { body: { customerId: 1, items: [{ productId: 2, quantity: 1 }] } },
  headers: [IdempotencyKeyHeader],
  responses: {
    201: {
      description: 'The order (a replay of an idempotent request too).',
      schema: OrderSchema,
      headers: { 'Idempotent-Replayed': '"true" when this is the stored answer to an earlier request with the same key.' },
    },
    404: { description: 'CUSTOMER_NOT_FOUND or PRODUCT_NOT_FOUND.', schema: ErrorEnvelopeSchema },
    409: { description: 'INSUFFICIENT_STOCK: `details.products` lists requested and available quantities.', schema: ErrorEnvelopeSchema },
    422: {
      description: 'IDEMPOTENCY_KEY_REUSED (the key was used for another order) or ORDER_TOTAL_TOO_LARGE.',
      schema: ErrorEnvelopeSchema,
    },
  },
});
