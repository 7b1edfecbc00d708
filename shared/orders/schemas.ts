import { z } from 'zod';
import { id } from '../http/schemas.js';

export const MAX_ORDER_ITEMS = 50;
export const MAX_ITEM_QUANTITY = 1000;

export const OrderItemSchema = z.strictObject({
  productId: id,
  quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY),
});

/** POST /orders body. Strict: unknown fields (a client-sent price or total, say) are rejected. */
export const CreateOrderBodySchema = z.strictObject({
  customerId: id,
  items: z.array(OrderItemSchema).min(1).max(MAX_ORDER_ITEMS),
});

export type CreateOrderBody = z.infer<typeof CreateOrderBodySchema>;
