/**
 * The cart rules that are not about the shape of a request: how long a cart lives and how long a note may
 * be. (A cart line follows the order line rules, shared/orders/rules.ts: a cart that validates can be
 * checked out.)
 */

/** A cart expires after this long without a write, unless CART_TTL_SECONDS says otherwise. */
export const DEFAULT_CART_TTL_SECONDS = 7 * 24 * 3600;

/** The longest CART_TTL_SECONDS may be. */
export const MAX_CART_TTL_SECONDS = 365 * 24 * 3600;

export const MAX_NOTE_LENGTH = 1000;
