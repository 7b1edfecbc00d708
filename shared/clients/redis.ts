import { AsyncLocalStorage } from 'node:async_hooks';
import { Redis } from '@upstash/redis';
import { type Config, getConfig } from '../config.js';
import { describeError } from '../logger.js';
import { countingRoundTrips, roundTrips } from './round-trips.js';

export type CacheFailure = 'timeout' | 'unavailable' | 'invalid';

/** The cache did not answer in time, failed, or answered something we cannot trust. */
export class CacheError extends Error {
  override name = 'CacheError';
  constructor(
    readonly reason: CacheFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The abort signal of the redisCall a request is made in (AsyncLocalStorage: it follows the call's awaits). */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/** The bound of a Redis request made outside any redisCall (none should be). */
const UNBOUNDED_CALL_TIMEOUT_MS = 10_000;

/**
 * Runs one cache call with a deadline. Past `timeoutMs` the caller gets a CacheError('timeout') and moves
 * on, and every HTTP request the call made is aborted — its socket closed, not left to the HTTP client's
 * own timeout (minutes), so a hung cache cannot pile up sockets in a warm container. Nested calls share
 * the outer deadline too. Any other failure becomes CacheError('unavailable').
 */
export function redisCall<T>(operation: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const outer = callSignal.getStore();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new CacheError('timeout', `${operation} took longer than ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const call = callSignal
    .run(signal, async () => run())
    .catch((error: unknown) => {
      if (error instanceof CacheError) throw error;
      const { name, message, code } = describeError(error);
      throw new CacheError(
        'unavailable',
        `${operation} failed: ${String(name ?? 'Error')}: ${String(message)}${code ? ` (${String(code)})` : ''}`,
        { cause: error },
      );
    });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Runs `run` with every cache call in it bound to `signal` too: once it is aborted, a request in flight is
 * aborted and any later one fails at once (a job stopped by its invocation's end must not write on).
 */
export function withCacheSignal<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  return callSignal.run(signal, run);
}

/**
 * The Upstash REST client: plain HTTPS requests, nothing to connect or pool, which is why it suits
 * Lambda. Retries are off: the cache is an optimisation, and a slow cache must fall back to Postgres
 * quickly rather than retry. Each request carries the abort signal of the redisCall it is made in.
 */
export function createRedis(config: Config['redis']): Redis {
  return new Redis({
    url: config.url,
    token: config.token,
    // Not `retry: false`, which the SDK (1.39) takes as one retry: a request whose connection broke may
    // have been applied (a sale's MULTI/EXEC), and sending it again would count the sale twice.
    retry: { retries: 0 },
    enableTelemetry: false,
    keepAlive: true,
    signal: () => callSignal.getStore() ?? AbortSignal.timeout(UNBOUNDED_CALL_TIMEOUT_MS),
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
        roundTrips.redisCommands +=
          request.path?.[0] === 'pipeline' || request.path?.[0] === 'multi-exec' ? (request.body as unknown[]).length : 1;
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
