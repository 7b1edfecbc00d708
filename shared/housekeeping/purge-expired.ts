import type { Db } from 'mongodb';
import { purgeExpiredCarts } from '../carts/carts.js';
import type { Sql } from '../clients/postgres.js';
import { PURGE_BATCH_SIZE, purgeExpiredIdempotencyKeys } from '../orders/idempotency.js';

export interface PurgeExpiredDeps {
  sql: Sql;
  /** Called only once the keys are done: a MongoDB that is down does not keep PostgreSQL's keys. */
  db: () => Db;
}

export interface PurgeExpiredOptions {
  /** Epoch ms after which no further batch starts (a batch already sent finishes). */
  deadline?: number;
  /** Aborted: no further batch starts. */
  signal?: AbortSignal;
  batchSize?: number;
  now?: () => number;
}

export interface PurgeExpiredResult {
  /** POST /orders and checkout idempotency keys deleted. */
  idempotencyKeys: number;
  /** Cart versions deleted (past `purgeAt`). */
  cartVersions: number;
  /** false: stopped at the deadline or the signal with rows still due; the next run goes on from there. */
  complete: boolean;
}

/**
 * Deletes what has expired, one bounded batch per statement until a batch finds nothing: idempotency keys
 * past `expires_at` (both kinds), then cart versions past `purgeAt`. Every read already ignores an expired
 * row, so this only bounds what is stored; the requests never wait for it. Cart versions: MongoDB's TTL
 * index deletes them too, within a minute (this finds what is left, and everything where the index could
 * not be created); FerretDB has no TTL index, and this is all that deletes them there (docs/carts.md).
 * Batches skip rows another transaction holds, so concurrent runs are safe.
 */
export async function purgeExpired(deps: PurgeExpiredDeps, options: PurgeExpiredOptions = {}): Promise<PurgeExpiredResult> {
  const { deadline = Number.POSITIVE_INFINITY, signal, batchSize = PURGE_BATCH_SIZE, now = Date.now } = options;
  const result: PurgeExpiredResult = { idempotencyKeys: 0, cartVersions: 0, complete: false };
  const mayStartBatch = () => !signal?.aborted && now() < deadline;

  let deleted = -1;
  while (deleted !== 0) {
    if (!mayStartBatch()) return result;
    deleted = await purgeExpiredIdempotencyKeys(deps.sql, batchSize);
    result.idempotencyKeys += deleted;
  }
  const db = deps.db();
  deleted = -1;
  while (deleted !== 0) {
    if (!mayStartBatch()) return result;
    deleted = await purgeExpiredCarts(db, { limit: batchSize, now: () => new Date(now()) });
    result.cartVersions += deleted;
  }
  result.complete = true;
  return result;
}
