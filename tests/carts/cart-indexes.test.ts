import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CARTS_COLLECTION, ensureCartIndexes, INDEX_RETRY_AFTER_FAILURE_MS, TTL_INDEX_NAME } from '../../shared/carts/store.js';
import { createRedis } from '../../shared/clients/redis.js';
import { parseConfig } from '../../shared/config.js';
import { checkHealth } from '../../shared/health/health.js';
import { logger } from '../../shared/logger.js';
import { testSql } from '../helpers/db.js';
import { testMongo } from './helpers.js';

/**
 * The cart store's indexes on a database where an index of the same name but another definition already
 * exists (an options conflict, as on a real MongoDB after a careless manual change): the failure must not
 * be swallowed — it is logged as an error and reported to whoever asks (the health check).
 */
const { client } = testMongo();
const db = client.db(`${process.env.MONGODB_DATABASE}_indexes`);

beforeAll(async () => {
  await db.dropDatabase();
  await db.collection(CARTS_COLLECTION).createIndex({ somethingElse: 1 }, { name: TTL_INDEX_NAME });
});

const sql = testSql();

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
  await sql.end();
});

describe('a conflicting index on the cart collection', () => {
  it('is reported by ensureCartIndexes and logged as an error, not swallowed', async () => {
    const errors = vi.spyOn(logger, 'error');
    const status = await ensureCartIndexes(db);
    expect(status.status).toBe('failed');
    expect(status.error, JSON.stringify(status)).toMatchObject({ codeName: expect.stringMatching(/Conflict/) });
    expect(errors).toHaveBeenCalledWith('cart index creation failed', expect.objectContaining({ error: expect.anything() }));
  });

  it('makes the health check report the store as degraded, naming the conflict', async () => {
    const config = parseConfig(process.env);
    const report = await checkHealth({ sql, redis: createRedis(config.redis), redisTimeoutMs: 1_000, db: () => db });
    expect(report.checks.cartIndexes).toEqual({ status: 'failed', code: expect.stringMatching(/Conflict/) });
    expect([report.status, report.checks.postgres.status, report.checks.redis.status, report.checks.mongo.status]).toEqual([
      'degraded',
      'ok',
      'ok',
      'ok',
    ]);
  });

  it('is tried again a while after it failed, so a fixed index stops being reported (not for the container’s life)', async () => {
    expect((await ensureCartIndexes(db)).status).toBe('failed');
    await db.collection(CARTS_COLLECTION).dropIndex(TTL_INDEX_NAME);
    // Within the retry period the failure stands (no createIndex per request); after it, the indexes are made.
    expect((await ensureCartIndexes(db, () => Date.now() + 1_000)).status).toBe('failed');
    const later = () => Date.now() + INDEX_RETRY_AFTER_FAILURE_MS + 1_000;
    expect((await ensureCartIndexes(db, later)).status).toMatch(/^(ttl|plain)$/);
    expect((await ensureCartIndexes(db, later)).status).toMatch(/^(ttl|plain)$/);
  });
});
