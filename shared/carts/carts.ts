import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { DEFAULT_CART_TTL_SECONDS } from './rules.js';
import type { CartItem, IfMatch, SaveCartBody, ServedVersion } from './schemas.js';
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
  /** Optimistic concurrency: the version the client was served (its ETag), a bare version, or '*' (the cart must exist). */
  ifMatch?: IfMatch;
  /** '*': create the cart only where there is none live (If-None-Match: *), so a first write cannot overwrite another. */
  ifNoneMatch?: '*';
  /** Inactivity period; every write sets expiresAt = now + ttlSeconds. */
  ttlSeconds?: number;
  now?: () => Date;
}

export interface CartReadOptions {
  now?: () => Date;
}

/** The version an If-Match names ('*' names none). */
export function namedVersion(ifMatch: IfMatch): number | '*' {
  return typeof ifMatch === 'object' ? ifMatch.version : ifMatch;
}

/**
 * Whether the live cart `doc` satisfies `ifMatch`. A served version names one stored document, its expiry
 * included: once every version of a cart is purged its numbers start again, and an old ETag must not
 * match the new cart's version of the same number.
 */
export function matches(ifMatch: IfMatch, doc: CartVersion): boolean {
  if (typeof ifMatch === 'object') return ifMatch.version === doc.version && ifMatch.expiresAt.getTime() === doc.expiresAt.getTime();
  return ifMatch === '*' || ifMatch === doc.version;
}

export class VersionConflictError extends AppError {
  /** `current`: the cart's version now, or null when there is no live cart. 'none': If-None-Match: * (no cart expected, one is live). */
  constructor(ifMatch: IfMatch | 'none', current: number | null) {
    const expected = ifMatch === 'none' ? 'none' : namedVersion(ifMatch);
    super(
      412,
      'VERSION_CONFLICT',
      expected === 'none'
        ? `A cart already exists (version ${current}); If-None-Match: * only creates one. Reload it and retry.`
        : current === null
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

/** What a writer decides from whether the cart is live: the content of the next version, or null (no write). */
type NextContent = (live: boolean, now: Date) => CartContent | null;

/** The 412 for a write that lost: it names the version that won (read now), or null if no cart is live. */
async function conflict(db: Db, customerId: number, ifMatch: IfMatch, clock: () => Date): Promise<VersionConflictError> {
  const newest = await readNewestVersion(db, customerId);
  return new VersionConflictError(ifMatch, isLive(newest, clock()) ? newest.version : null);
}

/**
 * Writes the next version and returns it (null when `next` decides there is nothing to write). Where the
 * base version comes from decides the cost:
 * - a version the client was served (its ETag): one insert, see writeAfterServed;
 * - otherwise the newest version is read first and checked against a bare version or '*'. A lost
 *   compare-and-set is a 412 naming the version that won when the caller named a version, and a retry from
 *   that version otherwise (last writer wins; with '*', while the cart exists).
 */
async function writeNext(db: Db, customerId: number, options: CartWriteOptions, next: NextContent): Promise<CartVersion | null> {
  await ensureCartIndexes(db);
  const clock = options.now ?? (() => new Date());
  const { ifMatch } = options;
  if (typeof ifMatch === 'object') return writeAfterServed(db, customerId, ifMatch, clock, next);
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const now = clock();
    const newest = await readNewestVersion(db, customerId);
    const live = isLive(newest, now);
    if (ifMatch !== undefined && !(live && matches(ifMatch, newest))) {
      throw new VersionConflictError(ifMatch, live ? newest.version : null);
    }
    // If-None-Match: * — a creator that lost the insert finds, read again here, the cart that won.
    if (options.ifNoneMatch === '*' && live) throw new VersionConflictError('none', newest.version);
    const content = next(live, now);
    if (!content) return null;
    const written = await insertNextVersion(db, customerId, newest ?? { version: 0 }, content);
    if (written) return written;
    // A version names the cart as it was, which has now moved on; '*' asks only that it exists, and
    // If-None-Match only that none does: read again.
    if (ifMatch !== undefined && ifMatch !== '*') throw await conflict(db, customerId, ifMatch, clock);
    await retryPause(attempt);
  }
  throw new ConflictError('CART_BUSY', 'The cart is being changed by other requests; retry shortly.');
}

/**
 * The client names the version it was served and when that version expires. Until then the version is
 * still stored (versions outlive their expiry by CART_RETENTION_MS) and live unless the cart has moved on
 * — and moving on (a save, a delete, a checkout) is inserting the next version. So inserting the next
 * version is the whole compare-and-set: it succeeds exactly when the served version is still the cart.
 * One round trip, on every server. It relies on versions having no gaps, so it is taken only for a version
 * that was served (the ETag's signature, shared/http/headers.ts): a made-up higher version would insert
 * below the newest one, a write nobody would ever read.
 */
async function writeAfterServed(
  db: Db,
  customerId: number,
  served: ServedVersion,
  clock: () => Date,
  next: NextContent,
): Promise<CartVersion | null> {
  const now = clock();
  const content = served.expiresAt.getTime() > now.getTime() ? next(true, now) : null;
  const written = content && (await insertNextVersion(db, customerId, served, content));
  if (written) return written;
  throw await conflict(db, customerId, served, clock);
}

const expiry = (now: Date, options: CartWriteOptions) => new Date(now.getTime() + (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000);

/**
 * Replaces the customer's cart (items and note; an absent note removes the old one) and returns it with
 * its new version. With If-Match, a stale version — or a cart that does not exist — is 412
 * VERSION_CONFLICT and nothing is written; of any number of writers with the same If-Match exactly one wins.
 */
export async function saveCart(db: Db, customerId: number, body: SaveCartBody, options: CartWriteOptions = {}): Promise<Cart> {
  const written = await writeNext(db, customerId, options, (_live, now) => ({
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
  const written = await writeNext(db, customerId, options, (live, now) =>
    live ? { items: [], deleted: true, updatedAt: now, expiresAt: expiry(now, options) } : null,
  );
  return { deleted: written !== null };
}

/**
 * Removes cart versions that expired more than the retention period ago (at most `limit`) and returns how
 * many it removed. Run hourly by the purgeExpired function on every server: on FerretDB v1, which has no TTL
 * index, nothing else removes them (docs/carts.md).
 */
export function purgeExpiredCarts(db: Db, options: { limit?: number; now?: () => Date } = {}): Promise<number> {
  return purgeVersions(db, options.now?.() ?? new Date(), options.limit);
}
