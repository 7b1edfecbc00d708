import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../shared/errors.js';
import { CursorText, decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, pageRequest, toPage } from '../shared/pagination.js';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const SCOPE = 'orders:customer:7';

const refused = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof ValidationError && error.status === 400;
  }
  return false;
};

describe('list cursors', () => {
  it('continue exactly the list they were issued for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.string(), (after, scope) => {
        const cursor = encodeCursor(SECRET, scope, after);
        expect(decodeCursor(SECRET, scope, cursor)).toBe(after);
        expect(CursorText.safeParse(cursor).success).toBe(true);
        expect(cursor.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
      }),
    );
  });

  it('are refused with a 400 when edited, truncated, made up, signed with another secret or taken from another list', () => {
    const cursor = encodeCursor(SECRET, SCOPE, 42);
    const [payload, mac] = cursor.split('.') as [string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ after: 41 })).toString('base64url');
    for (const bad of [
      `${forgedPayload}.${mac}`,
      cursor.slice(0, -1),
      cursor.slice(1),
      `${payload}.`,
      `.${mac}`,
      'abc.def',
      `${payload}.${mac}x`,
      encodeCursor('another-secret-that-is-also-32-characters-long', SCOPE, 42),
    ]) {
      expect(
        refused(() => decodeCursor(SECRET, SCOPE, bad)),
        bad,
      ).toBe(true);
    }
    expect(refused(() => decodeCursor(SECRET, 'orders:customer:8', cursor))).toBe(true);
  });

  it('are refused with a 400 when any one character of the MAC is changed, its last one included', () => {
    // 16 bytes are 22 base64url characters, the last carrying 2 bits: a decoder that drops the other 4 would
    // take 15 edits of it as the same MAC.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const cursor = encodeCursor(SECRET, SCOPE, 42);
    const [payload, mac] = cursor.split('.') as [string, string];
    const accepted: string[] = [];
    for (let position = 0; position < mac.length; position++) {
      for (const character of alphabet) {
        if (character === mac[position]) continue;
        const edited = `${payload}.${mac.slice(0, position)}${character}${mac.slice(position + 1)}`;
        if (!refused(() => decodeCursor(SECRET, SCOPE, edited))) accepted.push(edited);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('any string at all is either the cursor it was or a 400, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        try {
          decodeCursor(SECRET, SCOPE, text);
          return false;
        } catch (error) {
          return error instanceof ValidationError;
        }
      }),
    );
  });

  it('pageRequest reads the cursor and signs the next one for the same list', () => {
    const first = pageRequest(SECRET, SCOPE, { limit: 5 });
    expect(first.page).toEqual({ limit: 5 });
    const next = pageRequest(SECRET, SCOPE, { limit: 5, cursor: first.cursor(99) });
    expect(next.page).toEqual({ limit: 5, after: 99 });
  });

  it('a history cursor holds an order’s place as text; a cursor with the other kind of key is a 400', () => {
    const place = '1765065600123456.42';
    expect(decodeCursor(SECRET, SCOPE, encodeCursor(SECRET, SCOPE, place))).toBe(place);
    const first = pageRequest(SECRET, SCOPE, { limit: 5 }, 'text');
    expect(pageRequest(SECRET, SCOPE, { limit: 5, cursor: first.cursor(place) }, 'text').page).toEqual({ limit: 5, after: place });
    expect(refused(() => pageRequest(SECRET, SCOPE, { limit: 5, cursor: encodeCursor(SECRET, SCOPE, 42) }, 'text'))).toBe(true);
    expect(refused(() => pageRequest(SECRET, SCOPE, { limit: 5, cursor: first.cursor(place) }))).toBe(true);
    expect(refused(() => decodeCursor(SECRET, SCOPE, encodeCursor(SECRET, SCOPE, 'not a place')))).toBe(true);
  });

  it('a page is cut from limit + 1 rows: the extra row only says that there is a next page', () => {
    const key = (row: { id: number }) => row.id;
    const next = (after: number) => `after-${after}`;
    const rows = [1, 2, 3, 4].map((id) => ({ id }));
    expect(toPage(rows, 3, key, next)).toEqual({ items: rows.slice(0, 3), nextCursor: 'after-3' });
    expect(toPage(rows.slice(0, 3), 3, key, next)).toEqual({ items: rows.slice(0, 3), nextCursor: null });
    expect(toPage([], 3, key, next)).toEqual({ items: [], nextCursor: null });
  });
});
