/**
 * GET /products/top, the domain side: serve a per-window snapshot from Redis, refresh it from the
 * leaderboard (or from Postgres while the leaderboard is not loaded) with exactly one refresher per
 * window, and answer from Postgres whenever the cache cannot be trusted. Design, bounds and
 * measurements: docs/top-products.md.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from '@upstash/redis';
import type { Sql } from '../clients/postgres.js';
import { CacheError, redisCall } from '../clients/redis.js';
import { describeError, logger } from '../logger.js';
import { type Snapshot, SnapshotCache } from './cache.js';
import { topProductsKeys } from './keys.js';
import { readLeaderboard } from './leaderboard.js';
import { MAX_LIMIT, queryTopProducts, type TopProduct } from './queries.js';
import { resolveWindow, type SalesWindow, type WindowInfo, windowInfo } from './window.js';

export type { TopProduct } from './queries.js';
export { MAX_LIMIT, queryTopProducts } from './queries.js';

export interface TopProductsQuery {
  limit: number;
  /** Today (UTC) and the `days − 1` UTC days before it; undefined = all time. */
  days?: number;
}

export interface TopProductsResult {
  products: TopProduct[];
  generatedAt: string;
  window: WindowInfo;
}

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface TopProductsSettings {
  /** A snapshot younger than this is served as is; an older one is refreshed (the freshness bound). */
  freshMs: number;
  /** Redis TTL of a snapshot: how long a previous copy can be served while one caller refreshes. */
  snapshotTtlSeconds: number;
  /** Refresh lock TTL (SET NX PX): frees the lock if its holder dies. */
  lockTtlMs: number;
  /** How long a caller with nothing to serve waits for another caller's refresh. */
  coldWaitMs: number;
  pollMs: number;
  /** Bound for reading the leaderboard during a refresh (unions take longer than a GET). */
  leaderboardTimeoutMs: number;
  /**
   * How long a Postgres answer may take (the statement timeout): a caller stops waiting for another's
   * refresh, and starts none of its own, once less than this (plus the leaderboard's bound) is left
   * before its deadline.
   */
  postgresBudgetMs: number;
}

export const DEFAULT_SETTINGS: TopProductsSettings = {
  freshMs: 2_000,
  snapshotTtlSeconds: 300,
  lockTtlMs: 10_000,
  coldWaitMs: 6_000,
  pollMs: 50,
  leaderboardTimeoutMs: 1_000,
  postgresBudgetMs: 5_000,
};

/** The Postgres aggregate, injectable so tests can count how often it runs. */
export type Aggregate = (sql: Sql, window: SalesWindow, limit: number) => Promise<TopProduct[]>;

export interface TopProductsDeps {
  sql: Sql;
  redis: Redis;
  /** config.redis.namespace (`<service>:<stage>`). */
  namespace: string;
  /** Bound for each cache call on the request path (config.redis.timeoutMs, 150 ms by default). */
  timeoutMs: number;
  settings?: Partial<TopProductsSettings>;
  aggregate?: Aggregate;
  /**
   * Per-container memo of Postgres answers given while the cache is unusable (kept `freshMs`), so a
   * Redis outage costs Postgres at most one aggregate per window per container per `freshMs`.
   */
  bypassMemo?: Map<string, { expiresAt: number; snapshot: Snapshot }>;
  /**
   * When the answer must be given by (ms since the epoch; the invocation's end less the HTTP stack's
   * margin). Waiting for another caller's refresh ends early enough for a Postgres answer to fit.
   */
  deadline?: number;
  now?: () => number;
}

export interface TopProductsAnswer {
  result: TopProductsResult;
  cache: CacheStatus;
}

/** Consecutive slow/failed cache calls tolerated while waiting for another caller's refresh. */
const MAX_WAIT_FAILURES = 3;

/**
 * Waiters poll at pollMs, then back off (×1.5 per poll, up to 4 × pollMs) with ±25 % jitter, so 50
 * waiting callers do not hammer the REST endpoint in lockstep while one refresh runs.
 */
function pollDelay(pollMs: number, attempt: number): number {
  const base = Math.min(pollMs * 1.5 ** attempt, pollMs * 4);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

const defaultAggregate: Aggregate = (sql, window, limit) => queryTopProducts(sql, window, limit);

function present(snapshot: Snapshot, limit: number): TopProductsResult {
  return { products: snapshot.products.slice(0, limit), generatedAt: snapshot.generatedAt, window: snapshot.window };
}

/** Builds a window's top 100: from the leaderboard when it is loaded, from Postgres otherwise. */
async function buildSnapshot(deps: TopProductsDeps, window: SalesWindow, settings: TopProductsSettings): Promise<Snapshot> {
  const now = deps.now ?? Date.now;
  const generatedAt = new Date(now()).toISOString();
  let products: TopProduct[] | null = null;
  try {
    // Each REST call and the whole read share one budget; past it, Postgres answers.
    const budget = settings.leaderboardTimeoutMs;
    products = await redisCall('leaderboard read', budget, () => readLeaderboard(deps, window, MAX_LIMIT, budget));
  } catch (error) {
    logger.warn('top-products: leaderboard read failed; computing from Postgres', { window: window.id, error: describeError(error) });
  }
  if (products) return { products, generatedAt, window: windowInfo(window), source: 'leaderboard' };
  const aggregate = deps.aggregate ?? defaultAggregate;
  return { products: await aggregate(deps.sql, window, MAX_LIMIT), generatedAt, window: windowInfo(window), source: 'postgres' };
}

/** The cache cannot be used: answer from Postgres (memoised briefly per container) and say so. */
async function bypass(
  deps: TopProductsDeps,
  window: SalesWindow,
  query: TopProductsQuery,
  reason: string,
  error?: unknown,
): Promise<TopProductsAnswer> {
  const now = deps.now ?? Date.now;
  logger.warn('top-products: cache bypassed, answering from Postgres', {
    reason,
    window: window.id,
    ...(error === undefined ? {} : { error: describeError(error) }),
  });
  const memoKey = `${deps.namespace}:${window.id}`;
  const memo = deps.bypassMemo?.get(memoKey);
  if (memo && memo.expiresAt > now() && memo.snapshot.window.since === windowInfo(window).since) {
    return { result: present(memo.snapshot, query.limit), cache: 'BYPASS' };
  }
  const aggregate = deps.aggregate ?? defaultAggregate;
  const snapshot: Snapshot = {
    products: await aggregate(deps.sql, window, MAX_LIMIT),
    generatedAt: new Date(now()).toISOString(),
    window: windowInfo(window),
    source: 'postgres',
  };
  if (deps.bypassMemo) {
    const settings = { ...DEFAULT_SETTINGS, ...deps.settings };
    deps.bypassMemo.set(memoKey, { expiresAt: now() + settings.freshMs, snapshot });
  }
  return { result: present(snapshot, query.limit), cache: 'BYPASS' };
}

/**
 * Top products for `query`, with how the cache took part:
 * - HIT: a snapshot younger than `freshMs` (or, while another caller refreshes, the previous one);
 * - MISS: this caller held the window's lock and rebuilt the snapshot;
 * - BYPASS: Redis was down, slow or returned something invalid — the answer came from Postgres.
 * Throws only what Postgres throws when it, too, cannot answer (mapped to 503 by the HTTP layer).
 */
export async function getTopProducts(deps: TopProductsDeps, query: TopProductsQuery): Promise<TopProductsAnswer> {
  const settings = { ...DEFAULT_SETTINGS, ...deps.settings };
  const now = deps.now ?? Date.now;
  const window = resolveWindow(query.days, now());
  const cache = new SnapshotCache(deps.redis, topProductsKeys(deps.namespace), deps.timeoutMs);
  const fresh = (s: Snapshot) => now() - Date.parse(s.generatedAt) < settings.freshMs;

  const read = async (): Promise<Snapshot | null | CacheError> => {
    try {
      return await cache.get(window);
    } catch (error) {
      const cacheError = error instanceof CacheError ? error : new CacheError('unavailable', String(describeError(error).message));
      // A payload we cannot read would be served to nobody: drop it so the next caller rebuilds it.
      if (cacheError.reason === 'invalid') await cache.discard(window).catch(() => {});
      return cacheError;
    }
  };

  const snapshot = await read();
  if (snapshot instanceof CacheError) return bypass(deps, window, query, snapshot.reason, snapshot);
  if (snapshot && fresh(snapshot)) return { result: present(snapshot, query.limit), cache: 'HIT' };

  // Missing or stale: one caller (the lock holder) refreshes; the others serve the previous copy or
  // wait for the new one. Any snapshot newer than the one we saw is the product of a refresh that
  // started after the data we had, so it is accepted even if that refresh took longer than freshMs.
  // While waiting, a slow or failed call is tolerated a few times (Redis just answered us).
  const seen = snapshot?.generatedAt ?? null;
  const newer = (s: Snapshot | null | CacheError): s is Snapshot =>
    s !== null && !(s instanceof CacheError) && (seen === null || s.generatedAt > seen);
  // Wait while a refresh of our own, or an answer from Postgres, can still finish before the deadline.
  const deadline = Math.min(
    now() + settings.coldWaitMs,
    (deps.deadline ?? Number.POSITIVE_INFINITY) - settings.postgresBudgetMs - settings.leaderboardTimeoutMs,
  );
  let failures = 0;
  let polls = 0;
  for (let attempt = 0; ; attempt++) {
    // After waiting, too late to start a refresh that could still finish: the previous copy, or Postgres.
    // (The first attempt always tries: a statement timeout as long as the invocation must not stop every refresh.)
    if (attempt > 0 && now() >= deadline) {
      return snapshot ? { result: present(snapshot, query.limit), cache: 'HIT' } : bypass(deps, window, query, 'refresh wait timed out');
    }
    let token: string | null;
    try {
      token = await cache.tryLock(window, settings.lockTtlMs);
    } catch (error) {
      if (++failures >= MAX_WAIT_FAILURES) return bypass(deps, window, query, 'lock', error);
      await sleep(Math.max(0, Math.min(settings.pollMs, deadline - now())));
      continue;
    }
    if (token) {
      // Double-checked: a refresh may have completed between our read and our lock (one retry if
      // that read fails: refreshing again costs a whole refresh).
      let current = await read();
      if (current instanceof CacheError) current = await read();
      if (newer(current)) {
        await cache.unlock(window, token).catch(() => {});
        return { result: present(current, query.limit), cache: 'HIT' };
      }
      return refresh(deps, cache, window, query, settings, token, snapshot);
    }
    // Someone else is refreshing: the previous copy is at most freshMs + one refresh old.
    if (snapshot) return { result: present(snapshot, query.limit), cache: 'HIT' };
    if (now() >= deadline) return bypass(deps, window, query, 'refresh wait timed out');
    await sleep(Math.max(0, Math.min(pollDelay(settings.pollMs, polls++), deadline - now())));
    const polled = await read();
    if (polled instanceof CacheError) {
      if (++failures >= MAX_WAIT_FAILURES) return bypass(deps, window, query, polled.reason, polled);
      continue;
    }
    failures = 0;
    if (newer(polled)) return { result: present(polled, query.limit), cache: 'HIT' };
  }
}

async function refresh(
  deps: TopProductsDeps,
  cache: SnapshotCache,
  window: SalesWindow,
  query: TopProductsQuery,
  settings: TopProductsSettings,
  token: string,
  previous: Snapshot | null,
): Promise<TopProductsAnswer> {
  try {
    let snapshot: Snapshot;
    try {
      snapshot = await buildSnapshot(deps, window, settings);
    } catch (error) {
      // Postgres failed too. A previous copy beats an error; without one, the error stands (503).
      if (!previous) throw error;
      logger.warn('top-products: refresh failed; serving the previous snapshot', { window: window.id, error: describeError(error) });
      return { result: present(previous, query.limit), cache: 'HIT' };
    }
    try {
      await cache.put(window, snapshot, settings.snapshotTtlSeconds);
    } catch (error) {
      logger.warn('top-products: cache bypassed, snapshot not stored', { reason: 'store', window: window.id, error: describeError(error) });
      return { result: present(snapshot, query.limit), cache: 'BYPASS' };
    }
    return { result: present(snapshot, query.limit), cache: 'MISS' };
  } finally {
    await cache.unlock(window, token).catch(() => {});
  }
}
