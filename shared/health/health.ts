import type { Redis } from '@upstash/redis';
import type { Db } from 'mongodb';
import { ensureCartIndexes, type IndexStatus, pingCartStore } from '../carts/store.js';
import type { Sql } from '../clients/postgres.js';
import { redisCall } from '../clients/redis.js';

/**
 * What the shop depends on, checked live: PostgreSQL (orders, the source of truth), Redis through Upstash
 * (the top-products cache: the shop works without it, slower), the MongoDB server (carts) and the cart
 * indexes (without them expired carts are never removed). One check each, concurrently, each bounded by
 * its client's own timeouts.
 */
export type CheckStatus = 'ok' | 'down';

export interface Check {
  status: CheckStatus;
  ms: number;
  /** For a failed check: the error's code or name, never its message (it can hold a host name). */
  code?: string;
}

export interface HealthReport {
  /** ok: everything answers; degraded: the cache or the cart indexes are not right; down: a store the
   *  orders or carts need does not answer. */
  status: 'ok' | 'degraded' | 'down';
  checks: {
    postgres: Check;
    redis: Check;
    mongo: Check;
    cartIndexes: { status: IndexStatus['status'] | 'unknown'; code?: string };
  };
  checkedAt: string;
}

export interface HealthDeps {
  sql: Sql;
  redis: Redis;
  redisTimeoutMs: number;
  db: Db;
}

function errorCode(error: unknown): string {
  const { code, codeName, name } = (error ?? {}) as { code?: unknown; codeName?: unknown; name?: unknown };
  return String(codeName ?? code ?? name ?? 'Error');
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  try {
    await probe();
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'down', ms: Math.round(performance.now() - started), code: errorCode(error) };
  }
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const [postgres, redis, mongo] = await Promise.all([
    check(() => deps.sql`select 1`),
    check(() => redisCall('PING', deps.redisTimeoutMs, () => deps.redis.ping())),
    check(() => pingCartStore(deps.db)),
  ]);
  let cartIndexes: HealthReport['checks']['cartIndexes'] = { status: 'unknown' };
  if (mongo.status === 'ok') {
    const indexes = await ensureCartIndexes(deps.db).catch(() => undefined);
    if (indexes) cartIndexes = { status: indexes.status, ...(indexes.error ? { code: errorCode(indexes.error) } : {}) };
  }
  const down = postgres.status === 'down' || mongo.status === 'down';
  const degraded = redis.status === 'down' || cartIndexes.status === 'failed';
  return {
    status: down ? 'down' : degraded ? 'degraded' : 'ok',
    checks: { postgres, redis, mongo, cartIndexes },
    checkedAt: new Date().toISOString(),
  };
}
