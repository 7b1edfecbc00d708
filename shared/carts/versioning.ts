import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, MongoServerError } from 'mongodb';
import { ConflictError } from '../errors.js';
import { isMongoUnavailable } from '../http/dependency-errors.js';
import { logger } from '../logger.js';
import { CART_OP_MAX_TIME_MS, cartEpoch, cartsCollection, claimsCollection, type CartDocument } from './store.js';

/**
 * Atomic version changes that hold on MongoDB *and* on FerretDB v1.
 *
 * The obvious compare-and-set — `findOneAndReplace({_id, version: v}, …)` — is atomic on MongoDB but not on
 * FerretDB v1.24: it evaluates the filter, then rewrites the row by _id in a separate statement, so two
 * concurrent writers with the same `v` both "match" and both win (measured: 48 of 50 races; docs/carts.md).
 * The one primitive that is atomic on both servers is inserting a document with a unique `_id`.
 *
 * So every change of a cart from version v to w first inserts the claim `${customerId}:${epoch}:${w}` into
 * `cart_claims` (epoch: the document's createdAt, see store.ts): exactly one writer can own version w. Only the owner then replaces the cart (filter
 * `{_id, version: v}`, which keeps MongoDB's own atomicity as a second line of defence, e.g. against
 * a TTL deletion in between). A cart that does not exist yet is created with insertOne (unique `_id`).
 *
 * A writer that dies between claim and replace leaves a claim without a cart version: after
 * CLAIM_LEASE_MS such a claim is "stale" and the next writer skips past it (v → v+2). The replace is
 * bounded server-side (maxTimeMS) and never sent later than half a lease after the claim, so a stale
 * claim's owner can no longer write. A claim is removed as soon as its write landed; the ones a dead
 * writer left behind expire after CLAIM_RETENTION_MS (TTL index on MongoDB, purgeExpiredCarts on FerretDB).
 */
export const CLAIM_LEASE_MS = 10_000;
export const CLAIM_RETENTION_MS = 10 * 60_000;

/**
 * Unconditional writers retry a contended cart (another writer owns the next version) up to this many
 * times, with a short jittered pause (the owner needs one round trip to finish), then answer 409 CART_BUSY.
 */
const MAX_ATTEMPTS = 25;
const MAX_STALE_SKIPS = 3;

export type CartState = Omit<CartDocument, '_id' | 'version' | 'createdAt'>;

export type Decision = { write: false; result: CartDocument | null } | { write: true; next: CartState };

export interface MutateOptions {
  /**
   * True for If-Match writes: losing a race is a 412 (the caller's version is no longer current), not a
   * reason to retry. False for unconditional writes: last writer wins, retried on contention.
   */
  conditional: boolean;
  /** Builds the error to throw when a conditional write loses a race. */
  conflict: (current: CartDocument | null) => Error;
  now?: () => Date;
}

export interface MutateResult {
  doc: CartDocument | null;
  written: boolean;
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as MongoServerError | undefined)?.code === 11000;
}

export const claimId = (customerId: number, epoch: number, version: number) => `${customerId}:${epoch}:${version}`;

type ClaimOutcome = { claimed: number; createdAt: Date } | { claimed: undefined };

/** Claims version current+1, skipping claims whose owner died (stale). undefined: a live writer owns it. */
async function claimNext(db: Db, current: CartDocument): Promise<ClaimOutcome> {
  const claims = claimsCollection(db);
  const customerId = current._id;
  const epoch = cartEpoch(current);
  let target = current.version + 1;
  for (let skip = 0; skip <= MAX_STALE_SKIPS; skip++) {
    const createdAt = new Date();
    try {
      await claims.insertOne({
        _id: claimId(customerId, epoch, target),
        createdAt,
        expiresAt: new Date(createdAt.getTime() + CLAIM_RETENTION_MS),
      });
      return { claimed: target, createdAt };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const existing = await claims.findOne({ _id: claimId(customerId, epoch, target) }, { maxTimeMS: CART_OP_MAX_TIME_MS });
    if (!existing) continue; // purged in between: try the same version again
    if (Date.now() - existing.createdAt.getTime() < CLAIM_LEASE_MS) return { claimed: undefined };
    logger.warn('skipping a stale cart version claim', { customerId, version: target });
    target++;
  }
  return { claimed: undefined };
}

async function releaseClaim(db: Db, current: CartDocument, version: number): Promise<void> {
  try {
    await claimsCollection(db).deleteOne({ _id: claimId(current._id, cartEpoch(current), version) });
  } catch {
    // Best effort: an unreleased claim only becomes stale after CLAIM_LEASE_MS.
  }
}

const backoff = (attempt: number) => sleep(2 + Math.floor(Math.random() * Math.min(40, 4 * attempt)));

/**
 * Reads the cart (as stored: expired and deleted ones too), lets `decide` choose what to write — or throw
 * (412, 404…) — and writes it as version current+1, atomically as described above. `decide` runs again
 * on every retry with the then-current document.
 */
export async function mutateCart(
  db: Db,
  customerId: number,
  decide: (current: CartDocument | null, now: Date) => Decision,
  options: MutateOptions,
): Promise<MutateResult> {
  const clock = options.now ?? (() => new Date());
  const carts = cartsCollection(db);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const now = clock();
    const current = await carts.findOne({ _id: customerId }, { maxTimeMS: CART_OP_MAX_TIME_MS });
    const decision = decide(current, now);
    if (!decision.write) return { doc: decision.result, written: false };

    if (!current) {
      const doc: CartDocument = { _id: customerId, createdAt: now, version: 1, ...decision.next };
      try {
        await carts.insertOne(doc);
        return { doc, written: true };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // Someone created it first.
        if (options.conditional) throw options.conflict(null);
        await backoff(attempt);
        continue;
      }
    }

    const claim = await claimNext(db, current);
    if (claim.claimed === undefined) {
      if (options.conditional) throw options.conflict(current);
      await backoff(attempt);
      continue;
    }
    const { claimed, createdAt } = claim;
    // Never write on a claim that may already look stale to others (a stalled event loop, a slow insert).
    if (Date.now() - createdAt.getTime() <= CLAIM_LEASE_MS / 2) {
      let replaced: CartDocument | null;
      try {
        const doc: CartDocument = {
          _id: customerId,
          ...(current.createdAt ? { createdAt: current.createdAt } : {}),
          version: claimed,
          ...decision.next,
        };
        replaced = await carts.findOneAndReplace({ _id: customerId, version: current.version }, doc, {
          returnDocument: 'after',
          maxTimeMS: CART_OP_MAX_TIME_MS,
        });
      } catch (error) {
        // Unreachable server: releasing would only wait for another timeout; the claim goes stale instead.
        if (!isMongoUnavailable(error)) await releaseClaim(db, current, claimed);
        throw error;
      }
      if (replaced) {
        // The cart is at `claimed` now and its version never goes back, so a late writer that claims this
        // version again can never match `{version: current.version}`: the claim has done its job. Removing
        // it keeps cart_claims tiny (FerretDB has no TTL deletion, and scans it on a stale check).
        await releaseClaim(db, current, claimed);
        return { doc: replaced, written: true };
      }
    }
    // The document changed or vanished (TTL) under us: nothing was written.
    await releaseClaim(db, current, claimed);
    if (options.conditional) throw options.conflict(current);
  }
  throw new ConflictError('CART_BUSY', 'The cart is being changed by other requests; retry shortly.');
}
