import * as z from 'zod';

/** An optional integer query parameter within bounds. */
export function intQueryParam(min: number, max: number) {
  return z
    .string()
    .regex(/^-?[0-9]{1,7}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}
