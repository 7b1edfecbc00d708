import type { Db } from 'mongodb';
import { AppError, NotFoundError } from '../errors.js';
import type { CartItem, IfMatch, SaveCartBody } from './schemas.js';
import {
  CART_OP_MAX_TIME_MS,
  cartEpoch,
  cartsCollection,
  cartStoreCall,
  claimsCollection,
  DEFAULT_CART_TTL_SECONDS,
  ensureCartIndexes,
  isLive,
  liveCartFilter,
  type CartDocument,
} from './store.js';
import { claimId, CLAIM_RETENTION_MS, isDuplicateKey, mutateCart, type CartState } from './versioning.js';

/**
 * Carts on the MongoDB wire protocol (MongoDB, Atlas or FerretDB): one document per customer, replaced
 * as a whole on every save, versioned for optimistic concurrency, expiring after a period of inactivity.
 * Contract and decisions: docs/carts.md. Inputs are validated by schemas.ts before they get here; no
 * client value is ever used as a query filter except the integer customer id and version.
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

function copyItem(item: CartItem): CartItem {
  return {
    productId: item.productId,
    quantity: item.quantity,
    ...(item.attributes === undefined ? {} : { attributes: item.attributes }),
  };
}

export function toCart(doc: CartDocument): Cart {
  return {
    customerId: doc._id,
    items: doc.items.map(copyItem),
    ...(doc.note === undefined ? {} : { note: doc.note }),
    updatedAt: doc.updatedAt.toISOString(),
    expiresAt: doc.expiresAt.toISOString(),
    version: doc.version,
  };
}

function checkPrecondition(ifMatch: IfMatch | undefined, current: CartDocument | null, now: Date): void {
  if (ifMatch === undefined) return;
  if (!isLive(current, now)) throw new VersionConflictError(ifMatch, null);
  if (ifMatch !== '*' && current.version !== ifMatch) throw new VersionConflictError(ifMatch, current.version);
}

const conflictFor = (ifMatch: IfMatch | undefined) => (current: CartDocument | null) =>
  new VersionConflictError(ifMatch ?? '*', current?.version ?? null);

/** The live cart, or 404 CART_NOT_FOUND (also when it expired or was deleted). One round trip. */
export async function getCart(db: Db, customerId: number, options: CartReadOptions = {}): Promise<Cart> {
  const now = options.now?.() ?? new Date();
  const doc = await cartStoreCall(() =>
    cartsCollection(db).findOne(liveCartFilter(customerId, now), {
      projection: { lastCheckout: 0 },
      maxTimeMS: CART_OP_MAX_TIME_MS,
    }),
  );
  if (!doc) throw new NotFoundError('CART_NOT_FOUND', `Customer ${customerId} has no cart.`, { customerId });
  return toCart(doc);
}

/**
 * Replaces the customer's cart (items and note; an absent note removes the old one) and returns it with
 * its new version. With If-Match, a stale version — or a cart that does not exist — is 412
 * VERSION_CONFLICT and nothing is written; of two writers with the same If-Match exactly one wins.
 */
export async function saveCart(db: Db, customerId: number, body: SaveCartBody, options: CartWriteOptions = {}): Promise<Cart> {
  await ensureCartIndexes(db);
  const ttlMs = (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000;
  const { doc } = await cartStoreCall(() => mutateCart(
    db,
    customerId,
    (current, now) => {
      checkPrecondition(options.ifMatch, current, now);
      const next: CartState = {
        items: body.items.map(copyItem),
        ...(body.note === undefined ? {} : { note: body.note }),
        deleted: false,
        updatedAt: now,
        expiresAt: new Date(now.getTime() + ttlMs),
        // Kept so that a late retry of the last checkout still replays its order (checkout.ts).
        ...(current?.lastCheckout ? { lastCheckout: current.lastCheckout } : {}),
      };
      return { write: true, next };
    },
    { conditional: options.ifMatch !== undefined, conflict: conflictFor(options.ifMatch), ...(options.now ? { now: options.now } : {}) },
  ));
  return toCart(doc!);
}

/**
 * Deletes the cart: leaves a tombstone (no items, `deleted`), so versions keep increasing if the customer
 * creates a new cart. Idempotent: a missing, expired or already deleted cart is a no-op (`deleted:
 * false`). With If-Match, a stale version or a missing cart is 412.
 */
export async function deleteCart(
  db: Db,
  customerId: number,
  options: CartWriteOptions = {},
): Promise<{ deleted: boolean }> {
  await ensureCartIndexes(db);
  const ttlMs = (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000;
  const { written } = await cartStoreCall(() => mutateCart(
    db,
    customerId,
    (current, now) => {
      checkPrecondition(options.ifMatch, current, now);
      if (!isLive(current, now)) return { write: false, result: current };
      return {
        write: true,
        next: {
          items: [],
          deleted: true,
          updatedAt: now,
          expiresAt: new Date(now.getTime() + ttlMs),
          ...(current.lastCheckout ? { lastCheckout: current.lastCheckout } : {}),
        },
      };
    },
    { conditional: options.ifMatch !== undefined, conflict: conflictFor(options.ifMatch), ...(options.now ? { now: options.now } : {}) },
  ));
  return { deleted: written };
}

/**
 * Physically removes expired carts and expired claims, for servers without TTL deletion (FerretDB v1).
 * Each cart is removed under a version claim, so a concurrent save that revives it wins or waits.
 * Returns how many carts it removed (at most `limit`). Not scheduled by default: docs/carts.md.
 */
export async function purgeExpiredCarts(db: Db, options: { limit?: number; now?: () => Date } = {}): Promise<number> {
  const now = options.now?.() ?? new Date();
  const carts = cartsCollection(db);
  const claims = claimsCollection(db);
  const expired = await carts
    .find(
      { expiresAt: { $lte: now } },
      { projection: { _id: 1, version: 1, createdAt: 1 }, limit: options.limit ?? 500, maxTimeMS: CART_OP_MAX_TIME_MS },
    )
    .toArray();
  let removed = 0;
  for (const doc of expired) {
    const { _id, version } = doc;
    const claim = claimId(_id, cartEpoch(doc), version + 1);
    try {
      const createdAt = new Date();
      await claims.insertOne({ _id: claim, createdAt, expiresAt: new Date(createdAt.getTime() + CLAIM_RETENTION_MS) });
    } catch (error) {
      if (isDuplicateKey(error)) continue; // someone is writing this cart right now
      throw error;
    }
    const result = await carts.deleteOne({ _id, version, expiresAt: { $lte: now } });
    removed += result.deletedCount;
  }
  await claims.deleteMany({ expiresAt: { $lte: now } });
  return removed;
}
