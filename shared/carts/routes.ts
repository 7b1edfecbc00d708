import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, type SameKeys, Timestamp } from '../http/route.js';
import { id } from '../ids.js';
import { IdempotencyKeyHeader, ORDER_LOCATION_HEADER, OrderSchema } from '../orders/routes.js';
import type { Cart } from './carts.js';
import { MAX_NOTE_LENGTH } from './rules.js';
import { CartItemSchema, CartPathSchema, SaveCartBodySchema } from './schemas.js';

/** Cart routes act for the customer in the path: only that customer's token (or an admin) may call them. */
const OWN_CART = { customer: ({ path }: { path: { customerId: number } }) => path.customerId } as const;

export const CartSchema = z
  .object({
    customerId: id,
    items: z.array(CartItemSchema),
    note: z.string().max(MAX_NOTE_LENGTH).optional(),
    updatedAt: Timestamp,
    expiresAt: Timestamp,
    version: z.number().int().min(1),
  })
  .meta({ title: 'Cart', description: 'A customer’s cart; `version` moves on every write (the ETag names it).' }) satisfies z.ZodType<Cart>;
assertType<SameKeys<z.output<typeof CartSchema>, Cart>>();

const IfMatchHeader = {
  name: 'If-Match',
  description:
    'Optimistic concurrency: the ETag last served (`"3.mj0k8x2a.<signature>"`: the write then costs no read), a version (`3` or `"3"`), or `*` (the cart must exist). An ETag whose signature does not hold counts as its bare version.',
};
const IfNoneMatchHeader = {
  name: 'If-None-Match',
  description: '`*`: create the cart only if there is none (412 VERSION_CONFLICT if one exists); not with If-Match.',
  schema: z.enum(['*']),
};
const ETAG = { ETag: 'The cart version, when it expires and their signature ("3.mj0k8x2a.<signature>"): send it back as If-Match.' };
const VERSION_CONFLICT = {
  description: 'VERSION_CONFLICT: If-Match does not match the cart’s version (details: expected, current).',
  schema: ErrorEnvelopeSchema,
};

export const saveCartRoute = defineRoute({
  function: 'saveCart',
  method: 'PUT',
  path: '/carts/{customerId}',
  summary: 'Replace a customer’s cart',
  description: 'The cart is replaced as a whole and expires after a period without writes. Contract: docs/carts.md.',
  tags: ['carts'],
  request: { path: CartPathSchema, body: SaveCartBodySchema, access: OWN_CART },
  example: {
    path: { customerId: '1' },
    body: { items: [{ productId: 7, quantity: 2, attributes: { size: 'M', giftWrap: true } }], note: 'birthday' },
  },
  headers: [IfMatchHeader, IfNoneMatchHeader],
  responses: {
    200: { description: 'The saved cart.', schema: CartSchema, headers: ETAG },
    409: { description: 'CART_BUSY: too many concurrent writes; retry.', schema: ErrorEnvelopeSchema },
    412: VERSION_CONFLICT,
  },
});

export const getCartRoute = defineRoute({
  function: 'getCart',
  method: 'GET',
  path: '/carts/{customerId}',
  summary: 'Read a customer’s cart',
  description: 'The live cart with its version (also the ETag); 404 when there is none or it has expired.',
  tags: ['carts'],
  request: { path: CartPathSchema, access: OWN_CART },
  example: { path: { customerId: '1' } },
  responses: {
    200: { description: 'The live cart.', schema: CartSchema, headers: ETAG },
    404: { description: 'CART_NOT_FOUND: no cart, or it has expired.', schema: ErrorEnvelopeSchema },
  },
});

export const deleteCartRoute = defineRoute({
  function: 'deleteCart',
  method: 'DELETE',
  path: '/carts/{customerId}',
  summary: 'Delete a customer’s cart',
  description: 'Idempotent: 204 also when there is no cart.',
  tags: ['carts'],
  request: { path: CartPathSchema, access: OWN_CART },
  example: { path: { customerId: '1' } },
  headers: [IfMatchHeader],
  responses: {
    204: { description: 'Deleted (or there was nothing to delete).' },
    409: { description: 'CART_BUSY: too many concurrent writes; retry.', schema: ErrorEnvelopeSchema },
    412: VERSION_CONFLICT,
  },
});

/** Checkout's Idempotency-Key: the POST /orders rule, but one key space for every customer (docs/carts.md). */
const CheckoutKeyHeader = {
  ...IdempotencyKeyHeader,
  description:
    'Makes a retry safe: the same key answers the order it placed for the key’s whole lifetime (as long as the cart could be checked out, at least 24 h), whatever the cart holds by then. Unlike POST /orders keys, a checkout key is unique across customers: one already used for another customer’s checkout is a 422 IDEMPOTENCY_KEY_REUSED.',
};

export const checkoutCartRoute = defineRoute({
  function: 'checkoutCart',
  method: 'POST',
  path: '/carts/{customerId}/checkout',
  summary: 'Turn the cart into an order',
  description: 'Places the cart’s order through the POST /orders code, then empties the cart. Contract: docs/carts.md.',
  tags: ['carts', 'orders'],
  request: { path: CartPathSchema, access: OWN_CART },
  example: { path: { customerId: '1' } },
  headers: [CheckoutKeyHeader, IfMatchHeader],
  responses: {
    201: {
      description: 'The order.',
      schema: OrderSchema,
      headers: {
        ...ORDER_LOCATION_HEADER,
        'Idempotent-Replayed': '"true" on a replay.',
        'Cart-Emptied':
          '"true" when the ordered version is no longer the cart (emptied now, or before a replay: the cart may hold newer items since); "false" when the cart changed during the checkout (the change stands) or could not be written (a retry empties it).',
      },
    },
    404: { description: 'CART_NOT_FOUND, CUSTOMER_NOT_FOUND or PRODUCT_NOT_FOUND.', schema: ErrorEnvelopeSchema },
    409: {
      description: 'CART_EMPTY, INSUFFICIENT_STOCK or CHECKOUT_IN_PROGRESS (another request with this Idempotency-Key is checking out).',
      schema: ErrorEnvelopeSchema,
    },
    412: VERSION_CONFLICT,
    422: {
      description: 'IDEMPOTENCY_KEY_REUSED (the key belongs to another customer’s checkout), CART_NOT_ORDERABLE or ORDER_TOTAL_TOO_LARGE.',
      schema: ErrorEnvelopeSchema,
    },
  },
});
