import { getMongoDb } from '../shared/clients/mongo.js';
import { getSql } from '../shared/clients/postgres.js';
import { getRequestCache } from '../shared/clients/redis.js';
import { checkHealth } from '../shared/health/health.js';
import { getHealthRoute } from '../shared/health/routes.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /health — the stores, checked now: 200 ok/degraded, 503 down. */
export const handler = routeHandler(getHealthRoute, async () => {
  const { redis, timeoutMs } = getRequestCache();
  const report = await checkHealth({ sql: getSql(), redis, redisTimeoutMs: timeoutMs, db: getMongoDb() });
  return { statusCode: report.status === 'down' ? 503 : 200, body: report, headers: { 'Cache-Control': 'no-store' } };
});
