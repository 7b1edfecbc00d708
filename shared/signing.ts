import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of every token the API hands out and takes back unchanged (list cursors, cart ETags): an
 * HMAC-SHA256 over what the token belongs to (`scope`) and its `payload`, cut to 16 bytes, in base64url.
 * Whoever holds the secret (CURSOR_SECRET) can make one; nobody else can edit one and have it pass.
 */
const MAC_BYTES = 16;

/** The length of a signature's text (16 bytes in base64url, unpadded). */
export const SIGNATURE_LENGTH = Math.ceil((MAC_BYTES * 4) / 3);

export function signature(secret: string, scope: string, payload: string): string {
  return createHmac('sha256', secret).update(scope).update('\n').update(payload).digest().subarray(0, MAC_BYTES).toString('base64url');
}

/**
 * Whether `given` is the signature we would issue. Compared as the text we issue: decoding the given text
 * first would ignore the spare bits of its last character, so several edited tokens would pass.
 */
export function isSignature(secret: string, scope: string, payload: string, given: string): boolean {
  const expected = Buffer.from(signature(secret, scope, payload));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
