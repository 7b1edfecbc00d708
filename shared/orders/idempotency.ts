import { createHash } from 'node:crypto';
import { OID, type Sql } from '../clients/postgres.js';
import { PURGE_BATCH_SIZE } from '../housekeeping/rules.js';
import { IDEMPOTENCY_KEY_PATTERN } from './rules.js';
import type { OrderItemInput } from './schemas.js';

/**
 * Idempotency keys for order creation (semantics in docs/orders.md):
 * - scope: one customer — the key's identity is (customerId, key);
 * - reuse: the same key with a different normalised payload is rejected (422 IDEMPOTENCY_KEY_REUSED);
 * - expiry: IDEMPOTENCY_KEY_TTL_SECONDS (24 h) after the order, longer for a cart checkout's keys (as
 *   long as the cart version could be checked out, docs/carts.md); an expired key is ignored (a new order may take it over) and
 *   expired rows are deleted in bounded batches by the scheduled purgeExpired function, never on a request's path.
 */
export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY_PATTERN.test(key);
}

/**
 * SHA-256 of the normalised payload: the customer and the merged, id-sorted items. Two requests that
 * describe the same order (lines in another order, a product split over two lines) hash the same.
 * `items` must already be merged and sorted (mergeItems).
 */
export function requestHash(customerId: number, mergedItems: readonly OrderItemInput[]): Buffer {
  const normalised = JSON.stringify([customerId, mergedItems.map(({ productId, quantity }) => [productId, quantity])]);
  return createHash('sha256').update(normalised).digest();
}

/**
 * Deletes up to `batchSize` expired keys of each kind — POST /orders keys and checkout keys — (oldest
 * first, skipping rows another transaction holds) in one statement, and returns how many it deleted.
 * Cheap (indexes on expires_at) and safe to run concurrently; shared/housekeeping/purge-expired.ts calls it
 * until it deletes nothing.
 */
export async function purgeExpiredIdempotencyKeys(sql: Sql, batchSize = PURGE_BATCH_SIZE): Promise<number> {
  // Typed: one round trip without named prepared statements too (behind RDS Proxy or PgBouncer).
  const limit = sql.typed(batchSize, OID.int4);
  const [row] = await sql<[{ purged: number }]>`
    with order_keys as (
      delete from idempotency_keys
      where (customer_id, idempotency_key) in (
        select customer_id, idempotency_key from idempotency_keys
        where expires_at <= now() order by expires_at limit ${limit} for update skip locked)
      returning 1
    ), checkout_keys as (
      delete from checkout_keys
      where idempotency_key in (
        select idempotency_key from checkout_keys
        where expires_at <= now() order by expires_at limit ${limit} for update skip locked)
      returning 1
    )
    select (select count(*) from order_keys)::int + (select count(*) from checkout_keys)::int as purged`;
  return row.purged;
}
