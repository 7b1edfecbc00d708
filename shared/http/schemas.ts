import * as z from 'zod';

/** Ids are positive 32-bit integers (Postgres `integer`); anything else is a validation error. */
export const MAX_ID = 2_147_483_647;

export const id = z.number().int().min(1).max(MAX_ID);

/** An id as it arrives in a path or query string: digits only, no sign, no exponent, no leading zero. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(id);

/** An optional integer query parameter within bounds. */
export function intQueryParam(min: number, max: number) {
  return z
    .string()
    .regex(/^-?[0-9]{1,7}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}
