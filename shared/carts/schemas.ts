import { z } from 'zod';
import { id, idParam } from '../http/schemas.js';

export const MAX_CART_ITEMS = 100;

export const CartItemSchema = z.strictObject({
  productId: id,
  quantity: z.number().int().min(1).max(1000),
  attributes: z.record(z.string().max(100), z.unknown()).optional(),
});

export const SaveCartBodySchema = z.strictObject({
  items: z.array(CartItemSchema).max(MAX_CART_ITEMS),
  note: z.string().max(1000).optional(),
});

export const CartPathSchema = z.strictObject({ customerId: idParam });

export type SaveCartBody = z.infer<typeof SaveCartBodySchema>;
