import { intArray, OID, type Sql } from '../clients/postgres.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { isValidIdempotencyKey, PURGE_BATCH_SIZE, PURGE_PROBABILITY, purgeExpiredIdempotencyKeys, requestHash } from './idempotency.js';
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
}

export interface CreateOrderResult {
  order: Order;
  /** True when `order` is the stored answer to an earlier request with the same key. */
  replayed: boolean;
  /** With a checkoutKey: it now maps to `order` (a taken key throws CheckoutKeyTakenError instead). */
  checkoutKeyRecorded?: boolean;
}

/** Merges duplicate product lines and sorts by product id (the lock order that prevents deadlocks). */
export function mergeItems(items: readonly OrderItemInput[]): OrderItemInput[] {
  const quantities = new Map<number, number>();
  for (const { productId, quantity } of items) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  return [...quantities.entries()].sort(([a], [b]) => a - b).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * The whole order as ONE statement, i.e. one implicit transaction and one round trip (docs/orders.md
 * has the measurements against a BEGIN / lock / write / COMMIT version). Parameters:
 *   $1 customer id · $2 product ids (merged, ascending) · $3 quantities; keyed variant only:
 *   $4 idempotency key · $5 request hash · $6 key TTL in seconds.
 *
 * How it stays exact under concurrency (READ COMMITTED):
 * - `existing`: a live key committed before this statement started → replay it, lock nothing.
 * - `locked`: product rows locked FOR UPDATE in ascending id order (LockRows above the Sort). A row
 *   another order holds is waited for and then re-read at its newest committed version, so `stock`
 *   and `price` below are current and cannot change until we commit.
 * - `checked` aggregates over every locked row (count(*) consumes the whole CTE), so all locks are
 *   taken before any write, and every write below is gated on its verdict: an error changes nothing
 *   (not even the key table) — only a sequence value is spent.
 * - the order id comes from the identity's sequence up front, so the key row can be written before
 *   the order row; the order, its lines and the stock update are gated on the key insert having
 *   succeeded. A concurrent first attempt with the same key makes this insert wait on the unique
 *   index until that transaction ends: if it commits, ON CONFLICT leaves its row alone, nothing is
 *   written here and the caller replays the committed answer; if it rolls back, we insert and go on.
 *   An expired key row is overwritten in place (ON CONFLICT … DO UPDATE … WHERE expired).
 * - the UPDATE re-reads the rows we hold (EvalPlanQual), so `stock - quantity` applies to the
 *   current value; CHECK (stock_quantity >= 0) remains the last line of defence.
 * - the 201 body is built here, stored with the key (json keeps its text), and returned, so a replay
 *   is byte-for-byte the first answer.
 * - checkout variant, $7 the checkout's own key: it is inserted first, for the new order or for the
 *   replayed one, and the key row and the order are gated on that insert. A checkout key another
 *   transaction holds makes this insert wait, then conflict: nothing is written, and the caller answers
 *   from that key's order. The checkout key thus exists exactly when its order does.
 */
type Variant = 'plain' | 'keyed' | 'checkout';

function placeOrderSql(variant: Variant): string {
  // Without a key the statement does not mention idempotency_keys at all: fewer relations to open and
  // lock per order (Postgres keeps at most 16 relation locks per backend on its uncontended fast path).
  const keyed = variant !== 'plain';
  const when = (fragment: string, otherwise = '') => (keyed ? fragment : otherwise);
  const checkout = (fragment: string, otherwise = '') => (variant === 'checkout' ? fragment : otherwise);
  return `
with
req as (
  select r.product_id, r.quantity from unnest($2::int[], $3::int[]) as r(product_id, quantity)
),${when(`
existing as materialized (
  select k.request_hash, k.response, k.order_id
  from idempotency_keys k
  where k.customer_id = $1::int and k.idempotency_key = $4::text and k.expires_at > now()
),`)}
locked as materialized (
  select p.product_id, p.price, p.stock_quantity
  from products p
  where p.product_id = any($2::int[])${when(`
    and not exists (select from existing)`)}
    and exists (select from customers c where c.customer_id = $1::int)
  order by p.product_id
  for update
),
checked as materialized (
  select
    exists (select from customers c where c.customer_id = $1::int) as customer_found,
    (select count(*) from locked) as locked_count,
    coalesce(array_agg(r.product_id order by r.product_id) filter (where l.product_id is null), '{}') as missing,
    coalesce(json_agg(json_build_object('productId', r.product_id, 'requested', r.quantity, 'available', l.stock_quantity)
      order by r.product_id) filter (where l.stock_quantity < r.quantity), '[]') as short,
    count(*) filter (where l.stock_quantity < r.quantity) as short_count,
    sum(l.price * r.quantity) as total
  from req r left join locked l using (product_id)
),
new_order as materialized (
  -- The identity sequence of orders.order_id (generated by default, so an explicit id is allowed).
  select nextval('orders_order_id_seq') as order_id, now() as order_date, c.total::numeric(12, 2) as total_amount
  from checked c
  where c.customer_found and c.locked_count = cardinality($2::int[]) and c.short_count = 0
),
lines as materialized (
  select r.product_id, r.quantity, l.price as unit_price
  from req r join locked l using (product_id)
  where exists (select from new_order)
),
body as materialized (
  select o.order_id, json_build_object(
    'orderId', o.order_id,
    'customerId', $1::int,
    'orderDate', to_char(o.order_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'totalAmount', o.total_amount::text,
    'items', (select json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity, 'unitPrice', l.unit_price::text)
              order by l.product_id) from lines l)
  ) as response
  from new_order o
),${checkout(`
saved_checkout_key as (
  insert into checkout_keys as ck (idempotency_key, customer_id, order_id, cart_key, response, expires_at)
  select $7::text, $1::int, x.order_id, $4::text, x.response, now() + make_interval(secs => $6::int)
  from (select b.order_id, b.response from body b union all select e.order_id, e.response from existing e) x
  on conflict (idempotency_key) do update
    set customer_id = excluded.customer_id, order_id = excluded.order_id, cart_key = excluded.cart_key,
        response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at
    where ck.expires_at <= now()
  returning ck.order_id
),`)}${when(`
saved_key as (
  insert into idempotency_keys as k (customer_id, idempotency_key, request_hash, order_id, response, expires_at)
  select $1::int, $4::text, $5::bytea, b.order_id, b.response, now() + make_interval(secs => $6::int)
  from body b${checkout(`
  where exists (select from saved_checkout_key)`)}
  on conflict (customer_id, idempotency_key) do update
    set request_hash = excluded.request_hash, order_id = excluded.order_id, response = excluded.response,
        created_at = excluded.created_at, expires_at = excluded.expires_at
    where k.expires_at <= now()
  returning k.order_id
),`)}
saved_order as (
  insert into orders (order_id, customer_id, order_date, total_amount)
  select o.order_id, $1::int, o.order_date, o.total_amount
  from new_order o${when(`
  where exists (select from saved_key)`)}
  returning order_id
),
saved_lines as (
  insert into order_items (order_id, product_id, quantity, unit_price)
  select o.order_id, l.product_id, l.quantity, l.unit_price
  from saved_order o cross join lines l
),
stock as (
  update products p set stock_quantity = p.stock_quantity - l.quantity
  from lines l
  where p.product_id = any($2::int[]) and p.product_id = l.product_id and exists (select from saved_order)
)
select
  (select b.response from body b where exists (select from saved_order)) as created,
  ${when('e.response', 'null::json')} as replay,
  ${when('e.request_hash', 'null::bytea')} as replay_hash,
  c.customer_found,
  c.missing,
  c.short,
  ${checkout(`case when exists (select from body) or exists (select from existing) then exists (select from saved_checkout_key) end`, 'null::boolean')} as checkout_key_recorded
from checked c${when(' left join existing e on true')}`;
}

const STATEMENTS: Record<Variant, string> = {
  plain: placeOrderSql('plain'),
  keyed: placeOrderSql('keyed'),
  checkout: placeOrderSql('checkout'),
};

/** The statement an order without a key sends: the orders benchmark runs exactly this in pgbench as its reference. */
export const PLAIN_ORDER_STATEMENT = STATEMENTS.plain;

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

/** How often the statement is re-run when every check passed but a vanished key row let nothing be written. */
const MAX_KEY_RACE_ATTEMPTS = 3;

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

async function maybePurge(sql: Sql): Promise<void> {
  if (Math.random() >= PURGE_PROBABILITY) return;
  try {
    const purged = await purgeExpiredIdempotencyKeys(sql, PURGE_BATCH_SIZE);
    if (purged > 0) logger.info('purged expired idempotency keys', { purged });
  } catch (error) {
    // The order has committed; housekeeping must never fail it.
    logger.warn('idempotency key purge failed', { error: error instanceof Error ? error.message : String(error) });
  }
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
  const order = [sql.typed(customerId, OID.int4), intArray(sql, productIds), intArray(sql, quantities)];
  const keyed = () => [sql.typed(key!, OID.text), hash, sql.typed(IDEMPOTENCY_KEY_TTL_SECONDS, OID.int4)];
  const [statement, params] =
    key === undefined
      ? [STATEMENTS.plain, order]
      : checkoutKey === undefined
        ? [STATEMENTS.keyed, [...order, ...keyed()]]
        : [STATEMENTS.checkout, [...order, ...keyed(), sql.typed(checkoutKey, OID.text)]];

  for (let attempt = 1; ; attempt++) {
    let row: PlaceOrderRow;
    try {
      [row] = (await withRetry(() => sql.unsafe(statement, params as never[], { prepare: true }), DEFAULT_RETRY_POLICY, {
        onRetry: (info) => logger.info('order transaction retried', info),
      })) as unknown as [PlaceOrderRow];
    } catch (error) {
      throw mapRaceError(error, customerId);
    }

    // The checkout key belongs to another checkout: nothing was written; its owner has the answer.
    if (row.checkout_key_recorded === false) throw new CheckoutKeyTakenError(checkoutKey!);
    const recorded = checkoutKey === undefined ? {} : { checkoutKeyRecorded: true };
    if (row.replay && row.replay_hash && key !== undefined && hash) {
      return { ...replayOrReject({ request_hash: row.replay_hash, response: row.replay }, hash, key), ...recorded };
    }
    if (row.created) {
      if (key !== undefined) await maybePurge(sql);
      return { order: row.created, replayed: false, ...recorded };
    }
    // Nothing was written. With a key, a concurrent request with the same key may have committed while
    // we waited for its locks: its answer wins over any error we computed from the older snapshot.
    if (key !== undefined && hash) {
      const stored = await lookupKey(sql, customerId, key);
      if (stored) return replayOrReject(stored, hash, key);
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
    if (attempt >= MAX_KEY_RACE_ATTEMPTS) throw new Error('createOrder: idempotency key race did not settle');
  }
}
