import type { Cart } from '../carts/carts.js';
import type { IfMatch } from '../carts/schemas.js';
import { MAX_CART_VERSION } from '../carts/store.js';
import { ValidationError } from '../errors.js';
import { IdempotencyKeySchema } from '../orders/schemas.js';
import { isSignature, SIGNATURE_LENGTH, signature } from '../signing.js';

/**
 * The request headers the routes read beyond Authorization, parsed once here (names are lower-cased by
 * the header normaliser). A malformed header is a 400 naming it; an absent one is undefined.
 */

/**
 * A cart's ETag: its version, after a dot the time it expires (milliseconds, base 36), and after another
 * the signature of both for this customer (shared/signing.ts), e.g. `"7.mj0k8x2a.<22 characters>"`. Sent
 * back as If-Match, it lets a write check its precondition with the insert alone, without reading the cart
 * first (shared/carts/carts.ts) — which holds only for a version that was served, so the signature proves
 * it was. Strong: every write makes a new version.
 */
export function etag(cart: Pick<Cart, 'customerId' | 'version' | 'expiresAt'>, secret: string): string {
  const served = `${cart.version}.${Date.parse(cart.expiresAt).toString(36)}`;
  return `"${served}.${signature(secret, etagScope(cart.customerId), served)}"`;
}

const etagScope = (customerId: number) => `cart-etag:${customerId}`;

/**
 * `If-Match`: an ETag we served (`"7.mj0k8x2a.<signature>"`), a bare version (`3` or `"3"`: checked against
 * the stored cart), or `*` (the resource must exist). An ETag whose signature does not hold for this cart
 * (edited, another customer's, or issued without one) is taken as its bare version. Weak validators
 * (`W/"3"`) and lists are rejected: a write needs a strong match.
 */
const IF_MATCH = new RegExp(
  `^(?:([1-9][0-9]{0,14})|"([1-9][0-9]{0,14})(?:\\.([0-9a-z]{1,11})(?:\\.([A-Za-z0-9_-]{${SIGNATURE_LENGTH}}))?)?"|(\\*))$`,
);

export function parseIfMatchHeader(
  headers: Record<string, string | undefined>,
  cart: { customerId: number; secret: string },
): IfMatch | undefined {
  const raw = headers['if-match'];
  if (raw === undefined) return undefined;
  const match = IF_MATCH.exec(raw.trim());
  if (!match) {
    throw new ValidationError('Invalid If-Match header.', [
      { field: 'headers.if-match', message: 'must be an ETag of this cart (e.g. "3.mj0k8x2a.…"), a version (3) or *' },
    ]);
  }
  if (match[5]) return '*';
  const version = Number(match[1] ?? match[2]);
  // A write after version v stores v + 1, which must still have the version's digits.
  if (version >= MAX_CART_VERSION) {
    throw new ValidationError('Invalid If-Match header.', [
      { field: 'headers.if-match', message: `must name a version below ${MAX_CART_VERSION}, the last a cart can have` },
    ]);
  }
  const [, , , expires, given] = match;
  const served = `${version}.${expires}`;
  return expires !== undefined && given !== undefined && isSignature(cart.secret, etagScope(cart.customerId), served, given)
    ? { version, expiresAt: new Date(Number.parseInt(expires, 36)) }
    : version;
}

/**
 * `If-None-Match` on a cart write: only `*` (create the cart only where there is none), and not together
 * with If-Match. A cart is never served conditionally (GET answers no-store), so no validator is taken.
 */
export function parseIfNoneMatchHeader(headers: Record<string, string | undefined>): '*' | undefined {
  const raw = headers['if-none-match'];
  if (raw === undefined) return undefined;
  if (raw.trim() !== '*') {
    throw new ValidationError('Invalid If-None-Match header.', [
      { field: 'headers.if-none-match', message: 'must be * (create the cart only if there is none)' },
    ]);
  }
  if (headers['if-match'] !== undefined) {
    throw new ValidationError('If-Match and If-None-Match together.', [
      { field: 'headers.if-none-match', message: 'send If-Match (change this version) or If-None-Match: * (create), not both' },
    ]);
  }
  return '*';
}

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The Idempotency-Key header: optional; when present, 1–128 visible ASCII characters. */
export function parseIdempotencyKeyHeader(headers: Record<string, string | undefined>): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  const result = IdempotencyKeySchema.safeParse(value);
  if (!result.success) {
    throw new ValidationError('Invalid Idempotency-Key header.', [
      { field: `headers.${IDEMPOTENCY_KEY_HEADER}`, message: result.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return result.data;
}

/** A correlation id a caller may send to tie our log lines to theirs: 1–128 visible ASCII characters. */
const CORRELATION_ID = /^[!-~]{1,128}$/;

/**
 * The request's correlation id: the caller's `X-Correlation-Id` when it is usable, else the API Gateway
 * request id. Never a 400: a malformed id is replaced, not refused (it is a diagnostic aid, not input).
 */
export function correlationIdOf(headers: Record<string, string | undefined>, apiRequestId: string | undefined): string | undefined {
  const given = headers['x-correlation-id'];
  return given !== undefined && CORRELATION_ID.test(given) ? given : apiRequestId;
}
