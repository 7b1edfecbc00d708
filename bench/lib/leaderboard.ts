/** Makes sure the suite's cache namespace holds a loaded top-products leaderboard (a full reconcile if not). */
import postgres from 'postgres';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { createRedis } from '../../shared/clients/redis.js';
import { parseConfig } from '../../shared/config.js';
import { topProductsKeys } from '../../shared/products/keys.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';

export async function ensureLeaderboard(env: Record<string, string>, directUrl: string): Promise<'loaded' | 'rebuilt'> {
  const config = parseConfig({ ...env, DATABASE_URL: directUrl, DATABASE_PREPARE: 'true', DATABASE_STATEMENT_TIMEOUT_MS: '300000' });
  const redis = createRedis(config.redis);
  if (await redis.get(topProductsKeys(config.redis.namespace).meta)) return 'loaded';
  const sql = postgres(directUrl, postgresOptions(config.database, 'bench-leaderboard')) as unknown as Sql;
  try {
    await reconcileTopProducts({ sql, redis, namespace: config.redis.namespace }, { mode: 'full' });
    return 'rebuilt';
  } finally {
    await sql.end({ timeout: 5 });
  }
}
