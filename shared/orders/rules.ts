/**
 * The order rules, written once: every place that accepts order lines (POST /orders, a cart, a checkout)
 * and every place that takes an Idempotency-Key imports them from here.
 */

/** Lines of one order, after merging duplicate products; a cart holds at most as many. */
export const MAX_ORDER_LINES = 50;

/** Units of one product on one line. */
export const MAX_LINE_QUANTITY = 1000;

/** Idempotency keys: 1–128 visible ASCII characters (RFC 5234 VCHAR, %x21-7E); the tables have the same CHECK. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7E]{1,128}$/;

/**
 * The prefix of the order keys a cart checkout derives from a cart version (shared/carts/checkout.ts). Those
 * keys share the order-key table with the keys clients send to POST /orders, so no client key may have it.
 */
export const CART_ORDER_KEY_PREFIX = 'cart:';

/**
 * A client's Idempotency-Key as one regular expression, for the OpenAPI document (IdempotencyKeySchema's
 * refinements, which say which rule a key breaks, do not reach JSON Schema): a key as above but without the
 * comma, and not beginning with CART_ORDER_KEY_PREFIX (no character of which is special in a pattern).
 */
export const CLIENT_IDEMPOTENCY_KEY_PATTERN = new RegExp(`^(?!${CART_ORDER_KEY_PREFIX})[\\x21-\\x2B\\x2D-\\x7E]{1,128}$`);

/** A key is honoured for this long after the order it created (POST /orders and checkout keys alike). */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60;
