import { Redis } from '@upstash/redis';
import { getConfig, type Config } from '../config.js';
import { countingRoundTrips, roundTrips } from './round-trips.js';

/**
 * The Upstash REST client: plain HTTPS requests, nothing to connect or pool, which is why it suits
 * Lambda. Retries are off: the cache is an optimisation, and a slow cache must fall back to Postgres
 * quickly rather than retry (callers bound each call with their own timeout).
 */
export function createRedis(config: Config['redis']): Redis {
  return new Redis({
    url: config.url,
    token: config.token,
    retry: false,
    enableTelemetry: false,
    keepAlive: true,
  });
}

let redis: Redis | undefined;

export function getRedis(): Redis {
  if (!redis) {
    redis = createRedis(getConfig().redis);
    if (countingRoundTrips()) {
      redis.use((request, next) => {
        roundTrips.redis++;
        // A pipeline or MULTI/EXEC is one request carrying several commands.
        roundTrips.redisCommands += request.path?.[0] === 'pipeline' || request.path?.[0] === 'multi-exec' ? (request.body as unknown[]).length : 1;
        return next(request);
      });
    }
  }
  return redis;
}

/**
 * The cache as the request path uses it: the client, this stage's key prefix and the bound for each
 * call (CACHE_TIMEOUT_MS). Structurally what recordSale and getTopProducts take.
 */
export interface RequestCache {
  redis: Redis;
  namespace: string;
  timeoutMs: number;
}

export function getRequestCache(): RequestCache {
  const { namespace, timeoutMs } = getConfig().redis;
  return { redis: getRedis(), namespace, timeoutMs };
}

/** Key prefix for this service and stage, so stages sharing one Redis never see each other's keys. */
export function cacheKey(...parts: Array<string | number>): string {
  return [getConfig().redis.namespace, ...parts].join(':');
}
