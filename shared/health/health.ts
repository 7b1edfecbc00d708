import type { Redis } from '@upstash/redis';
import type { Db } from 'mongodb';
import { ensureCartIndexes, type IndexStatus, pingCartStore } from '../carts/store.js';
import type { Sql } from '../clients/postgres.js';
import { redisCall } from '../clients/redis.js';
import { within } from '../within.js';

/**
 * What the shop depends on, checked live: PostgreSQL (orders, the source of truth), Redis through Upstash
 * (the top-products cache: the shop works without it, slower), the MongoDB server (carts) and the cart
 * indexes (without them expired carts are never removed). One check each, concurrently, each bounded by
 * its client's own timeouts, all within HEALTH_CHECK_TIMEOUT_MS.
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
  /** Asked for inside its check: a client that cannot be created (a MONGODB_URI the driver cannot parse) is
   *  that check's failure, reported with the others'. */
  db: () => Db;
}

function errorCode(error: unknown): string {
  const { code, codeName, name } = (error ?? {}) as { code?: unknown; codeName?: unknown; name?: unknown };
  return String(codeName ?? code ?? name ?? 'Error');
}

/**
 * The longest the checks may take, together. PostgreSQL's statement_timeout is the server's: over a
 * connection that went silent (a dead NAT entry, a frozen proxy) nothing would end the probe, and the report
 * would be lost to the function's own timeout. Longer than a cold container's first connections (TLS, a
 * MongoDB SRV lookup), shorter than the function's timeout.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 5_000;

/** `probe`, or a TIMEOUT error at `deadline` (the probe, left behind, must not reject unobserved). */
function until<T>(deadline: number, probe: () => Promise<T>): Promise<T> {
  return within(probe(), deadline - Date.now(), () => Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' }));
}

async function check(deadline: number, probe: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  try {
    await until(deadline, probe);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'down', ms: Math.round(performance.now() - started), code: errorCode(error) };
  }
}

/**
 * A writer turned read-only by a failover still answers `select 1`, while every order is refused (25006): the
 * probe asks whether this session may write, in the same one round trip.
 */
async function postgresTakesWrites(sql: HealthDeps['sql']): Promise<void> {
  const [row] = await sql<Array<{ readOnly: string }>>`select current_setting('transaction_read_only') as "readOnly"`.execute();
  if (row?.readOnly !== 'off') throw Object.assign(new Error('PostgreSQL takes no writes (read-only)'), { code: 'READ_ONLY' });
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const deadline = Date.now() + HEALTH_CHECK_TIMEOUT_MS;
  const [postgres, redis, mongo] = await Promise.all([
    check(deadline, () => postgresTakesWrites(deps.sql)),
    check(deadline, () => redisCall('PING', deps.redisTimeoutMs, () => deps.redis.ping())),
    check(deadline, () => pingCartStore(deps.db())),
  ]);
  let cartIndexes: HealthReport['checks']['cartIndexes'] = { status: 'unknown' };
  if (mongo.status === 'ok') {
    const indexes = await until(deadline, () => ensureCartIndexes(deps.db())).catch(() => undefined);
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
