import type { Db } from 'mongodb';
import type { Sql } from '../clients/postgres.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { createOrder, type Order } from '../orders/create-order.js';
import { CreateOrderBodySchema } from '../orders/schemas.js';
import { VersionConflictError } from './carts.js';
import type { IfMatch } from './schemas.js';
import {
  CART_OP_MAX_TIME_MS,
  cartEpoch,
  cartsCollection,
  cartStoreCall,
  DEFAULT_CART_TTL_SECONDS,
  ensureCartIndexes,
  isLive,
  type CartDocument,
} from './store.js';
import { mutateCart } from './versioning.js';

/**
 * POST /carts/{customerId}/checkout: the cart becomes an order through createOrder — the very code behind
 * POST /orders, so the same stock rules, errors and idempotency — and is then emptied.
 *
 * Order of effects and the crash window (docs/carts.md):
 * 1. read the cart (MongoDB down ⇒ 503 here, before any order exists);
 * 2. createOrder under a key derived from the cart's state, `cart:<epoch>:<version>`: one cart version can
 *    only ever become one order, whatever the client sends or how often it retries;
 * 3. notify (recordSale) for a new order, as POST /orders does;
 * 4. empty the cart (items cleared, version bumped) and remember the order in `lastCheckout`.
 * A crash between 2 and 4 leaves the cart full at the same version: any retry — same key, another key or
 * none — derives the same order key and gets the committed order replayed, then empties the cart.
 * After 4, a retry with the same Idempotency-Key is answered from `lastCheckout` (replayed).
 */
export interface CheckoutDeps {
  db: Db;
  sql: Sql;
  /** Called once for a newly placed order (not for replays). Must not throw; errors are logged. */
  onNewOrder?: (order: Order) => Promise<void>;
}

export interface CheckoutOptions {
  idempotencyKey?: string;
  /** Checkout only this version of the cart (412 otherwise). */
  ifMatch?: IfMatch;
  ttlSeconds?: number;
  now?: () => Date;
}

export interface CheckoutResult {
  order: Order;
  replayed: boolean;
  /** False when the order stands but the cart could not be emptied (logged; a retry replays). */
  cartEmptied: boolean;
}

/** The order key for one state of one cart (≤ 128 visible ASCII characters, as createOrder requires). */
export function cartOrderKey(doc: CartDocument): string {
  return `cart:${cartEpoch(doc)}:${doc.version}`;
}

function orderLines(customerId: number, doc: CartDocument) {
  const lines = doc.items.map(({ productId, quantity }) => ({ productId, quantity }));
  // The POST /orders body rules (at most 50 lines, …) apply to a checkout too: same code, same limits.
  const parsed = CreateOrderBodySchema.safeParse({ customerId, items: lines });
  if (!parsed.success) {
    throw new AppError(
      422,
      'CART_NOT_ORDERABLE',
      'This cart cannot be ordered as it is; change it and retry.',
      parsed.error.issues.map((issue) => ({ field: ['cart', ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  }
  return parsed.data.items;
}

export async function checkoutCart(deps: CheckoutDeps, customerId: number, options: CheckoutOptions = {}): Promise<CheckoutResult> {
  const clock = options.now ?? (() => new Date());
  const now = clock();
  const doc = await cartStoreCall(() => cartsCollection(deps.db).findOne({ _id: customerId }, { maxTimeMS: CART_OP_MAX_TIME_MS }));

  const last = doc?.lastCheckout;
  if (options.idempotencyKey !== undefined && doc && last && last.idempotencyKey === options.idempotencyKey &&
      doc.expiresAt.getTime() > now.getTime()) {
    return { order: last.order, replayed: true, cartEmptied: true };
  }
  if (!isLive(doc, now)) {
    if (options.ifMatch !== undefined) throw new VersionConflictError(options.ifMatch, null);
    throw new NotFoundError('CART_NOT_FOUND', `Customer ${customerId} has no cart.`, { customerId });
  }
  if (options.ifMatch !== undefined && options.ifMatch !== '*' && options.ifMatch !== doc.version) {
    throw new VersionConflictError(options.ifMatch, doc.version);
  }
  if (doc.items.length === 0) {
    throw new ConflictError('CART_EMPTY', 'The cart has no items to order.', { customerId, version: doc.version });
  }
  const items = orderLines(customerId, doc);
  // Emptying the cart below is a write: make sure the TTL index exists before the first one.
  await ensureCartIndexes(deps.db);

  const orderKey = cartOrderKey(doc);
  const { order, replayed } = await createOrder(deps.sql, { customerId, items }, { idempotencyKey: orderKey });

  if (!replayed && deps.onNewOrder) {
    try {
      await deps.onNewOrder(order);
    } catch (error) {
      logger.warn('post-order notification failed', { orderId: order.orderId, error: String(error) });
    }
  }

  const cartEmptied = await emptyCart(deps.db, doc, {
    idempotencyKey: options.idempotencyKey ?? null,
    orderKey,
    order,
    ttlMs: (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000,
    clock,
  });
  return { order, replayed, cartEmptied };
}

/**
 * Clears the ordered cart version (compare-and-set on that exact version). Never throws: the order has
 * committed, so the caller answers 201 either way. If the cart changed meanwhile (the customer edited it
 * during checkout, or a concurrent checkout of the same version emptied it first), it is left alone.
 */
async function emptyCart(
  db: Db,
  ordered: CartDocument,
  checkout: { idempotencyKey: string | null; orderKey: string; order: Order; ttlMs: number; clock: () => Date },
): Promise<boolean> {
  const sameState = (current: CartDocument | null) =>
    !!current && current.version === ordered.version && cartEpoch(current) === cartEpoch(ordered);
  try {
    await mutateCart(
      db,
      ordered._id,
      (current, now) => {
        if (!sameState(current)) throw new VersionConflictError(ordered.version, current?.version ?? null);
        return {
          write: true,
          next: {
            items: [],
            deleted: false,
            updatedAt: now,
            expiresAt: new Date(now.getTime() + checkout.ttlMs),
            lastCheckout: { idempotencyKey: checkout.idempotencyKey, orderKey: checkout.orderKey, order: checkout.order, at: now },
          },
        };
      },
      { conditional: true, conflict: (current) => new VersionConflictError(ordered.version, current?.version ?? null), now: checkout.clock },
    );
    return true;
  } catch (error) {
    if (error instanceof VersionConflictError) {
      // Emptied by a concurrent checkout of the same version? Then all is as it should be.
      const current = await cartsCollection(db)
        .findOne({ _id: ordered._id }, { projection: { lastCheckout: 1 }, maxTimeMS: CART_OP_MAX_TIME_MS })
        .catch(() => null);
      if (current?.lastCheckout?.orderKey === checkout.orderKey) return true;
      logger.warn('cart changed during checkout; left as it is', { customerId: ordered._id, orderId: checkout.order.orderId });
      return false;
    }
    logger.error('order placed but the cart could not be emptied', {
      customerId: ordered._id,
      orderId: checkout.order.orderId,
      error: error instanceof Error ? error : String(error),
    });
    return false;
  }
}
