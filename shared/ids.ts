import * as z from 'zod';

/**
 * Ids (customers, products, orders) are positive 32-bit integers, as Postgres `integer` holds them. One
 * rule for every place an id arrives: a JSON body, a path or query string, a token's customer claim.
 */
export const MAX_ID = 2_147_483_647;

export const id = z.number().int().min(1).max(MAX_ID);

const ID_TEXT = /^[1-9][0-9]{0,9}$/;

/** An id written as text: digits only, no sign, exponent or leading zero, at most MAX_ID; else null. */
export function parseId(text: unknown): number | null {
  if (typeof text !== 'string' || !ID_TEXT.test(text)) return null;
  const value = Number(text);
  return value <= MAX_ID ? value : null;
}

/** An id as it arrives in a path or query string. */
export const idParam = z.string().regex(ID_TEXT, 'must be a positive integer').transform(Number).pipe(id);
