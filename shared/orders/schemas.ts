import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { id } from '../http/schemas.js';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.js';

export const MAX_ORDER_ITEMS = 50;
export const MAX_ITEM_QUANTITY = 1000;

/**
 * Strict objects whose unknown fields are reported one issue per field (`body.price`,
 * `body.items.0.total`) instead of zod's single `unrecognized_keys` issue on the parent, so `details`
 * names each bad field, alongside every other problem in the same answer.
 */
const unknownField = z.custom<never>(() => false, { message: 'Unknown field.' });

function strictFields<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).catchall(unknownField);
}

export const OrderItemSchema = strictFields({
  productId: id,
  quantity: z
    .number()
    .int(`must be an integer between 1 and ${MAX_ITEM_QUANTITY}`)
    .min(1, `must be an integer between 1 and ${MAX_ITEM_QUANTITY}`)
    .max(MAX_ITEM_QUANTITY, `must be an integer between 1 and ${MAX_ITEM_QUANTITY}`),
});

/**
 * POST /orders body. Strict: unknown fields (a client-sent price or total, say) are rejected — prices
 * always come from the database. Duplicate productIds are allowed here and merged by createOrder.
 */
export const CreateOrderBodySchema = strictFields({
  customerId: id,
  items: z
    .array(OrderItemSchema)
    .min(1, `must contain between 1 and ${MAX_ORDER_ITEMS} items`)
    .max(MAX_ORDER_ITEMS, `must contain between 1 and ${MAX_ORDER_ITEMS} items`),
});

export type CreateOrderBody = z.output<typeof CreateOrderBodySchema>;

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The Idempotency-Key header: optional; when present, 1–128 visible ASCII characters. */
export const IdempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, 'must be 1–128 visible ASCII characters (no spaces or control characters)');

/** Reads and validates the header (names lower-cased by the header normaliser); undefined when absent. */
export function parseIdempotencyKeyHeader(headers: Record<string, string | undefined>): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  const result = IdempotencyKeySchema.safeParse(value);
  if (!result.success) {
    throw new ValidationError('Invalid Idempotency-Key header.', [
      { field: `headers.${IDEMPOTENCY_KEY_HEADER}`, message: result.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return result.data;
}
