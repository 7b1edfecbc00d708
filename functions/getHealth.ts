import { getMongoDb } from '../shared/clients/mongo.js';
import { discardSql, getSql } from '../shared/clients/postgres.js';
import { getRequestCache } from '../shared/clients/redis.js';
import { RETRY_AFTER_SECONDS } from '../shared/errors.js';
import { checkHealth } from '../shared/health/health.js';
import { getHealthRoute } from '../shared/health/routes.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /health — the stores, checked now: 200 ok/degraded, 503 down (with Retry-After). */
export const handler = routeHandler(getHealthRoute, async () => {
  const { redis, timeoutMs } = getRequestCache();
  const report = await checkHealth({ sql: getSql(), redis, redisTimeoutMs: timeoutMs, db: getMongoDb });
  // A probe that ran out of time still waits on its connection (one that went silent): the pool is dropped,
  // so that the next check or request of this container does not queue behind it.
  if (report.checks.postgres.code === 'TIMEOUT') discardSql();
  const down = report.status === 'down';
  return {
    statusCode: down ? 503 : 200,
    body: report,
    headers: { 'Cache-Control': 'no-store', ...(down ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {}) },
  };
});
