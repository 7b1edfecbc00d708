import type { Redis } from '@upstash/redis';
import type { Db } from 'mongodb';
import { ensureCartIndexes, type IndexStatus, pingCartStore } from '../carts/store.js';
import type { Sql } from '../clients/postgres.js';
import { redisCall } from '../clients/redis.js';

/**
 * What the shop depends on, checked live: PostgreSQL (orders, the source of truth), Redis through Upstash
 * (the top-products cache: the shop works without it, slower), the MongoDB server (carts) and the cart
 * indexes (without them expired carts are never removed). One check each, concurrently, each bounded by
 * its client's own timeouts and by HEALTH_CHECK_TIMEOUT_MS.
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

/**
 * The longest a check may take. PostgreSQL's statement_timeout is the server's: over a connection that went
 * silent (a dead NAT entry, a frozen proxy) nothing would end the probe, and the report would be lost to the
 * function's own timeout.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })), HEALTH_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), deadline]);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'down', ms: Math.round(performance.now() - started), code: errorCode(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const [postgres, redis, mongo] = await Promise.all([
    // A probe left behind by its deadline must not reject unobserved.
    check(() => {
      const probe = deps.sql`select 1`.execute();
      probe.catch(() => {});
      return probe;
    }),
    check(() => redisCall('PING', deps.redisTimeoutMs, () => deps.redis.ping())),
    check(() => {
      const probe = pingCartStore(deps.db);
      probe.catch(() => {});
      return probe;
    }),
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
