import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cart, deleteCart, getCart, purgeExpiredCarts, saveCart } from '../../shared/carts/carts.js';
import { CARTS_COLLECTION, CUSTOMER_INDEX_NAME } from '../../shared/carts/store.js';
import { resetCarts, testMongo } from './helpers.js';

/** Where the server's TTL monitor looks (MongoDB). */
const TTL_INDEX = { collection: CARTS_COLLECTION, field: 'purgeAt' };

/**
 * What a cart writer leaves behind when it dies, stalls or loses a race — on the real Mongo-protocol
 * server, through the domain functions. The writer's death is injected between its store calls: a `Db`
 * whose collection methods stop answering after the n-th call (a Lambda killed at its timeout, a lost
 * connection), whatever the write protocol is.
 */
const { client, db } = testMongo();
/** The same database through a client that reports every command it sends: a command is a round trip. */
const watched = testMongo({ monitorCommands: true });
const sent: string[] = [];
watched.client.on('commandStarted', (event) => void sent.push(event.commandName));
/** The commands `write` sends, once the container's one-time index creation is behind it. */
async function commandsOf(write: (db: Db) => Promise<unknown>): Promise<string[]> {
  sent.length = 0;
  await write(watched.db);
  return [...sent];
}

beforeAll(async () => {
  await resetCarts(db);
});

afterAll(async () => {
  await Promise.all([client.close(), watched.client.close()]);
});

const line = (productId: number, quantity = 1) => ({ productId, quantity });

/** A Db whose collections run `before(n)` ahead of their n-th method call (1-based) and then the call. */
function instrumented(base: Db, before: (call: number, method: string) => Promise<void>): Db {
  let calls = 0;
  const wrapCollection = (collection: object) =>
    new Proxy(collection, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
        return (...args: unknown[]) => {
          const call = ++calls;
          const run = () => (value as (...a: unknown[]) => unknown).apply(target, args);
          // find() returns a cursor synchronously: its round trip is when it is read.
          if (property === 'find' || property === 'aggregate') {
            const cursor = run() as { toArray: () => Promise<unknown[]>; next: () => Promise<unknown> };
            return new Proxy(cursor, {
              get(t, p, r) {
                const v = Reflect.get(t, p, r);
                if (p === 'toArray' || p === 'next')
                  return async () => {
                    await before(call, `${property}.${p}`);
                    return (v as () => Promise<unknown>).apply(t);
                  };
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
              },
            });
          }
          return before(call, property).then(run);
        };
      },
    });
  return new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'collection')
        return (...args: unknown[]) => wrapCollection((value as (...a: unknown[]) => object).apply(target, args));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

class WriterDied extends Error {}

describe('a writer that dies mid-save', () => {
  it('never blocks the next writers: after dying after any of its store calls, the cart is writable at once, with or without If-Match', async () => {
    for (let survivedCalls = 0; survivedCalls <= 4; survivedCalls++) {
      const customerId = 700 + survivedCalls;
      const current = await saveCart(db, customerId, { items: [line(1)] });
      const dying = instrumented(db, async (call) => {
        if (call > survivedCalls) throw new WriterDied(`died before store call ${call}`);
      });
      await saveCart(dying, customerId, { items: [line(99)] }, { ifMatch: current.version }).catch((error: unknown) => {
        if (!(error instanceof WriterDied)) throw error;
      });

      const seen = await getCart(db, customerId);
      const started = performance.now();
      const conditional = await saveCart(db, customerId, { items: [line(2)] }, { ifMatch: seen.version });
      const unconditional = await saveCart(db, customerId, { items: [line(3)] });
      const ms = performance.now() - started;
      expect([survivedCalls, conditional.version, unconditional.version]).toEqual([survivedCalls, seen.version + 1, seen.version + 2]);
      expect(ms, `two writes after a writer died after ${survivedCalls} store calls`).toBeLessThan(5_000);
      expect((await getCart(db, customerId)).items).toEqual([line(3)]);
    }
  });
});

describe('every 409/412 tells the truth', () => {
  it('a lost If-Match race says which version the cart is at now, never the version it expected', async () => {
    for (let round = 0; round < 15; round++) {
      const customerId = 720 + round;
      const current = await saveCart(db, customerId, { items: [line(1)] });
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => saveCart(db, customerId, { items: [line(10 + i)] }, { ifMatch: current.version })),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<Cart> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        const { status, code, details, message } = lost.reason as {
          status: number;
          code: string;
          details: { expected: unknown; current: unknown };
          message: string;
        };
        expect([status, code]).toEqual([412, 'VERSION_CONFLICT']);
        expect(details.expected).toBe(current.version);
        expect(details.current, message).not.toBe(details.expected);
        expect(details.current).toBeGreaterThanOrEqual(won[0]!.value.version);
        expect(message).toContain(String(details.current));
      }
    }
  });
});

describe('a write bound to the cart it read', () => {
  it.each([
    [
      'an If-Match write stalled across the cart expiring, the purge running and the cart created again is refused, not applied to the new cart',
      750,
      async (now: Date) => purgeExpiredCarts(db, { now: () => now }),
    ],
    [
      'the same when the server’s TTL monitor runs (MongoDB) instead of the purge',
      751,
      // What MongoDB's TTL monitor removes once the TTL field has passed (FerretDB has no TTL monitor).
      async (now: Date) => (await db.collection(TTL_INDEX.collection).deleteMany({ [TTL_INDEX.field]: { $lte: now } })).deletedCount,
    ],
  ])('%s', async (_name, customerId, removeExpired) => {
    // The clock is the writers' own (`now`): the stall spans the cart's expiry without waiting for it, and a
    // slow machine cannot expire the cart before the stalled writer has read it.
    const start = Date.now();
    const later = new Date(start + 1_100);
    const old = await saveCart(db, customerId, { items: [line(1)] }, { ttlSeconds: 1, now: () => new Date(start) });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let stalled!: () => void;
    const reachedStall = new Promise<void>((resolve) => (stalled = resolve));
    // The writer reads the cart, then stalls before its next store call.
    const slow = instrumented(db, async (call) => {
      if (call === 2) {
        stalled();
        await gate;
      }
    });
    const stale = saveCart(slow, customerId, { items: [line(66)] }, { ifMatch: old.version, now: () => new Date(start + 500) }).then(
      (cart) => ({ ok: true as const, cart }),
      (error: { status?: number }) => ({ ok: false as const, status: error.status }),
    );
    await reachedStall;
    // The expired version outlives its expiry by CART_RETENTION_MS, far longer than any writer can stall
    // (a Lambda runs 15 minutes at most): it is not removed, and the new cart takes the next number, the one
    // the stalled writer would insert.
    expect(await removeExpired(later)).toBe(0);
    const fresh = await saveCart(db, customerId, { items: [line(2)] }, { now: () => later });
    expect(fresh.version).toBe(old.version + 1);
    release();
    expect(await stale).toEqual({ ok: false, status: 412 });
    expect(await getCart(db, customerId, { now: () => later })).toEqual(fresh);
  });
});

/** The version a client was served, as it sends it back: If-Match with the ETag (version and expiry). */
const served = (cart: Cart) => ({ version: cart.version, expiresAt: new Date(cart.expiresAt) });

describe('what a write costs, in round trips to the server', () => {
  beforeAll(async () => {
    await saveCart(watched.db, 790, { items: [] }); // the per-container index creation, not part of any write
  });

  it('a save with the ETag of the version the client read is one insert: the unique _id is the whole check', async () => {
    const seen = await saveCart(db, 791, { items: [line(1)] });
    expect(await commandsOf((watched) => saveCart(watched, 791, { items: [line(2)] }, { ifMatch: served(seen) }))).toEqual(['insert']);
    expect(await getCart(db, 791)).toMatchObject({ version: seen.version + 1, items: [line(2)] });
  });

  it('a delete with that ETag is one insert too (the tombstone)', async () => {
    const seen = await saveCart(db, 792, { items: [line(1)] });
    expect(await commandsOf((watched) => deleteCart(watched, 792, { ifMatch: served(seen) }))).toEqual(['insert']);
    await expect(getCart(db, 792)).rejects.toMatchObject({ status: 404 });
  });

  it('without If-Match, with *, or with a bare version: read the newest, insert the next — two', async () => {
    const seen = await saveCart(db, 793, { items: [line(1)] });
    const two = ['find', 'insert'];
    expect(await commandsOf((watched) => saveCart(watched, 793, { items: [line(2)] }))).toEqual(two);
    expect(await commandsOf((watched) => saveCart(watched, 793, { items: [line(3)] }, { ifMatch: '*' }))).toEqual(two);
    expect(await commandsOf((watched) => saveCart(watched, 793, { items: [line(4)] }, { ifMatch: seen.version + 2 }))).toEqual(two);
  });

  it('the read of the newest version is an equality on customerId, in the index that also orders the versions', async () => {
    // An equality is what FerretDB's storage can filter on (an _id range is decoded document by document)
    // and, with the index, one seek on MongoDB.
    const finds: unknown[] = [];
    const onFind = (event: { commandName: string; command: Record<string, unknown> }) => {
      if (event.commandName !== 'find') return;
      const { filter, sort, limit } = event.command;
      finds.push({ filter, sort: sort instanceof Map ? Object.fromEntries(sort) : sort, limit });
    };
    watched.client.on('commandStarted', onFind);
    try {
      await getCart(watched.db, 793);
    } finally {
      watched.client.off('commandStarted', onFind);
    }
    expect(finds).toEqual([{ filter: { customerId: 793 }, sort: { _id: -1 }, limit: 1 }]);
    const indexes = await db.collection(CARTS_COLLECTION).indexes();
    expect(indexes.find((index) => index.name === CUSTOMER_INDEX_NAME)?.key).toEqual({ customerId: 1, _id: -1 });
  });
});

describe('the ETag as the precondition', () => {
  it('stale: 412 naming the version the cart is at, nothing written', async () => {
    const seen = await saveCart(db, 794, { items: [line(1)] });
    const now = await saveCart(db, 794, { items: [line(2)] });
    await expect(saveCart(db, 794, { items: [line(3)] }, { ifMatch: served(seen) })).rejects.toMatchObject({
      status: 412,
      details: { expected: seen.version, current: now.version },
    });
    await expect(deleteCart(db, 794, { ifMatch: served(seen) })).rejects.toMatchObject({ status: 412 });
    expect(await getCart(db, 794)).toEqual(now);
  });

  it('of a cart that has expired since: 412, and nothing is written', async () => {
    const seen = await saveCart(db, 795, { items: [line(1)] }, { ttlSeconds: 1 });
    const expired = () => new Date(Date.parse(seen.expiresAt) + 100);
    await expect(saveCart(db, 795, { items: [line(2)] }, { ifMatch: served(seen), now: expired })).rejects.toMatchObject({
      status: 412,
      details: { current: null },
    });
    const stored = await db.collection(CARTS_COLLECTION).countDocuments({ customerId: 795 });
    expect(stored).toBe(1);
  });

  it('of a cart deleted since: 412', async () => {
    const seen = await saveCart(db, 796, { items: [line(1)] });
    await deleteCart(db, 796);
    await expect(saveCart(db, 796, { items: [line(2)] }, { ifMatch: served(seen) })).rejects.toMatchObject({
      status: 412,
      details: { current: null },
    });
  });
});

describe('sixteen writers at once', () => {
  it('with the same ETag: exactly one wins each round, the others get 412 naming the winner', async () => {
    for (let round = 0; round < 10; round++) {
      const customerId = 800 + round;
      const seen = await saveCart(db, customerId, { items: [line(1)] });
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => saveCart(db, customerId, { items: [line(10 + i)] }, { ifMatch: served(seen) })),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<Cart> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(lost.reason).toMatchObject({ status: 412, details: { expected: seen.version, current: won[0]!.value.version } });
      }
      expect(await getCart(db, customerId)).toEqual(won[0]!.value);
    }
  });

  it('read, add a line, save with the ETag, re-read on 412: no update is lost', async () => {
    const customerId = 820;
    await saveCart(db, customerId, { items: [] });
    const addLine = async (productId: number) => {
      for (;;) {
        const seen = await getCart(db, customerId);
        try {
          return await saveCart(db, customerId, { items: [...seen.items, line(productId)] }, { ifMatch: served(seen) });
        } catch (error) {
          if ((error as { status?: number }).status !== 412) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, i) => addLine(i + 1)));
    const final = await getCart(db, customerId);
    expect(final.items.map((item) => item.productId).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(final.version).toBe(17);
  });

  it('without If-Match: all sixteen succeed, each with its own version', async () => {
    const start = await saveCart(db, 821, { items: [] });
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => saveCart(db, 821, { items: [line(i + 1)] })));
    expect(new Set(results.map((cart) => cart.version)).size).toBe(16);
    expect((await getCart(db, 821)).version).toBe(start.version + 16);
  });
});

describe('sixty-four customers at once', () => {
  // FerretDB v1's PostgreSQL backend holds a pool connection for an update's read while its write takes
  // another: 20+ concurrent updates or upserts deadlock it for good (docs/ferretdb.md). The cart store
  // must never send one (its purge deletes by _id); with finds and inserts a burst above that pool passes.
  it('save, read, save with the ETag, delete with the ETag: only finds and inserts, and the server still answers', async () => {
    sent.length = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const customerId = 900 + i;
        await saveCart(watched.db, customerId, { items: [line(1)] });
        const seen = await getCart(watched.db, customerId);
        const saved = await saveCart(watched.db, customerId, { items: [line(2)] }, { ifMatch: served(seen) });
        await deleteCart(watched.db, customerId, { ifMatch: served(saved) });
      }),
    );
    expect(new Set(sent)).toEqual(new Set(['find', 'insert']));
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });
});
