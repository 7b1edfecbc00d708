import * as z from 'zod';
import { ValidationError } from './errors.js';
import { isSignature, signature } from './signing.js';

/**
 * Keyset pagination for every list route: a page is "the next `limit` rows after the last one you saw",
 * never OFFSET (page 50 costs what page 1 costs, and rows arriving meanwhile shift nothing). The cursor
 * carries that last row's key, signed: `<payload>.<mac>`, both base64url, the MAC an HMAC-SHA256 over the
 * payload and the list it belongs to (`scope`: the route, its filters, the customer). A cursor that was
 * edited, truncated, made up, or taken from another list is a 400, so a client can only ever continue a
 * list it was given — the positions inside it stay opaque and cannot be probed.
 */
export const PAGE_LIMIT = { min: 1, max: 100, default: 20 } as const;

/** Longest cursor accepted (the longest we issue is well under 100 characters). */
export const MAX_CURSOR_LENGTH = 200;

/**
 * A row's key in its list: an id (products), or a place written as text (an order in a history: its date in
 * microseconds and its id, `1765065600123456.42`), which stays a place when that row is deleted.
 */
export type CursorKey = number | string;
const TEXT_KEY = /^-?[0-9]{1,20}\.[0-9]{1,20}$/;

export const CursorText = z
  .string()
  .min(1)
  .max(MAX_CURSOR_LENGTH)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a cursor returned as nextCursor');

/** The cursor that continues `scope` after the row whose key is `after`. */
export function encodeCursor(secret: string, scope: string, after: CursorKey): string {
  const payload = Buffer.from(JSON.stringify({ after })).toString('base64url');
  return `${payload}.${signature(secret, scope, payload)}`;
}

const invalidCursor = () =>
  new ValidationError('Invalid cursor: pass back the nextCursor of the previous page of this same list, unchanged.', [
    { field: 'query.cursor', message: 'not a cursor issued for this list' },
  ]);

/** The key a cursor continues after; a 400 unless it was issued for exactly this `scope`. */
export function decodeCursor(secret: string, scope: string, cursor: string): CursorKey {
  const [payload = '', given = ''] = cursor.split('.');
  if (!isSignature(secret, scope, payload, given)) throw invalidCursor();
  try {
    const { after } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof after === 'number' && Number.isSafeInteger(after) && after > 0) return after;
    if (typeof after === 'string' && TEXT_KEY.test(after)) return after;
  } catch {
    // A payload we signed always parses; fall through to the same 400.
  }
  throw invalidCursor();
}

/** One page of a list: the rows and the cursor of the next page (null on the last one). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Cuts a page from `limit + 1` rows read in list order (the extra row only says whether there is a
 * next page, without a count query).
 */
export function toPage<T, K extends CursorKey>(rows: T[], limit: number, keyOf: (row: T) => K, next: (after: K) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? next(keyOf(items.at(-1)!)) : null };
}

interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface PageRequest<K extends CursorKey> {
  page: { after?: K; limit: number };
  cursor: (after: K) => string;
}

/**
 * A list request's page (`after` from its cursor, checked against `scope`) and how to sign the next one.
 * The list's keys are ids, or places written as text (`'text'`); a cursor with the other kind is a 400.
 */
export function pageRequest(secret: string, scope: string, query: PageQuery): PageRequest<number>;
export function pageRequest(secret: string, scope: string, query: PageQuery, keys: 'text'): PageRequest<string>;
export function pageRequest(
  secret: string,
  scope: string,
  query: PageQuery,
  keys: 'id' | 'text' = 'id',
): PageRequest<number> | PageRequest<string> {
  const after = query.cursor === undefined ? undefined : decodeCursor(secret, scope, query.cursor);
  if (after !== undefined && typeof after !== (keys === 'id' ? 'number' : 'string')) throw invalidCursor();
  return {
    page: { limit: query.limit, ...(after === undefined ? {} : { after }) },
    cursor: (next: CursorKey) => encodeCursor(secret, scope, next),
  } as PageRequest<number> | PageRequest<string>;
}
