import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { DEFAULT_CART_TTL_SECONDS } from './rules.js';
import type { CartItem, IfMatch, SaveCartBody } from './schemas.js';
import {
  type CartContent,
  type CartVersion,
  ensureCartIndexes,
  insertNextVersion,
  isLive,
  purgeVersions,
  readNewestVersion,
} from './store.js';

/**
 * Carts on the MongoDB wire protocol (MongoDB, Atlas or FerretDB): replaced as a whole on every save,
 * versioned for optimistic concurrency (If-Match), expiring after a period of inactivity. Storage and
 * atomicity: store.ts. Contract and decisions: docs/carts.md. Inputs are validated by schemas.ts before
 * they get here; no client value is ever used as a query filter except the integer customer id.
 */
export interface Cart {
  customerId: number;
  items: CartItem[];
  note?: string;
  updatedAt: string;
  expiresAt: string;
  version: number;
}

export interface CartWriteOptions {
  /** Optimistic concurrency: the version the client last saw, or '*' (the cart must exist). */
  ifMatch?: IfMatch;
  /** Inactivity period; every write sets expiresAt = now + ttlSeconds. */
  ttlSeconds?: number;
  now?: () => Date;
}

export interface CartReadOptions {
  now?: () => Date;
}

export class VersionConflictError extends AppError {
  /** `current`: the cart's version now, or null when there is no live cart. */
  constructor(expected: IfMatch, current: number | null) {
    super(
      412,
      'VERSION_CONFLICT',
      current === null
        ? 'The cart does not exist (or has expired); it cannot match If-Match.'
        : `The cart is at version ${current}, not ${expected}; reload it and retry.`,
      { expected, current },
    );
  }
}

/**
 * Unconditional writers that keep losing the compare-and-set to other writers retry this many times (two
 * round trips each, after a pause of a few milliseconds so that contenders spread out), then answer 409
 * CART_BUSY. The winner of each round has already finished: nobody waits for a writer that died.
 */
const MAX_WRITE_ATTEMPTS = 25;
const retryPause = (attempt: number) => sleep(Math.floor(Math.random() * Math.min(20, 2 * attempt)));

function copyItem(item: CartItem): CartItem {
  return {
    productId: item.productId,
    quantity: item.quantity,
    ...(item.attributes === undefined ? {} : { attributes: item.attributes }),
  };
}

export function toCart(doc: CartVersion): Cart {
  return {
    customerId: doc.customerId,
    items: doc.items.map(copyItem),
    ...(doc.note === undefined ? {} : { note: doc.note }),
    updatedAt: doc.updatedAt.toISOString(),
    expiresAt: doc.expiresAt.toISOString(),
    version: doc.version,
  };
}

/** The live cart, or 404 CART_NOT_FOUND (also when it expired or was deleted). One round trip. */
export async function getCart(db: Db, customerId: number, options: CartReadOptions = {}): Promise<Cart> {
  const now = options.now?.() ?? new Date();
  const newest = await readNewestVersion(db, customerId);
  if (!isLive(newest, now)) throw new NotFoundError('CART_NOT_FOUND', `Customer ${customerId} has no cart.`, { customerId });
  return toCart(newest);
}

/** 412 unless `ifMatch` (when given) matches the live cart. */
function checkPrecondition(ifMatch: IfMatch | undefined, newest: CartVersion | null, now: Date): void {
  if (ifMatch === undefined) return;
  if (!isLive(newest, now)) throw new VersionConflictError(ifMatch, null);
  if (ifMatch !== '*' && newest.version !== ifMatch) throw new VersionConflictError(ifMatch, newest.version);
}

/**
 * Writes the next version: reads the newest, lets `next` decide the content (or that there is nothing to
 * write), inserts it. A lost compare-and-set is a 412 telling the version that won when the caller gave
 * If-Match, and a retry from that version otherwise (last writer wins).
 */
async function writeNext(
  db: Db,
  customerId: number,
  options: CartWriteOptions,
  next: (newest: CartVersion | null, now: Date) => CartContent | null,
): Promise<CartVersion | null> {
  await ensureCartIndexes(db);
  const clock = options.now ?? (() => new Date());
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const now = clock();
    const newest = await readNewestVersion(db, customerId);
    checkPrecondition(options.ifMatch, newest, now);
    const content = next(newest, now);
    if (!content) return null;
    const written = await insertNextVersion(db, customerId, newest, content);
    if (written) return written;
    if (options.ifMatch !== undefined) {
      const winner = await readNewestVersion(db, customerId);
      throw new VersionConflictError(options.ifMatch, isLive(winner, clock()) ? winner.version : null);
    }
    await retryPause(attempt);
  }
  throw new ConflictError('CART_BUSY', 'The cart is being changed by other requests; retry shortly.');
}

const expiry = (now: Date, options: CartWriteOptions) => new Date(now.getTime() + (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000);

/**
 * Replaces the customer's cart (items and note; an absent note removes the old one) and returns it with
 * its new version. With If-Match, a stale version — or a cart that does not exist — is 412
 * VERSION_CONFLICT and nothing is written; of any number of writers with the same If-Match exactly one wins.
 */
export async function saveCart(db: Db, customerId: number, body: SaveCartBody, options: CartWriteOptions = {}): Promise<Cart> {
  const written = await writeNext(db, customerId, options, (_newest, now) => ({
    items: body.items.map(copyItem),
    ...(body.note === undefined ? {} : { note: body.note }),
    deleted: false,
    updatedAt: now,
    expiresAt: expiry(now, options),
  }));
  return toCart(written!);
}

/**
 * Deletes the cart: writes a tombstone version (no items, `deleted`), so that version numbers keep
 * increasing if the customer creates a new cart. Idempotent: a missing, expired or already deleted cart
 * is a no-op (`deleted: false`). With If-Match, a stale version or a missing cart is 412.
 */
export async function deleteCart(db: Db, customerId: number, options: CartWriteOptions = {}): Promise<{ deleted: boolean }> {
  const written = await writeNext(db, customerId, options, (newest, now) =>
    isLive(newest, now) ? { items: [], deleted: true, updatedAt: now, expiresAt: expiry(now, options) } : null,
  );
  return { deleted: written !== null };
}

/**
 * Removes cart versions that expired more than the retention period ago, for servers without TTL deletion
 * (FerretDB v1). Returns how many documents it removed (at most `limit`). Not scheduled: docs/carts.md.
 */
export function purgeExpiredCarts(db: Db, options: { limit?: number; now?: () => Date } = {}): Promise<number> {
  return purgeVersions(db, options.now?.() ?? new Date(), options.limit);
}
