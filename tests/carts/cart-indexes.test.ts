import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CARTS_COLLECTION, ensureCartIndexes } from '../../shared/carts/store.js';
import { logger } from '../../shared/logger.js';
import { testMongo } from './helpers.js';

/**
 * The cart store's indexes on a database where an index of the same name but another definition already
 * exists (an options conflict, as on a real MongoDB after a careless manual change): the failure must not
 * be swallowed — it is logged as an error and reported to whoever asks (the health check).
 */
const { client } = testMongo();
const db = client.db(`${process.env.MONGODB_DATABASE}_indexes`);
const TTL_INDEX_NAME = 'expiresAt_ttl';

beforeAll(async () => {
  await db.dropDatabase();
  await db.collection(CARTS_COLLECTION).createIndex({ somethingElse: 1 }, { name: TTL_INDEX_NAME });
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

describe('a conflicting index on the cart collection', () => {
  it('is reported by ensureCartIndexes and logged as an error, not swallowed', async () => {
    const errors = vi.spyOn(logger, 'error');
    const status = await ensureCartIndexes(db);
    expect(status.error, JSON.stringify(status)).toMatchObject({ codeName: expect.stringMatching(/Conflict/) });
    expect(errors).toHaveBeenCalledWith('cart index creation failed', expect.objectContaining({ error: expect.anything() }));
  });
});
