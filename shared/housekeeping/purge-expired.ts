import type { Db } from 'mongodb';
import { purgeExpiredCarts } from '../carts/carts.js';
import type { Sql } from '../clients/postgres.js';
import { purgeExpiredIdempotencyKeys } from '../orders/idempotency.js';
import { within } from '../within.js';
import { PURGE_BATCH_SIZE, PURGE_BATCH_STALL_MIN_MS } from './rules.js';

export interface PurgeExpiredDeps {
  sql: Sql;
  /** Called only once the keys have had their turn: a MongoDB that is down does not keep PostgreSQL's keys. */
  db: () => Db;
}

export interface PurgeExpiredOptions {
  /** Epoch ms (on `clock`) after which no further batch starts (a batch already sent finishes). */
  deadline?: number;
  /** Aborted: no further batch starts. */
  signal?: AbortSignal;
  batchSize?: number;
  /** A batch not answered in this many (real) milliseconds fails its store's turn (rules.ts: purgeBatchStallMs). */
  stallMs?: number;
  /** The clock the deadline is read on (not the expiry cutoffs: PostgreSQL's now() for keys, this process's Date for carts). */
  clock?: () => number;
}

export interface PurgeExpiredResult {
  /** POST /orders and checkout idempotency keys deleted. */
  idempotencyKeys: number;
  /** Cart versions deleted (past `purgeAt`). */
  cartVersions: number;
  /** true: both stores ran until a batch found nothing; false: stopped at the deadline or the signal, and the
   *  next run goes on from there. */
  complete: boolean;
}

/** A run that failed in one store or both, with what it deleted before that (the other store still had its turn). */
export class PurgeFailedError extends AggregateError {
  constructor(
    errors: unknown[],
    readonly result: PurgeExpiredResult,
  ) {
    super(
      errors,
      `purge of expired rows failed: ${errors.map((error) => (error instanceof Error ? error.message : String(error))).join('; ')}`,
    );
    this.name = 'PurgeFailedError';
  }
}

/** The code of a batch given up on (no answer in `stallMs`): its connection is silent, and worth dropping. */
export const PURGE_BATCH_STALLED = 'PURGE_BATCH_STALLED';

/**
 * Deletes what has expired, one bounded batch per call until a batch finds nothing: idempotency keys past
 * `expires_at` (both kinds), then cart versions past `purgeAt`. Every read already ignores an expired row,
 * so this only bounds what is stored; no request waits for it.
 *
 * Each store gets its turn: the keys take at most half the time to the deadline, then the carts, then the keys
 * whatever time is left; so a backlog of keys does not starve the carts, and a PostgreSQL that fails does not stop the cart purge (nor the reverse); the run then
 * fails with both stores' outcome. A batch that gets no answer in `stallMs` (a connection gone silent) fails its
 * store's turn the same way. Cart versions: MongoDB's TTL index deletes them too, within a minute (this
 * finds what it has not reached, and everything where the index could not be created); FerretDB has no TTL
 * index, and this is all that deletes them there (docs/carts.md). Key batches skip rows another transaction
 * holds, so concurrent runs never wait on each other; two runs may pick the same cart versions, and the one
 * that deletes nothing stops early (the next run finds what is left).
 */
export async function purgeExpired(deps: PurgeExpiredDeps, options: PurgeExpiredOptions = {}): Promise<PurgeExpiredResult> {
  const {
    deadline = Number.POSITIVE_INFINITY,
    signal,
    batchSize = PURGE_BATCH_SIZE,
    stallMs = PURGE_BATCH_STALL_MIN_MS,
    clock = Date.now,
  } = options;
  const result: PurgeExpiredResult = { idempotencyKeys: 0, cartVersions: 0, complete: false };
  /** Runs `batch` until it deletes nothing (true) or `until` passes (false). */
  const drain = async (batch: () => Promise<number>, until: number, add: (deleted: number) => void): Promise<boolean> => {
    for (;;) {
      if (signal?.aborted || clock() >= until) return false;
      const deleted = await within(batch(), stallMs, () =>
        Object.assign(new Error(`a purge batch got no answer in ${stallMs} ms (its connection stopped answering)`), {
          code: PURGE_BATCH_STALLED,
        }),
      );
      add(deleted);
      if (deleted === 0) return true;
    }
  };
  const start = clock();
  const keysUntil = Number.isFinite(deadline) ? start + (deadline - start) / 2 : deadline;
  const errors: unknown[] = [];
  const keys = (until: number) =>
    drain(
      () => purgeExpiredIdempotencyKeys(deps.sql, batchSize),
      until,
      (n) => {
        result.idempotencyKeys += n;
      },
    ).catch((error: unknown) => {
      errors.push(error);
      return undefined;
    });
  let keysDone = await keys(keysUntil);
  const cartsDone = await Promise.resolve()
    .then(() => {
      const db = deps.db();
      return drain(
        () => purgeExpiredCarts(db, { limit: batchSize }),
        deadline,
        (n) => {
          result.cartVersions += n;
        },
      );
    })
    .catch((error: unknown) => {
      errors.push(error);
      return undefined;
    });
  // The carts are done with time to spare: the rest of it is the keys' again.
  if (keysDone === false) keysDone = await keys(deadline);
  if (errors.length > 0) throw new PurgeFailedError(errors, result);
  result.complete = keysDone === true && cartsDone === true;
  return result;
}
