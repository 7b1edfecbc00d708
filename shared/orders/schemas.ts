import * as z from 'zod';
import { id } from '../ids.js';
import {
  CART_ORDER_KEY_PREFIX,
  CLIENT_IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_LINE_QUANTITY,
  MAX_ORDER_LINES,
} from './rules.js';

/**
 * Strict objects whose unknown fields are reported one issue per field (`body.price`,
 * `body.items.0.total`) instead of zod's single `unrecognized_keys` issue on the parent, so `details`
 * names each bad field, alongside every other problem in the same answer.
 */
const unknownField = z.custom<never>(() => false, { message: 'Unknown field.' });

export function strictFields<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).catchall(unknownField);
}

const quantityMessage = `must be an integer between 1 and ${MAX_LINE_QUANTITY}`;

/** Units of one product on an order or cart line. */
export const LineQuantitySchema = z.number().int(quantityMessage).min(1, quantityMessage).max(MAX_LINE_QUANTITY, quantityMessage);

export const OrderItemSchema = strictFields({ productId: id, quantity: LineQuantitySchema });

/** One line of an order as createOrder takes it (validated by OrderItemSchema). */
export interface OrderItemInput {
  productId: number;
  quantity: number;
}

/**
 * POST /orders body. Strict: unknown fields (a client-sent price or total, say) are rejected — prices
 * always come from the database. Duplicate productIds are allowed here and merged by createOrder.
 */
export const CreateOrderBodySchema = strictFields({
  customerId: id,
  items: z
    .array(OrderItemSchema)
    .min(1, `must contain between 1 and ${MAX_ORDER_LINES} items`)
    .max(MAX_ORDER_LINES, `must contain between 1 and ${MAX_ORDER_LINES} items`),
});

/**
 * A client's Idempotency-Key: 1–128 visible ASCII characters but the comma, not in the form of a cart
 * checkout's order key. The comma is refused because a key sent in two headers reaches the function as
 * one value joined by a comma (API Gateway), which would otherwise be a new key: a second order.
 */
export const IdempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, 'must be 1–128 visible ASCII characters (no spaces or control characters)')
  .refine((key) => !key.includes(','), 'must not contain a comma (was the header sent twice?)')
  .refine((key) => !key.startsWith(CART_ORDER_KEY_PREFIX), `must not begin with "${CART_ORDER_KEY_PREFIX}" (the keys of cart checkouts)`)
  .meta({ pattern: CLIENT_IDEMPOTENCY_KEY_PATTERN.source });
