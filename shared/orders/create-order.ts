import { intArray, OID, type Sql } from '../clients/postgres.js';
import { AppError, ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { isValidIdempotencyKey, requestHash } from './idempotency.js';
import { DEFAULT_RETRY_POLICY, withRetry } from './retry.js';
import { IDEMPOTENCY_KEY_TTL_SECONDS } from './rules.js';
import type { OrderItemInput } from './schemas.js';

export type { OrderItemInput } from './schemas.js';

export interface CreateOrderInput {
  customerId: number;
  items: OrderItemInput[];
}

/** The 201 body of POST /orders. Amounts are decimal strings ("59.80"); orderDate is ISO 8601 UTC (ms). */
export interface Order {
  orderId: number;
  customerId: number;
  orderDate: string;
  totalAmount: string;
  items: Array<{ productId: number; quantity: number; unitPrice: string }>;
}

export interface CreateOrderOptions {
  /** Client-chosen key (1–128 visible ASCII chars), scoped to the customer; see docs/orders.md. */
  idempotencyKey?: string;
  /**
   * A cart checkout's own Idempotency-Key (checkout_keys, unique across customers), recorded in the same
   * transaction as the order — or, when `idempotencyKey` is replayed, pointing at the replayed order.
   * Needs `idempotencyKey` (the key derived from the cart version).
   */
  checkoutKey?: string;
  /** How long the keys are honoured: IDEMPOTENCY_KEY_TTL_SECONDS, or longer (a cart version's order key). */
  keyTtlSeconds?: number;
  /**
   * Milliseconds left before the caller stops waiting (the HTTP stack's 503 TIMEOUT). No retry starts that
   * could outlast it: cut off, a statement may still commit after an answer that says to retry.
   */
  timeLeftMs?: () => number;
}

export interface CreateOrderResult {
  order: Order;
  /** True when `order` is the stored answer to an earlier request with the same key. */
  replayed: boolean;
  /** With a checkoutKey: it now maps to `order` (a taken key throws CheckoutKeyTakenError instead). */
  checkoutKeyRecorded?: boolean;
}

/**
 * Whether an attempt can end before `timeLeftMs` runs out, at the worst its pool's timeouts allow: the wait
 * before it, the connect timeout (for a new connection), then the statement timeout, after which the server
 * gives up on the statement itself (nothing commits). No statement timeout set (or 0: none) never fits. Behind
 * a pooler the server applies its role's statement_timeout, not the connection's: keep them equal
 * (docs/deploy.md).
 */
function attemptFits(sql: Sql, timeLeftMs: () => number) {
  const connectMs = Number(sql.options.connect_timeout) * 1000;
  const statementMs = Number((sql.options.connection as { statement_timeout?: unknown }).statement_timeout);
  return (needs: 'connect' | 'statement', delayMs: number) => {
    const worstMs = (needs === 'connect' ? connectMs : 0) + statementMs;
    return Number.isFinite(worstMs) && statementMs > 0 && delayMs + worstMs <= timeLeftMs();
  };
}

/** Merges duplicate product lines and sorts by product id (the lock order that prevents deadlocks). */
export function mergeItems(items: readonly OrderItemInput[]): OrderItemInput[] {
  const quantities = new Map<number, number>();
  for (const { productId, quantity } of items) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  return [...quantities.entries()].sort(([a], [b]) => a - b).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * The whole order as ONE statement, i.e. one implicit transaction and one round trip (docs/orders.md
 * has the measurements against a BEGIN / lock / write / COMMIT version). The statement lives in the
 * database as the function `place_order` (sql/00007_place_order.sql, with its concurrency reasoning), so
 * that its plan is kept per server connection also behind a transaction pooler. Parameters: customer id,
 * product ids (merged, ascending), quantities, then idempotency key, request hash, key TTL in seconds and
 * a checkout's own key — null when the order has none.
 */
export const PLACE_ORDER_STATEMENT = 'select * from place_order($1, $2, $3, $4, $5, $6, $7)';

interface PlaceOrderRow {
  created: Order | null;
  replay: Order | null;
  replay_hash: Buffer | null;
  customer_found: boolean;
  missing: number[];
  short: Array<{ productId: number; requested: number; available: number }>;
  checkout_key_recorded: boolean | null;
}

/** A checkout key already maps to an order (see CreateOrderOptions.checkoutKey): nothing was written. */
export class CheckoutKeyTakenError extends Error {
  override name = 'CheckoutKeyTakenError';
  constructor(readonly checkoutKey: string) {
    super('the checkout key already maps to an order');
  }
}

interface StoredKey {
  request_hash: Buffer;
  response: Order;
}

/**
 * How often the statement runs at most when a concurrent request with the same key decides its outcome:
 * a vanished key row let nothing be written, or a checkout key has to be recorded for the order that won.
 */
export const MAX_KEY_RACE_ATTEMPTS = 3;

function replayOrReject(stored: StoredKey, hash: Buffer, key: string): CreateOrderResult {
  if (!stored.request_hash.equals(hash)) {
    throw new AppError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a different order; use a new key for a new order.',
      { idempotencyKey: key },
    );
  }
  return { order: stored.response, replayed: true };
}

async function lookupKey(sql: Sql, customerId: number, key: string): Promise<StoredKey | undefined> {
  const [row] = await sql<StoredKey[]>`
    select request_hash, response from idempotency_keys
    where customer_id = ${customerId} and idempotency_key = ${key} and expires_at > now()`;
  return row;
}

/**
 * The statement recorded a checkout key for an order it then did not write, and was rolled back whole: the
 * order key was committed by a concurrent checkout of the same cart version after this statement's snapshot
 * (so `existing` missed it), and the checkout key's foreign key to the order it would have placed failed.
 * Run again, the statement sees that order as `existing` and records the checkout key for it.
 */
function isCheckoutKeyRace(error: unknown): boolean {
  const { code, constraint_name: constraint } = (error ?? {}) as { code?: string; constraint_name?: string };
  return code === '23503' && constraint === 'checkout_keys_order_id_fkey';
}

/** SQLSTATEs of races the statement cannot see coming, turned into the contract's errors. */
function mapRaceError(error: unknown, customerId: number): unknown {
  const { code, constraint_name: constraint } = (error ?? {}) as { code?: string; constraint_name?: string };
  // The customer was deleted between our existence check and the FK check at the end of the statement.
  if (code === '23503' && constraint === 'orders_customer_id_fkey') {
    return new NotFoundError('CUSTOMER_NOT_FOUND', `Customer ${customerId} does not exist.`, { customerId });
  }
  // numeric(12,2) overflow of the total (quantities ≤ 1000 × 50 lines × a very large price).
  if (code === '22003') {
    return new AppError(422, 'ORDER_TOTAL_TOO_LARGE', 'The order total exceeds the largest amount an order can hold.');
  }
  return error;
}

/**
 * Places an order: one transaction (a single statement, one round trip) that merges duplicate lines,
 * locks the product rows in ascending id order, checks customer, products and stock, reads prices from
 * the database, inserts the order and its lines with the unit-price snapshot and a numeric total,
 * decrements stock and — with an idempotency key — records the answer under (customerId, key).
 * Deadlocks and serialization failures are retried with jittered backoff (retry.ts).
 *
 * Errors (nothing is written in any of them): 404 CUSTOMER_NOT_FOUND, 404 PRODUCT_NOT_FOUND
 * (`details.productIds`), 409 INSUFFICIENT_STOCK (`details.products[{productId, requested, available}]`),
 * 422 IDEMPOTENCY_KEY_REUSED, 400 VALIDATION_ERROR for a malformed key; connection failures propagate
 * as postgres.js errors (the HTTP layer maps them to 503).
 */
export async function createOrder(sql: Sql, input: CreateOrderInput, options: CreateOrderOptions = {}): Promise<CreateOrderResult> {
  const { customerId } = input;
  const key = options.idempotencyKey;
  if (key !== undefined && !isValidIdempotencyKey(key)) {
    throw new ValidationError('Invalid idempotency key.', [{ field: 'idempotencyKey', message: 'must be 1–128 visible ASCII characters' }]);
  }
  const items = mergeItems(input.items);
  const productIds = items.map((item) => item.productId);
  const quantities = items.map((item) => item.quantity);
  const hash = key === undefined ? null : requestHash(customerId, items);
  const checkoutKey = key === undefined ? undefined : options.checkoutKey;
  if (checkoutKey !== undefined && !isValidIdempotencyKey(checkoutKey)) {
    throw new ValidationError('Invalid idempotency key.', [{ field: 'checkoutKey', message: 'must be 1–128 visible ASCII characters' }]);
  }
  // Every parameter typed: one round trip with or without named prepared statements (OID).
  const params = [
    sql.typed(customerId, OID.int4),
    intArray(sql, productIds),
    intArray(sql, quantities),
    sql.typed(key ?? null, OID.text),
    sql.typed(hash, OID.bytea),
    sql.typed(key === undefined ? null : Math.max(IDEMPOTENCY_KEY_TTL_SECONDS, options.keyTtlSeconds ?? 0), OID.int4),
    sql.typed(checkoutKey ?? null, OID.text),
  ];

  for (let attempt = 1; attempt <= MAX_KEY_RACE_ATTEMPTS; attempt++) {
    let row: PlaceOrderRow;
    try {
      [row] = (await withRetry(() => sql.unsafe(PLACE_ORDER_STATEMENT, params as never[], { prepare: true }), DEFAULT_RETRY_POLICY, {
        onRetry: (info) => logger.info('order transaction retried', info),
        ...(options.timeLeftMs ? { mayRetry: attemptFits(sql, options.timeLeftMs) } : {}),
      })) as unknown as [PlaceOrderRow];
    } catch (error) {
      if (isCheckoutKeyRace(error)) continue;
      throw mapRaceError(error, customerId);
    }

    // The checkout key belongs to another checkout: nothing was written; its owner has the answer.
    if (row.checkout_key_recorded === false) throw new CheckoutKeyTakenError(checkoutKey!);
    const recorded = checkoutKey === undefined ? {} : { checkoutKeyRecorded: true };
    if (row.replay && row.replay_hash && key !== undefined && hash) {
      return { ...replayOrReject({ request_hash: row.replay_hash, response: row.replay }, hash, key), ...recorded };
    }
    if (row.created) {
      return { order: row.created, replayed: false, ...recorded };
    }
    // Nothing was written. With a key, a concurrent request with the same key may have committed while
    // we waited for its locks: its answer wins over any error we computed from the older snapshot. A
    // checkout's own key must then map to that order too: run again, the statement replays the order and
    // records the key with it.
    if (key !== undefined && hash) {
      const stored = await lookupKey(sql, customerId, key);
      if (stored && (checkoutKey === undefined || !stored.request_hash.equals(hash))) return replayOrReject(stored, hash, key);
      if (stored) continue;
    }
    if (!row.customer_found) {
      throw new NotFoundError('CUSTOMER_NOT_FOUND', `Customer ${customerId} does not exist.`, { customerId });
    }
    if (row.missing.length > 0) {
      throw new NotFoundError('PRODUCT_NOT_FOUND', `Unknown product ids: ${row.missing.join(', ')}.`, {
        productIds: row.missing,
      });
    }
    if (row.short.length > 0) {
      throw new ConflictError('INSUFFICIENT_STOCK', 'Not enough stock for some products.', { products: row.short });
    }
    // Every check passed yet the key insert found a conflicting row that is gone by now (it expired and
    // was purged in between): run the statement again.
  }
  // Contention, not a fault: the client's retry with the same key is safe and will most likely settle.
  throw new ServiceUnavailableError(
    'DATABASE_BUSY',
    'Concurrent requests with the same Idempotency-Key kept changing its outcome; retry shortly.',
  );
}
