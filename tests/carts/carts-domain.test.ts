import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteCart, getCart, purgeExpiredCarts, saveCart } from '../../shared/carts/carts.js';
import {
  CART_RETENTION_MS,
  CARTS_COLLECTION,
  type CartVersion,
  ensureCartIndexes,
  readNewestVersion,
  TTL_INDEX_NAME,
} from '../../shared/carts/store.js';
import { resetCarts, testMongo } from './helpers.js';

/** The domain functions against the real Mongo-protocol server (FerretDB natively, mongo:7 with compose). */
const { client, db } = testMongo();
const carts = db.collection<CartVersion>(CARTS_COLLECTION);
/** Every stored version of one customer's cart, oldest first. */
const versionsOf = (customerId: number) => carts.find({ customerId }).sort({ _id: 1 }).toArray();

beforeAll(async () => {
  await resetCarts(db);
});

afterAll(async () => {
  await client.close();
});

const line = (productId: number, quantity = 1, attributes?: Record<string, unknown>) => ({
  productId,
  quantity,
  ...(attributes ? { attributes: attributes as never } : {}),
});

describe('saveCart / getCart', () => {
  it('round-trips a cart with free-form attributes, note, version and expiry', async () => {
    const attributes = { size: 'M', giftWrap: true, engraving: { text: 'Ada', font: ['serif', 12] }, rating: null, n: -2.5 };
    const before = Date.now();
    const saved = await saveCart(db, 101, { items: [line(7, 2, attributes), line(8, 1)], note: 'leave at the door' });
    expect(saved).toEqual({
      customerId: 101,
      items: [
        { productId: 7, quantity: 2, attributes },
        { productId: 8, quantity: 1 },
      ],
      note: 'leave at the door',
      updatedAt: expect.any(String),
      expiresAt: expect.any(String),
      version: 1,
    });
    const ttlMs = Date.parse(saved.expiresAt) - Date.parse(saved.updatedAt);
    expect(ttlMs).toBe(7 * 24 * 3600 * 1000);
    expect(Date.parse(saved.updatedAt)).toBeGreaterThanOrEqual(before - 5);
    expect(await getCart(db, 101)).toEqual(saved);

    const stored = await readNewestVersion(db, 101);
    expect(stored).toMatchObject({ customerId: 101, version: 1, deleted: false });
    expect(stored!.expiresAt).toBeInstanceOf(Date); // a BSON date, which is what a TTL index needs
  });

  it('replaces the whole cart: items, attributes and note are not merged', async () => {
    await saveCart(db, 102, { items: [line(1, 1, { colour: 'red', size: 'S' }), line(2, 2)], note: 'first' });
    const second = await saveCart(db, 102, { items: [line(1, 3, { size: 'L' })] });
    expect(second.items).toEqual([{ productId: 1, quantity: 3, attributes: { size: 'L' } }]);
    expect(second).not.toHaveProperty('note');
    expect(second.version).toBe(2);
    const emptied = await saveCart(db, 102, { items: [] });
    expect(emptied).toMatchObject({ items: [], version: 3 });
    expect(await getCart(db, 102)).toEqual(emptied);
  });

  it('404 CART_NOT_FOUND for a customer without a cart', async () => {
    await expect(getCart(db, 999_001)).rejects.toMatchObject({ status: 404, code: 'CART_NOT_FOUND' });
  });
});

describe('optimistic concurrency (If-Match)', () => {
  it('a current version is accepted, a stale one is 412 VERSION_CONFLICT and writes nothing', async () => {
    const v1 = await saveCart(db, 201, { items: [line(1)] });
    const v2 = await saveCart(db, 201, { items: [line(2)] }, { ifMatch: v1.version });
    expect(v2.version).toBe(2);
    const before = await versionsOf(201);
    await expect(saveCart(db, 201, { items: [line(3)] }, { ifMatch: 1 })).rejects.toMatchObject({
      status: 412,
      code: 'VERSION_CONFLICT',
      details: { expected: 1, current: 2 },
    });
    await expect(saveCart(db, 201, { items: [line(3)] }, { ifMatch: 99 })).rejects.toMatchObject({ status: 412 });
    expect(await versionsOf(201)).toEqual(before);
  });

  it('If-Match on a cart that does not exist is 412 and creates nothing; If-Match: * needs an existing cart', async () => {
    await expect(saveCart(db, 202, { items: [line(1)] }, { ifMatch: 1 })).rejects.toMatchObject({
      status: 412,
      details: { current: null },
    });
    await expect(saveCart(db, 202, { items: [line(1)] }, { ifMatch: '*' })).rejects.toMatchObject({ status: 412 });
    expect(await readNewestVersion(db, 202)).toBeNull();
    await saveCart(db, 202, { items: [line(1)] });
    expect((await saveCart(db, 202, { items: [line(2)] }, { ifMatch: '*' })).version).toBe(2);
  });

  it('two concurrent writers with the same If-Match: exactly one wins, every time', async () => {
    const rounds = 25;
    for (let round = 0; round < rounds; round++) {
      const current = await saveCart(db, 203, { items: [line(1, 1, { round })] });
      const results = await Promise.allSettled(
        ['a', 'b'].map((writer) => saveCart(db, 203, { items: [line(2, 1, { writer })] }, { ifMatch: current.version })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ status: 412, code: 'VERSION_CONFLICT' });
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof saveCart>>>).value;
      // What is stored is exactly the winner's cart, at the winner's version.
      expect(await getCart(db, 203)).toEqual(winner);
      expect(winner.version).toBeGreaterThan(current.version);
    }
  });

  it('eight concurrent writers with the same If-Match: still exactly one wins', async () => {
    const current = await saveCart(db, 204, { items: [line(1)] });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => saveCart(db, 204, { items: [line(10 + i)] }, { ifMatch: current.version })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason.code === 'VERSION_CONFLICT')).toHaveLength(7);
  });

  it('concurrent unconditional writers all succeed, each with its own version (no lost increments)', async () => {
    const start = await saveCart(db, 205, { items: [] });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => saveCart(db, 205, { items: [line(i + 1)] })));
    const versions = results.map((cart) => cart.version);
    expect(new Set(versions).size).toBe(12);
    const final = await getCart(db, 205);
    expect(final.version).toBe(start.version + 12);
    expect(final).toEqual(results.find((cart) => cart.version === final.version));
  });

  it('concurrent writers with If-Match: * on a live cart all succeed, each with its own version (* asks only that it exists)', async () => {
    const start = await saveCart(db, 215, { items: [] });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => saveCart(db, 215, { items: [line(i + 1)] }, { ifMatch: '*' })),
    );
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message)).toEqual([]);
    const versions = results.map((r) => (r as PromiseFulfilledResult<{ version: number }>).value.version);
    expect(new Set(versions).size).toBe(8);
    expect((await getCart(db, 215)).version).toBe(start.version + 8);
  });

  it('If-None-Match: * creates the cart only where there is none: a live cart is 412, an expired or deleted one is not', async () => {
    const created = await saveCart(db, 216, { items: [line(1)] }, { ifNoneMatch: '*' });
    expect(created.version).toBe(1);
    await expect(saveCart(db, 216, { items: [line(2)] }, { ifNoneMatch: '*' })).rejects.toMatchObject({
      status: 412,
      code: 'VERSION_CONFLICT',
      details: { expected: 'none', current: 1 },
    });
    expect((await getCart(db, 216)).items).toEqual([line(1)]);
    await deleteCart(db, 216);
    expect((await saveCart(db, 216, { items: [line(3)] }, { ifNoneMatch: '*' })).version).toBe(3);
  });

  it('concurrent creators with If-None-Match: * — exactly one creates the cart, the others are told it exists', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => saveCart(db, 217, { items: [line(i + 1)] }, { ifNoneMatch: '*' })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason.code === 'VERSION_CONFLICT')).toHaveLength(5);
    expect(await getCart(db, 217)).toEqual((won[0] as PromiseFulfilledResult<unknown>).value);
  });

  it('concurrent first writes of a new cart create one document, versions 1..n', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => saveCart(db, 206, { items: [line(i + 1)] })));
    expect(results.map((cart) => cart.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // One cart (a single chain of versions), not several created side by side.
    const stored = await versionsOf(206);
    expect(stored.map((doc) => doc.version)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('an If-Match write over the version just read is the next version', async () => {
    const current = await saveCart(db, 207, { items: [line(1)] });
    // A writer that dies after reading (or after any of its store calls) is in cart-writes.test.ts.
    const next = await saveCart(db, 207, { items: [line(2)] }, { ifMatch: current.version });
    expect(next.version).toBe(current.version + 1);
  });
});

describe('deleteCart', () => {
  it('deletes (404 afterwards), is idempotent, and versions keep increasing after re-creation', async () => {
    const saved = await saveCart(db, 301, { items: [line(1)] });
    expect(await deleteCart(db, 301)).toEqual({ deleted: true });
    await expect(getCart(db, 301)).rejects.toMatchObject({ code: 'CART_NOT_FOUND' });
    expect(await deleteCart(db, 301)).toEqual({ deleted: false });
    expect(await deleteCart(db, 999_002)).toEqual({ deleted: false });
    // A client still holding version 1 cannot match the new cart.
    const recreated = await saveCart(db, 301, { items: [line(2)] });
    expect(recreated.version).toBeGreaterThan(saved.version + 1);
    await expect(saveCart(db, 301, { items: [line(3)] }, { ifMatch: saved.version })).rejects.toMatchObject({ status: 412 });
  });

  it('honours If-Match: stale ⇒ 412 and the cart stays; missing ⇒ 412', async () => {
    const saved = await saveCart(db, 302, { items: [line(1)] });
    await saveCart(db, 302, { items: [line(2)] });
    await expect(deleteCart(db, 302, { ifMatch: saved.version })).rejects.toMatchObject({ status: 412 });
    expect((await getCart(db, 302)).items).toEqual([line(2)]);
    await expect(deleteCart(db, 999_003, { ifMatch: 1 })).rejects.toMatchObject({ status: 412 });
  });
});

describe('expiry', () => {
  it('an expired cart is never returned, cannot be matched, and a new save starts it afresh', async () => {
    const saved = await saveCart(db, 401, { items: [line(1)], note: 'old' }, { ttlSeconds: 1 });
    expect(Date.parse(saved.expiresAt) - Date.parse(saved.updatedAt)).toBe(1000);
    // The functions' clock (`now`), so that a stall of this machine cannot expire the cart early.
    const at = (ms: number) => () => new Date(Date.parse(saved.updatedAt) + ms);
    expect((await getCart(db, 401, { now: at(999) })).version).toBe(saved.version);
    await expect(getCart(db, 401, { now: at(1_000) })).rejects.toMatchObject({ status: 404, code: 'CART_NOT_FOUND' });
    await expect(saveCart(db, 401, { items: [] }, { ifMatch: saved.version, now: at(1_100) })).rejects.toMatchObject({ status: 412 });
    expect(await deleteCart(db, 401, { now: at(1_100) })).toEqual({ deleted: false });
    const fresh = await saveCart(db, 401, { items: [line(2)] }, { now: at(1_100) });
    expect(fresh.items).toEqual([line(2)]);
    expect(fresh).not.toHaveProperty('note');
    expect(await getCart(db, 401, { now: at(1_100) })).toEqual(fresh);
  });

  it('a shorter CART_TTL_SECONDS never brings a deleted cart back: no version is purged before the one it replaced', async () => {
    const saved = await saveCart(db, 405, { items: [line(1)] }, { ttlSeconds: 90 * 86_400 });
    // The TTL is lowered, then the cart deleted: the tombstone expires long before the version it replaced.
    expect(await deleteCart(db, 405, { ttlSeconds: 1 })).toEqual({ deleted: true });
    const later = new Date(Date.now() + CART_RETENTION_MS + 86_400_000);
    await purgeExpiredCarts(db, { now: () => later });
    await expect(getCart(db, 405, { now: () => later })).rejects.toMatchObject({ status: 404 });
    const served = { version: saved.version, expiresAt: new Date(saved.expiresAt) };
    await expect(saveCart(db, 405, { items: [] }, { ifMatch: served, now: () => later })).rejects.toMatchObject({ status: 412 });
  });

  it('every write moves expiresAt forward (inactivity, not age)', async () => {
    const first = await saveCart(db, 402, { items: [] }, { ttlSeconds: 60, now: () => new Date(Date.now() - 30_000) });
    const second = await saveCart(db, 402, { items: [] }, { ttlSeconds: 60 });
    expect(Date.parse(second.expiresAt) - Date.parse(first.expiresAt)).toBeGreaterThanOrEqual(29_000);
  });

  it('the TTL index exists exactly where the server supports it, and purgeExpiredCarts covers the rest', async () => {
    const status = await ensureCartIndexes(db);
    const indexes = await carts.indexes();
    const ttl = indexes.find((index) => index.name === TTL_INDEX_NAME);
    if (status.status === 'ttl') {
      expect(ttl).toMatchObject({ key: { purgeAt: 1 }, expireAfterSeconds: 0 });
    } else {
      // FerretDB v1.24: createIndexes with expireAfterSeconds is "NotImplemented" (see docs/carts.md); the
      // same index without it serves purgeExpiredCarts.
      expect(status.status).toBe('plain');
      expect(ttl).toMatchObject({ key: { purgeAt: 1 } });
      expect(ttl).not.toHaveProperty('expireAfterSeconds');
    }
    await saveCart(db, 403, { items: [line(1)] }, { ttlSeconds: 1 });
    await saveCart(db, 404, { items: [line(1)] });
    // Expired versions stay stored for the retention period (so that version numbers are not reused).
    expect(await purgeExpiredCarts(db)).toBe(0);
    expect(await purgeExpiredCarts(db, { now: () => new Date(Date.now() + CART_RETENTION_MS + 2_000) })).toBeGreaterThanOrEqual(1);
    expect(await readNewestVersion(db, 403)).toBeNull();
    expect(await getCart(db, 404)).toMatchObject({ customerId: 404 });
    // A purged cart can be created again from scratch.
    expect((await saveCart(db, 403, { items: [] })).version).toBe(1);
  });
});
