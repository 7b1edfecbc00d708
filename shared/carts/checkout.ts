import type { Db } from 'mongodb';
import type { Sql } from '../clients/postgres.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { describeError, logger } from '../logger.js';
import { CheckoutKeyTakenError, createOrder, type Order } from '../orders/create-order.js';
import { CART_ORDER_KEY_PREFIX } from '../orders/rules.js';
import { CreateOrderBodySchema } from '../orders/schemas.js';
import { matches, VersionConflictError } from './carts.js';
import { DEFAULT_CART_TTL_SECONDS } from './rules.js';
import type { IfMatch } from './schemas.js';
import { type CartVersion, ensureCartIndexes, insertNextVersion, isLive, readNewestVersion } from './store.js';

/**
 * POST /carts/{customerId}/checkout: the cart becomes an order through createOrder — the very code behind
 * POST /orders, so the same stock rules, errors and idempotency — and is then emptied.
 *
 * Two keys make every retry safe (docs/carts.md):
 * - the order key, `cart:<written at>:<version>`, derived from the cart version: one cart version can only ever
 *   become one order, whatever the client sends, so a retry after a crash between the order and emptying
 *   the cart replays that order, with or without an Idempotency-Key;
 * - the client's Idempotency-Key, recorded in Postgres (checkout_keys) in the order's own transaction: it
 *   maps to that order for its whole lifetime (the order key's: at least 24 h, as long as the cart version
 *   could be checked out), whatever happens to the cart afterwards. A key
 *   already known is answered from Postgres before the cart is even read.
 *
 * Order of effects: (1) a known key → replay; (2) read the cart (MongoDB down ⇒ 503 before any order);
 * (3) createOrder under the order key, recording the client's key; (4) recordSale for a new order, as
 * POST /orders does; (5) empty the ordered version. A checkout that placed its order either leaves the
 * cart emptied or says it did not (`cartEmptied: false`: the cart changed meanwhile, or the store failed).
 */
export interface CheckoutDeps {
  db: Db;
  sql: Sql;
  /** Called once for a newly placed order (not for replays). Must not throw; errors are logged. */
  onNewOrder?: (order: Order) => Promise<void>;
  /** Milliseconds left before the caller stops waiting: createOrder starts no retry that could outlast it. */
  timeLeftMs?: () => number;
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
  /**
   * True when the ordered cart version is no longer the cart's content (emptied now or earlier); false
   * when it could not be emptied: the cart changed during the checkout (the change stands) or the store
   * failed after the order was placed (a retry replays the order and empties the cart).
   */
  cartEmptied: boolean;
}

/**
 * The order key for one version of one cart (≤ 128 visible ASCII characters, as createOrder requires).
 * The version alone is not enough: numbering starts over once every version of a cart has been purged,
 * and a version number written again is written at another time.
 */
export function cartOrderKey(doc: Pick<CartVersion, 'updatedAt' | 'version'>): string {
  return `${CART_ORDER_KEY_PREFIX}${doc.updatedAt.getTime()}:${doc.version}`;
}

/**
 * The order key lives as long as the cart version it names can still be checked out (and at least as long
 * as any key): a version whose emptying failed after its order may sit in the cart for days, and must
 * replay that order, not become a second one, until it expires.
 */
function orderKeyTtlSeconds(doc: Pick<CartVersion, 'expiresAt'>, now: Date): number {
  return Math.ceil((doc.expiresAt.getTime() - now.getTime()) / 1000) + ORDER_KEY_CLOCK_MARGIN_SECONDS;
}

/** Room for the clocks of this process (cart expiry) and of PostgreSQL (key expiry) to disagree. */
const ORDER_KEY_CLOCK_MARGIN_SECONDS = 5 * 60;

function orderLines(customerId: number, doc: CartVersion) {
  const lines = doc.items.map(({ productId, quantity }) => ({ productId, quantity }));
  // The POST /orders body rules apply to a checkout too: same code, same limits (a cart holds no more).
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

interface CheckoutKeyOwner {
  customerId: number;
  cartKey: string;
  response: Order;
}

async function findCheckoutKey(sql: Sql, key: string): Promise<CheckoutKeyOwner | undefined> {
  const [row] = await sql<CheckoutKeyOwner[]>`
    select customer_id as "customerId", cart_key as "cartKey", response from checkout_keys
    where idempotency_key = ${key} and expires_at > now()`;
  return row;
}

export async function checkoutCart(deps: CheckoutDeps, customerId: number, options: CheckoutOptions = {}): Promise<CheckoutResult> {
  const clock = options.now ?? (() => new Date());
  const key = options.idempotencyKey;
  const ttlMs = (options.ttlSeconds ?? DEFAULT_CART_TTL_SECONDS) * 1000;
  if (key !== undefined) {
    const owner = await findCheckoutKey(deps.sql, key);
    if (owner) return replay(deps, customerId, key, owner, ttlMs, clock);
  }

  const doc = await readNewestVersion(deps.db, customerId);
  if (!isLive(doc, clock())) {
    if (options.ifMatch !== undefined) throw new VersionConflictError(options.ifMatch, null);
    throw new NotFoundError('CART_NOT_FOUND', `Customer ${customerId} has no cart.`, { customerId });
  }
  if (options.ifMatch !== undefined && !matches(options.ifMatch, doc)) {
    throw new VersionConflictError(options.ifMatch, doc.version);
  }
  if (doc.items.length === 0) {
    throw new ConflictError('CART_EMPTY', 'The cart has no items to order.', { customerId, version: doc.version });
  }
  const items = orderLines(customerId, doc);
  // Emptying the cart below is a write: make sure the indexes exist before the first one.
  await ensureCartIndexes(deps.db);

  const orderKey = cartOrderKey(doc);
  let placed: Awaited<ReturnType<typeof createOrder>>;
  try {
    placed = await createOrder(
      deps.sql,
      { customerId, items },
      {
        idempotencyKey: orderKey,
        keyTtlSeconds: orderKeyTtlSeconds(doc, clock()),
        ...(key === undefined ? {} : { checkoutKey: key }),
        ...(deps.timeLeftMs ? { timeLeftMs: deps.timeLeftMs } : {}),
      },
    );
  } catch (error) {
    // Another request with the same key committed its checkout while this one was on its way.
    if (!(error instanceof CheckoutKeyTakenError)) throw error;
    const owner = await findCheckoutKey(deps.sql, error.checkoutKey);
    if (!owner) throw new ConflictError('CHECKOUT_IN_PROGRESS', 'A checkout with this Idempotency-Key is in progress; retry shortly.');
    return replay(deps, customerId, error.checkoutKey, owner, ttlMs, clock);
  }
  const { order, replayed } = placed;
  if (!replayed && deps.onNewOrder) {
    try {
      await deps.onNewOrder(order);
    } catch (error) {
      logger.warn('post-order notification failed', { orderId: order.orderId, error: describeError(error) });
    }
  }
  const cartEmptied = await emptyOrderedVersion(deps.db, doc, orderKey, order, ttlMs, clock);
  return { order, replayed, cartEmptied };
}

/**
 * The answer to a checkout key already recorded: its order, replayed — for the customer it belongs to.
 * If the cart still holds the version that was ordered (the first attempt failed after the order), it is
 * emptied now.
 */
async function replay(
  deps: CheckoutDeps,
  customerId: number,
  key: string,
  owner: CheckoutKeyOwner,
  ttlMs: number,
  clock: () => Date,
): Promise<CheckoutResult> {
  if (owner.customerId !== customerId) {
    throw new AppError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for another checkout; use a new key for a new checkout.',
      { idempotencyKey: key },
    );
  }
  const newest = await readNewestVersion(deps.db, customerId).catch((error: unknown) => {
    // The answer is the order, which PostgreSQL holds: a cart store that is down only leaves the cart as it is.
    logger.error('checkout replayed but the cart could not be read', {
      customerId,
      orderId: owner.response.orderId,
      error: describeError(error),
    });
    return false as const;
  });
  if (newest === false) return { order: owner.response, replayed: true, cartEmptied: false };
  const stillFull = isLive(newest, clock()) && cartOrderKey(newest) === owner.cartKey && newest.items.length > 0;
  const cartEmptied = stillFull ? await emptyOrderedVersion(deps.db, newest, owner.cartKey, owner.response, ttlMs, clock) : true;
  return { order: owner.response, replayed: true, cartEmptied };
}

/**
 * Writes the empty version after the ordered one: one insert, since the base is known (a compare-and-set:
 * it fails if the cart changed after it was read). Never throws: the order has committed, the caller
 * answers 201 either way and says whether the cart was emptied.
 */
async function emptyOrderedVersion(
  db: Db,
  ordered: CartVersion,
  orderKey: string,
  order: Order,
  ttlMs: number,
  clock: () => Date,
): Promise<boolean> {
  const now = clock();
  try {
    const written = await insertNextVersion(db, ordered.customerId, ordered, {
      items: [],
      deleted: false,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
      orderedAs: orderKey,
    });
    if (written) return true;
    // Emptied by a concurrent checkout of the same version? Then all is as it should be.
    const newest = await readNewestVersion(db, ordered.customerId);
    if (newest?.orderedAs === orderKey) return true;
    logger.info('cart changed during checkout; the change stands', { customerId: ordered.customerId, orderId: order.orderId });
    return false;
  } catch (error) {
    logger.error('order placed but the cart could not be emptied', {
      customerId: ordered.customerId,
      orderId: order.orderId,
      error: describeError(error),
    });
    return false;
  }
}
