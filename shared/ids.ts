import * as z from 'zod';
import { ID_TEXT, MAX_ID } from './id-text.js';

/**
 * Customer and product ids are positive 32-bit integers, as Postgres `integer` holds them; order ids are
 * `bigint`, up to 2^53 − 1 (what a JS number holds exactly). One rule for every place an id arrives: a JSON
 * body, a path or query string, a token's customer claim (the text form lives in id-text.ts, which the web
 * console imports too).
 */
export { ID_TEXT, MAX_ID, parseId } from './id-text.js';

export const id = z.number().int().min(1).max(MAX_ID);

/** An id as it arrives in a path or query string. */
export const idParam = z.string().regex(ID_TEXT, 'must be a positive integer').transform(Number).pipe(id);

/** Order ids are Postgres `bigint` (the orders table outgrows 32 bits first), read as JS numbers: exact up to 2^53 − 1. */
const MAX_ORDER_ID = Number.MAX_SAFE_INTEGER;
const ORDER_ID_TEXT = /^[1-9][0-9]{0,15}$/;

export const orderId = z.number().int().min(1).max(MAX_ORDER_ID);

/** An order id as it arrives in a path. */
export const orderIdParam = z.string().regex(ORDER_ID_TEXT, 'must be a positive integer').transform(Number).pipe(orderId);
