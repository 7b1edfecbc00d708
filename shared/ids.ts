import * as z from 'zod';
import { ID_TEXT, MAX_ID } from './id-text.js';

/**
 * Ids (customers, products, orders) are positive 32-bit integers, as Postgres `integer` holds them. One
 * rule for every place an id arrives: a JSON body, a path or query string, a token's customer claim (the
 * text form lives in id-text.ts, which the web console imports too).
 */
export { ID_TEXT, MAX_ID, parseId } from './id-text.js';

export const id = z.number().int().min(1).max(MAX_ID);

/** An id as it arrives in a path or query string. */
export const idParam = z.string().regex(ID_TEXT, 'must be a positive integer').transform(Number).pipe(id);
