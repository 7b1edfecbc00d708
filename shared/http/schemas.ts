import * as z from 'zod';
import { CursorText, PAGE_LIMIT } from '../pagination.js';

/** An optional integer query parameter within bounds. */
export function intQueryParam(min: number, max: number) {
  return z
    .string()
    .regex(/^-?[0-9]{1,7}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** `limit` and `cursor` of every list route (shared/pagination.ts). */
export const PageQuery = {
  limit: intQueryParam(PAGE_LIMIT.min, PAGE_LIMIT.max)
    .default(PAGE_LIMIT.default)
    .meta({ description: `Items per page, ${PAGE_LIMIT.min}–${PAGE_LIMIT.max} (default ${PAGE_LIMIT.default}).` }),
  cursor: CursorText.optional().meta({
    description: 'The `nextCursor` of the previous page, unchanged; absent for the first page.',
  }),
};
