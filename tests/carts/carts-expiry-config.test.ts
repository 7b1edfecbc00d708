import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { invoke, resetCarts, testMongo } from './helpers.js';

/**
 * CART_TTL_SECONDS drives expiry end to end: this file sets it to 1 s before the handlers read their
 * configuration (each test file runs in its own process, and config is read once per "container").
 */
process.env.CART_TTL_SECONDS = '1';

const { client, db } = testMongo();
type Handlers = {
  save: typeof import('../../functions/saveCart.js').handler;
  get: typeof import('../../functions/getCart.js').handler;
  remove: typeof import('../../functions/deleteCart.js').handler;
};
let h: Handlers;

beforeAll(async () => {
  await resetCarts(db);
  h = {
    save: (await import('../../functions/saveCart.js')).handler,
    get: (await import('../../functions/getCart.js')).handler,
    remove: (await import('../../functions/deleteCart.js')).handler,
  };
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await (await import('../../shared/clients/mongo.js')).closeMongo();
  await client.close();
});

describe('expiry configured through CART_TTL_SECONDS', () => {
  it('a cart expires after the configured inactivity and never comes back', async () => {
    // The handlers' clock stands still until the test moves it: a stall of this machine between the save
    // and the read after it cannot expire the cart early. Only Date: timers and the drivers run as usual.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const saved = await invoke(h.save, { method: 'PUT', customerId: '601', body: { items: [{ productId: 1, quantity: 1 }] } });
    expect(saved.status).toBe(200);
    expect(Date.parse(saved.body.expiresAt) - Date.parse(saved.body.updatedAt)).toBe(1000);
    expect((await invoke(h.get, { method: 'GET', customerId: '601' })).status).toBe(200);

    vi.setSystemTime(Date.now() + 1_000);
    const expired = await invoke(h.get, { method: 'GET', customerId: '601' });
    expect(expired.status).toBe(404);
    expect(expired.body.error.code).toBe('CART_NOT_FOUND');
    // The document may still be stored (FerretDB does not delete it), but no operation treats it as a cart.
    const stale = await invoke(h.save, {
      method: 'PUT',
      customerId: '601',
      body: { items: [] },
      headers: { 'If-Match': String(saved.body.version) },
    });
    expect(stale.status).toBe(412);
    expect((await invoke(h.remove, { method: 'DELETE', customerId: '601' })).status).toBe(204);
    const fresh = await invoke(h.save, { method: 'PUT', customerId: '601', body: { items: [{ productId: 2, quantity: 3 }] } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.items).toEqual([{ productId: 2, quantity: 3 }]);
    expect(fresh.body.version).toBeGreaterThan(saved.body.version);
  });
});
