import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, Money, type SameKeys, Timestamp } from '../http/route.js';
import { PageQuery } from '../http/schemas.js';
import { id, idParam, orderId, orderIdParam } from '../ids.js';
import type { Order } from './create-order.js';
import type { OrderSummary } from './history.js';
import { CreateOrderBodySchema, IdempotencyKeySchema, strictFields } from './schemas.js';

/** The 201 body of POST /orders (and of a cart checkout). */
export const OrderSchema = z
  .object({
    orderId,
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
  description:
    'Makes a retry safe: the same key (per customer) with the same order answers the stored order again. Keys beginning with `cart:` are the checkouts’ own.',
  schema: IdempotencyKeySchema,
};

/** Where an order is read (GET /orders/{orderId}): the Location of a 201 that placed or replays it. */
export function orderLocation(orderId: number): string {
  return getOrderRoute.path.replace('{orderId}', String(orderId));
}

/** The Location header of those 201s, as the OpenAPI document describes it. */
export const ORDER_LOCATION_HEADER = { Location: 'Where the order is read: `/orders/{orderId}` (GET), relative to this API.' };

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
      headers: {
        ...ORDER_LOCATION_HEADER,
        'Idempotent-Replayed': '"true" when this is the stored answer to an earlier request with the same key.',
      },
    },
    404: { description: 'CUSTOMER_NOT_FOUND or PRODUCT_NOT_FOUND.', schema: ErrorEnvelopeSchema },
    409: { description: 'INSUFFICIENT_STOCK: `details.products` lists requested and available quantities.', schema: ErrorEnvelopeSchema },
    422: {
      description: 'IDEMPOTENCY_KEY_REUSED (the key was used for another order) or ORDER_TOTAL_TOO_LARGE.',
      schema: ErrorEnvelopeSchema,
    },
  },
});

export const OrderSummarySchema = z
  .object({
    orderId,
    customerId: id,
    orderDate: Timestamp,
    totalAmount: Money,
    items: z.array(z.object({ productId: id, name: z.string(), quantity: z.number().int().min(1), unitPrice: Money })),
  })
  .meta({
    title: 'OrderSummary',
    description: 'An order as placed: lines sorted by product id, the prices paid then.',
  }) satisfies z.ZodType<OrderSummary>;
assertType<SameKeys<z.output<typeof OrderSummarySchema>, OrderSummary>>();

export const OrderPageSchema = z
  .object({
    orders: z.array(OrderSummarySchema),
    nextCursor: z.string().nullable().meta({ description: 'The cursor of the next page; null on the last page.' }),
  })
  .meta({ title: 'OrderPage' });

export const listCustomerOrdersRoute = defineRoute({
  function: 'listCustomerOrders',
  method: 'GET',
  path: '/customers/{customerId}/orders',
  summary: 'A customer’s order history',
  description:
    'Newest first (order date, then order id), a page at a time, each order with its lines: one query per page, whatever the page. Contract: docs/orders.md.',
  tags: ['orders'],
  request: {
    path: z.strictObject({ customerId: idParam }),
    query: strictFields(PageQuery),
    access: { customer: ({ path }) => path.customerId },
  },
  example: { path: { customerId: '1' }, query: { limit: '5' } },
  responses: {
    200: { description: 'A page of orders.', schema: OrderPageSchema },
    404: { description: 'CUSTOMER_NOT_FOUND.', schema: ErrorEnvelopeSchema },
  },
});

export const getOrderRoute = defineRoute({
  function: 'getOrder',
  method: 'GET',
  path: '/orders/{orderId}',
  summary: 'One order',
  description: 'Visible to its customer and to admins; to anyone else it does not exist (404, not 403).',
  tags: ['orders'],
  request: { path: z.strictObject({ orderId: orderIdParam }), access: 'signed-in' },
  example: { path: { orderId: '1' } },
  responses: {
    200: { description: 'The order.', schema: OrderSummarySchema },
    404: { description: 'ORDER_NOT_FOUND: no such order, or another customer’s.', schema: ErrorEnvelopeSchema },
  },
});
