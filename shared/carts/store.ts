/**
 * The cart store: every MongoDB call the carts make, and the documents they make them with.
 *
 * A cart is a chain of immutable versions, one document each, `_id` = customer + version. Changing a cart
 * from version v is inserting version v + 1: the unique `_id` makes that insert the compare-and-set — of
 * any number of writers starting from v, exactly one inserts v + 1 and the others get a duplicate-key
 * error. An insert with a unique key is atomic on every server that speaks the protocol: MongoDB, Atlas
 * and FerretDB v1, which has no atomic conditional update (docs/carts.md has the measurements). There is
 * no intermediate state: a writer that dies has either written its version or nothing, so it can never
 * hold the cart for anyone else. A write whose base version is known (the client's ETag, the version a
 * checkout ordered) is that one insert; any other write reads the newest version first: two round trips.
 *
 * Versions are never reused while any version of the customer's cart is stored: a cart that expired (no
 * write for CART_TTL_SECONDS) or was deleted continues from its last version, so a client or a stalled
 * request holding an old version can never match a newer cart. Documents are removed only
 * CART_RETENTION_MS after they expired (the `purgeAt` TTL index on MongoDB, the hourly purgeExpired function everywhere),
 * long after any request that read them has ended.
 */
import type { Collection, Db } from 'mongodb';
import { isDuplicateKey, isMongoUnavailable, isNotImplemented } from '../clients/errors.js';
import { PURGE_BATCH_SIZE } from '../housekeeping/rules.js';
import { describeError, logger } from '../logger.js';
import { MAX_CART_TTL_SECONDS } from './rules.js';
import type { CartItem } from './schemas.js';

export const CARTS_COLLECTION = 'cart_versions';

/** How long a version stays stored after it expired: the bound on "a version number is never reused". */
export const CART_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** Server-side bound for every cart command (FerretDB honours it on find and findAndModify). */
export const CART_OP_MAX_TIME_MS = 2_000;

export interface CartVersion {
  /** `${customerId}:${version}`, both zero-padded so that the string order is the numeric order. */
  _id: string;
  customerId: number;
  version: number;
  items: CartItem[];
  note?: string;
  /** A DELETE's tombstone: the cart is gone, its version number stays taken. */
  deleted: boolean;
  updatedAt: Date;
  /** The end of the cart's inactivity period (every write moves it). */
  expiresAt: Date;
  /** When the document may be removed (TTL index): CART_RETENTION_MS after its expiresAt, or after the
   *  replaced version's expiresAt if that is later (insertNextVersion). */
  purgeAt: Date;
  /** On the empty version a checkout wrote: the order key of the version it ordered. */
  orderedAs?: string;
}

/** What a writer decides; the store adds the identity and bookkeeping fields. */
export type CartContent = Pick<CartVersion, 'items' | 'note' | 'deleted' | 'updatedAt' | 'expiresAt' | 'orderedAs'>;

const VERSION_DIGITS = 15;
/** The last version a cart can have: ids are ordered as strings, so every version has VERSION_DIGITS digits. */
export const MAX_CART_VERSION = 10 ** VERSION_DIGITS - 1;
const pad = (value: number, width: number) => String(value).padStart(width, '0');
const versionId = (customerId: number, version: number) => `${pad(customerId, 10)}:${pad(version, VERSION_DIGITS)}`;

function versions(db: Db): Collection<CartVersion> {
  return db.collection<CartVersion>(CARTS_COLLECTION);
}

/** A cart a client may see: not deleted and not expired (`expiresAt > now`). */
export function isLive(doc: CartVersion | null | undefined, now: Date): doc is CartVersion {
  return !!doc && !doc.deleted && doc.expiresAt.getTime() > now.getTime();
}

/** The newest stored version of the customer's cart (expired and deleted ones too), or null. One round trip. */
export async function readNewestVersion(db: Db, customerId: number): Promise<CartVersion | null> {
  // An equality on customerId, not a range of _id: MongoDB serves both from an index (CUSTOMER_INDEX_NAME), but
  // FerretDB pushes only an equality down to its storage and would decode the whole collection for a range.
  const [newest] = await versions(db)
    .find({ customerId }, { sort: { _id: -1 }, limit: 1, maxTimeMS: CART_OP_MAX_TIME_MS })
    .toArray();
  return newest ?? null;
}

/**
 * Inserts the version after `base` (`{ version: 0 }`: nothing is stored). Returns it, or null when another
 * writer inserted that version first: the compare-and-set was lost and nothing was written.
 *
 * A version is kept at least CART_RETENTION_MS past the expiry of the one it replaces: otherwise, once
 * CART_TTL_SECONDS was lowered, a delete or a checkout written under the shorter TTL would be purged first and
 * the cart it replaced would be the newest again, alive (its expiry still ahead), and its version number free
 * for reuse. Kept that long, it outlives the replaced version's life, and a version purged after it is expired.
 */
export async function insertNextVersion(
  db: Db,
  customerId: number,
  base: { version: number; expiresAt?: Date },
  content: CartContent,
  retentionMs = CART_RETENTION_MS,
): Promise<CartVersion | null> {
  const version = base.version + 1;
  // The base's expiry as a client's ETag states it is believed only as far as a real one could reach.
  const baseExpiry = Math.min(base.expiresAt?.getTime() ?? 0, content.updatedAt.getTime() + MAX_CART_TTL_SECONDS * 1000);
  const purgeFrom = Math.max(content.expiresAt.getTime(), baseExpiry);
  const doc: CartVersion = {
    _id: versionId(customerId, version),
    customerId,
    version,
    items: content.items,
    ...(content.note === undefined ? {} : { note: content.note }),
    deleted: content.deleted,
    updatedAt: content.updatedAt,
    expiresAt: content.expiresAt,
    purgeAt: new Date(purgeFrom + retentionMs),
    ...(content.orderedAs === undefined ? {} : { orderedAs: content.orderedAs }),
  };
  try {
    await versions(db).insertOne(doc);
    return doc;
  } catch (error) {
    if (isDuplicateKey(error)) return null;
    throw error;
  }
}

/**
 * Removes versions whose purgeAt has passed (at most `limit`): MongoDB's TTL monitor does the same by itself,
 * FerretDB v1 has none. Returns how many it removed.
 */
export async function purgeVersions(db: Db, now: Date, limit = PURGE_BATCH_SIZE): Promise<number> {
  const due = await versions(db)
    .find({ purgeAt: { $lte: now } }, { projection: { _id: 1 }, limit, maxTimeMS: CART_OP_MAX_TIME_MS })
    .toArray();
  if (due.length === 0) return 0;
  const { deletedCount } = await versions(db).deleteMany(
    { _id: { $in: due.map((doc) => doc._id) }, purgeAt: { $lte: now } },
    { maxTimeMS: CART_OP_MAX_TIME_MS },
  );
  return deletedCount;
}

// --- indexes ------------------------------------------------------------------------------------------

export const TTL_INDEX_NAME = 'purgeAt_ttl';
export const CUSTOMER_INDEX_NAME = 'customer_newest';

export interface IndexStatus {
  /** 'ttl': MongoDB deletes due versions itself; 'plain': this server has no TTL indexes (FerretDB v1), so
   *  the index only serves the hourly purge; 'failed': the index could not be created (see error). */
  status: 'ttl' | 'plain' | 'failed';
  error?: { code?: unknown; codeName?: unknown; message: string };
}

/** A failed index creation is tried again after this long (the index may have been fixed meanwhile). */
export const INDEX_RETRY_AFTER_FAILURE_MS = 5 * 60_000;

const ensured = new Map<string, { status: Promise<IndexStatus>; retryAt?: number }>();

async function createIndexes(db: Db): Promise<IndexStatus> {
  try {
    // The newest version of a customer's cart: one index seek on MongoDB (readNewestVersion).
    await versions(db).createIndex({ customerId: 1, _id: -1 }, { name: CUSTOMER_INDEX_NAME });
    try {
      await versions(db).createIndex({ purgeAt: 1 }, { name: TTL_INDEX_NAME, expireAfterSeconds: 0 });
      return { status: 'ttl' };
    } catch (error) {
      if (!isNotImplemented(error)) throw error;
    }
    // FerretDB v1.x: "Index option "expireAfterSeconds" is not implemented yet". Reads filter on
    // expiresAt anyway; the same index without TTL serves purgeExpiredCarts (docs/carts.md).
    await versions(db).createIndex({ purgeAt: 1 }, { name: TTL_INDEX_NAME });
    logger.info('cart TTL index not supported by this server; due cart versions are removed by the hourly purgeExpired function');
    return { status: 'plain' };
  } catch (error) {
    if (isMongoUnavailable(error)) throw error;
    // A conflicting index, a missing privilege: carts keep working, but expired ones are never removed.
    // Loud, and reported by the health check until the index is fixed.
    logger.error('cart index creation failed', { error: describeError(error) });
    const { code, codeName } = error as { code?: unknown; codeName?: unknown };
    return { status: 'failed', error: { code, codeName, message: String(describeError(error).message) } };
  }
}

/**
 * Creates the cart indexes once per container and database (a memoised promise: concurrent first calls
 * share it). createIndex is idempotent on the server. If the server is unreachable the memo is dropped,
 * so the next request tries again, and the error propagates (→ 503). A creation that failed otherwise (a
 * conflicting index) is tried again INDEX_RETRY_AFTER_FAILURE_MS later, not with every request.
 */
export function ensureCartIndexes(db: Db, now: () => number = Date.now): Promise<IndexStatus> {
  const key = db.databaseName;
  const memo = ensured.get(key);
  if (memo && (memo.retryAt === undefined || now() < memo.retryAt)) return memo.status;
  const entry: { status: Promise<IndexStatus>; retryAt?: number } = { status: createIndexes(db) };
  ensured.set(key, entry);
  entry.status.then(
    (result) => {
      if (result.status === 'failed') entry.retryAt = now() + INDEX_RETRY_AFTER_FAILURE_MS;
    },
    () => {
      if (ensured.get(key) === entry) ensured.delete(key);
    },
  );
  return entry.status;
}

/** The outcome of this container's index creation for `db`, without creating anything; undefined if none yet. */
export function cartIndexStatus(db: Db): Promise<IndexStatus> | undefined {
  return ensured.get(db.databaseName)?.status;
}

/** A ping of the cart store (the health check). */
export async function pingCartStore(db: Db): Promise<void> {
  await db.command({ ping: 1 });
}
