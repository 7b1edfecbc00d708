import type { Collection, Db } from 'mongodb';
import { ServiceUnavailableError } from '../errors.js';
import { isMongoUnavailable } from '../http/dependency-errors.js';
import { logger } from '../logger.js';
import type { Order } from '../orders/create-order.js';
import type { CartItem } from './schemas.js';

/** Collection names. `cart_claims` is bookkeeping for atomic version changes (versioning.ts). */
export const CARTS_COLLECTION = 'carts';
export const CLAIMS_COLLECTION = 'cart_claims';

/** Default inactivity period (config CART_TTL_SECONDS overrides it in the handlers). */
export const DEFAULT_CART_TTL_SECONDS = 7 * 24 * 3600;

/** Server-side bound for every cart command (FerretDB honours it on find and findAndModify). */
export const CART_OP_MAX_TIME_MS = 2_000;

/** What the last successful checkout of this cart produced; lets a retry with the same key replay it. */
export interface LastCheckout {
  /** The client's Idempotency-Key, if it sent one. */
  idempotencyKey: string | null;
  /** The key the order was placed under (derived from the cart state, see checkout.ts). */
  orderKey: string;
  order: Order;
  at: Date;
}

/**
 * One document per customer. A DELETE leaves a tombstone (`deleted: true`, no items) so that the version
 * keeps increasing across delete + re-create: a client holding an old version can never match a newer
 * cart. Documents disappear physically only through expiry (TTL index where supported).
 */
export interface CartDocument {
  _id: number;
  /**
   * When this document was created (insertOne). Identifies one "life" of the cart: version numbers start
   * again at 1 after a physical removal (expiry), so claims and derived order keys include it.
   * Absent on documents written before this field existed.
   */
  createdAt?: Date;
  items: CartItem[];
  note?: string;
  deleted: boolean;
  updatedAt: Date;
  expiresAt: Date;
  version: number;
  lastCheckout?: LastCheckout;
}

export interface ClaimDocument {
  /** `${customerId}:${cart createdAt ms}:${version}` — the unique _id is the atomic primitive. */
  _id: string;
  createdAt: Date;
  expiresAt: Date;
}

export function cartsCollection(db: Db): Collection<CartDocument> {
  return db.collection<CartDocument>(CARTS_COLLECTION);
}

export function claimsCollection(db: Db): Collection<ClaimDocument> {
  return db.collection<ClaimDocument>(CLAIMS_COLLECTION);
}

/** The cart's life, for claim ids and derived keys (0 for documents without createdAt). */
export function cartEpoch(doc: Pick<CartDocument, 'createdAt'>): number {
  return doc.createdAt?.getTime() ?? 0;
}

/** A cart a client may see: not deleted and not expired (`expiresAt > now`, as the read filters say). */
export function isLive(doc: CartDocument | null | undefined, now: Date): doc is CartDocument {
  return !!doc && doc.deleted !== true && doc.expiresAt.getTime() > now.getTime();
}

/** The filter every read uses, so an expired cart never comes back even before any TTL deletion. */
export function liveCartFilter(customerId: number, now: Date) {
  return { _id: customerId, deleted: { $ne: true }, expiresAt: { $gt: now } };
}

export interface IndexStatus {
  /** True when the server accepted the TTL indexes (MongoDB); false on FerretDB v1 (NotImplemented). */
  ttl: boolean;
}

const ensured = new Map<string, Promise<IndexStatus>>();

function isNotImplemented(error: unknown): boolean {
  const { code, codeName } = (error ?? {}) as { code?: unknown; codeName?: unknown };
  return code === 238 || codeName === 'NotImplemented';
}

async function createIndexes(db: Db): Promise<IndexStatus> {
  try {
    await cartsCollection(db).createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
    await claimsCollection(db).createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
    return { ttl: true };
  } catch (error) {
    if (isMongoUnavailable(error)) throw error;
    if (isNotImplemented(error)) {
      // FerretDB v1.x: "Index option "expireAfterSeconds" is not implemented yet". Reads filter on
      // expiresAt anyway; purgeExpiredCarts() is the manual substitute (docs/carts.md).
      logger.info('cart TTL index not supported by this server; expired carts are filtered, not deleted');
      return { ttl: false };
    }
    // Anything else (missing privilege, conflicting index) must not take the carts down: log it loudly.
    logger.error('cart index creation failed', { error: error instanceof Error ? error : String(error) });
    return { ttl: false };
  }
}

/**
 * Creates the TTL indexes once per container and database (a memoised promise: concurrent first calls
 * share it, later calls cost nothing). createIndex is idempotent on the server. If the server is
 * unreachable the memo is dropped, so the next request tries again, and the error propagates (→ 503).
 */
export function ensureCartIndexes(db: Db): Promise<IndexStatus> {
  const key = db.databaseName;
  let pending = ensured.get(key);
  if (!pending) {
    pending = createIndexes(db);
    ensured.set(key, pending);
    pending.catch(() => ensured.delete(key));
  }
  return pending;
}

/** Forgets which databases were indexed (tests that drop collections). */
export function resetCartIndexMemo(): void {
  ensured.clear();
}

/**
 * A command the server gave up on because of our maxTimeMS: MongoDB answers 50 MaxTimeMSExpired, FerretDB
 * v1 answers 1 InternalError "… context deadline exceeded". Either way the store is too slow right now,
 * which is a 503 (retry later), not a 500. Nothing was written: the server aborted the command.
 */
export function isServerTimeout(error: unknown): boolean {
  const { code, codeName, message } = (error ?? {}) as { code?: unknown; codeName?: unknown; message?: unknown };
  if (code === 50 || codeName === 'MaxTimeMSExpired') return true;
  return code === 1 && typeof message === 'string' && message.includes('context deadline exceeded');
}

/** Runs a cart operation, turning a server-side timeout into 503 CART_STORE_UNAVAILABLE. */
export async function cartStoreCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isServerTimeout(error)) {
      throw new ServiceUnavailableError('CART_STORE_UNAVAILABLE', 'The cart store is too slow right now; retry shortly.');
    }
    throw error;
  }
}
