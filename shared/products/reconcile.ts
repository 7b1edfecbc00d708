/**
 * Keeps the Redis leaderboard honest against Postgres (the source of truth). Run every minute by
 * functions/reconcileTopProducts.ts:
 *
 * - full rebuild — when the leaderboard cannot be trusted as a whole, and otherwise once a day: one
 *   streamed aggregate per (UTC day, product) for the last 365 days plus all time, each set written to a
 *   scratch key and RENAMEd over the live one (readers never see a half-written set), then the marker,
 *   which records the sales it was built from. It cannot be trusted when:
 *   · the marker is missing (first deploy, key-version bump, Redis flushed, marker evicted);
 *   · Postgres changed other than by new orders (the sales generation moved, or orders were lost:
 *     queries.ts SalesSource) — a correction, a cancellation, a reload, a restore;
 *   · a set was evicted: every set written from Postgres carries COMPLETE_MEMBER, which recordSale never
 *     writes, so an all-time or recent day set that a sale recreated lacks it; an older day set (no sale
 *     writes there) is simply missing. Checked every run in one pipeline of a few commands.
 * - recent pass — every other run: today's and yesterday's sales from Postgres compared with the
 *   day sets; differences (sales recordSale never delivered, or delivered twice) are applied to the
 *   day sets and the all-time sets in one MULTI. So drift from a lost recordSale lasts ≤ 1 run. A day
 *   seen for the first time (a new day's set, which recordSale started) is marked complete once checked.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from '@upstash/redis';
import type { Sql } from '../clients/postgres.js';
import { redisCall, withCacheSignal } from '../clients/redis.js';
import { describeError, logger } from '../logger.js';
import { tryLockKey, unlockKey } from './cache.js';
import { COMPLETE_MEMBER, decodeMember, encodeMember, type TopProductsKeys, topProductsKeys } from './keys.js';
import { ALL_TIME_TTL_SECONDS, dayKeyExpiry, type LeaderboardMeta, META_TTL_SECONDS, parseMeta } from './leaderboard.js';
import { type DaySales, salesByDaySince, salesSource, sameSales, streamFullSales } from './queries.js';
import { DAY_MS, dayStartMs, MAX_WINDOW_DAYS, startOfUtcDay, utcDay } from './window.js';

export interface ReconcileDeps {
  sql: Sql;
  redis: Redis;
  namespace: string;
  /** Bound per Redis call (a background job: generous). Default 10 s. */
  redisTimeoutMs?: number;
}

export type ReconcileMode = 'auto' | 'full' | 'recent';

export interface ReconcileOptions {
  /** auto (default): full when the leaderboard is missing or older than `fullEveryMs`, else recent. */
  mode?: ReconcileMode;
  /** Default: a day. */
  fullEveryMs?: number;
  /** Wait this long for another run's lock instead of skipping (tests, manual runs). Default 0. */
  waitForLockMs?: number;
  /**
   * How long the run's lock lives if the run dies holding it: the time the run may take (the function's
   * timeout), so that a run killed there stops the next ones no longer. Default 10 minutes.
   */
  lockTtlMs?: number;
  /**
   * Aborted when the invocation ends (its timeout backstop): the run writes nothing after that, even if its
   * frozen container resumes it later, when its lock may have expired and another run holds one.
   */
  signal?: AbortSignal;
  now?: () => number;
}

export interface ReconcileResult {
  mode: 'full' | 'recent' | 'skipped';
  reason: string;
  /** Full: day sets written. Recent: days compared. */
  days: number;
  /** Full: products in the all-time set. Recent: (day, product) pairs corrected. */
  products: number;
  /** Recent only: units added (+) / removed (−) by the corrections. */
  unitsCorrected: number;
  elapsedMs: number;
}

export const FULL_REBUILD_EVERY_MS = 86_400_000;
const DEFAULT_LOCK_TTL_MS = 10 * 60_000;
const ZADD_CHUNK = 1_000;

export async function reconcileTopProducts(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const timeoutMs = deps.redisTimeoutMs ?? 10_000;
  const keys = topProductsKeys(deps.namespace);
  const waitUntil = now() + (options.waitForLockMs ?? 0);
  const lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  let token = await tryLockKey(deps.redis, keys.reconcileLock, lockTtlMs, timeoutMs);
  while (!token && now() < waitUntil) {
    await sleep(100);
    token = await tryLockKey(deps.redis, keys.reconcileLock, lockTtlMs, timeoutMs);
  }
  const elapsed = () => Math.round(performance.now() - started);
  if (!token) {
    return { mode: 'skipped', reason: 'another reconcile is running', days: 0, products: 0, unitsCorrected: 0, elapsedMs: elapsed() };
  }
  try {
    const readMeta = async () => parseMeta(await redisCall('reconcile meta', timeoutMs, () => deps.redis.get(keys.meta)));
    const meta = await readMeta();
    const requested = options.mode ?? 'auto';
    let mode: 'full' | 'recent';
    let reason: string;
    let daily = false;
    if (requested === 'full' || (requested === 'recent' && meta)) {
      mode = requested;
      reason = 'requested';
    } else if (!meta) {
      mode = 'full';
      reason = 'leaderboard not loaded';
    } else if (!sameSales(meta.source, await salesSource(deps.sql))) {
      mode = 'full';
      reason = 'Postgres changed other than by new orders (sales generation or newest order)';
    } else {
      const missing = await incompleteSets(deps.redis, keys, meta, now(), timeoutMs);
      if (missing.length > 0) {
        mode = 'full';
        reason = `leaderboard incomplete (evicted?): ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`;
      } else if (now() - Date.parse(meta.builtAt) >= (options.fullEveryMs ?? FULL_REBUILD_EVERY_MS)) {
        mode = 'full';
        reason = 'daily rebuild';
        daily = true;
      } else {
        mode = 'recent';
        reason = 'today and yesterday';
      }
    }
    const work = () =>
      mode === 'full'
        ? rebuild(deps.sql, deps.redis, keys, now(), timeoutMs, lockTtlMs, options.signal)
        : reconcileRecent(deps.sql, deps.redis, keys, meta!, now(), timeoutMs, options.signal);
    // Stopped, the run's cache requests in flight are aborted and later ones fail at once.
    const guarded = <T>(run: () => Promise<T>) => (options.signal ? withCacheSignal(options.signal, run) : run());
    try {
      const stats = await guarded(work);
      return { mode, reason, ...stats, elapsedMs: elapsed() };
    } catch (error) {
      // A daily rebuild that failed before its switch (at scale: a timeout while streaming or staging) left
      // the leaderboard as it was, and readers keep trusting it; as long as it keeps failing, auto mode would
      // choose it again every run. So today and yesterday are corrected anyway, and the failure still stands.
      if (daily && !options.signal?.aborted) {
        const loaded = await readMeta().catch(() => null);
        if (loaded) {
          await guarded(() => reconcileRecent(deps.sql, deps.redis, keys, loaded, now(), timeoutMs, options.signal)).catch((recent) =>
            logger.warn('top-products reconcile: the recent pass after a failed daily rebuild failed too', {
              error: describeError(recent),
            }),
          );
        }
      }
      throw error;
    }
  } finally {
    await unlockKey(deps.redis, keys.reconcileLock, token, timeoutMs).catch(() => {});
  }
}

type Stats = Pick<ReconcileResult, 'days' | 'products' | 'unitsCorrected'>;

/**
 * The cached unions of past days that today's multi-day windows read (leaderboard.ts): dropped whenever a
 * past day changed, so that no window answers from a union of the days as they were. One DEL.
 */
function dropPastUnions(tx: { del: (...keys: string[]) => unknown }, keys: TopProductsKeys, nowMs: number): void {
  const today = utcDay(startOfUtcDay(nowMs));
  const unions: string[] = [];
  for (let days = 2; days <= MAX_WINDOW_DAYS; days++) unions.push(keys.pastUnits(today, days), keys.pastRevenue(today, days));
  tx.del(...unions);
}

/** The days of the leaderboard that reconcile's recent pass looks after (recordSale writes today's). */
function recentDays(nowMs: number): [string, string] {
  const todayStart = startOfUtcDay(nowMs);
  return [utcDay(todayStart - DAY_MS), utcDay(todayStart)];
}

/**
 * The sets the marker vouches for that are not complete any more: the all-time sets and the recent days
 * must still hold COMPLETE_MEMBER (a sale recreates an evicted one without it); older days, which no sale
 * writes to, must still exist. A few commands in one request, whatever the number of days.
 */
async function incompleteSets(
  redis: Redis,
  keys: TopProductsKeys,
  meta: LeaderboardMeta,
  nowMs: number,
  timeoutMs: number,
): Promise<string[]> {
  const recent = new Set(recentDays(nowMs));
  const oldest = utcDay(startOfUtcDay(nowMs) - (MAX_WINDOW_DAYS - 1) * DAY_MS);
  const marked = [
    keys.allUnits,
    keys.allRevenue,
    ...meta.days.filter((day) => recent.has(day)).flatMap((day) => [keys.dayUnits(day), keys.dayRevenue(day)]),
  ];
  const older = meta.days.filter((day) => !recent.has(day) && day >= oldest).flatMap((day) => [keys.dayUnits(day), keys.dayRevenue(day)]);
  const replies = await redisCall('reconcile check', timeoutMs, () => {
    const p = redis.pipeline();
    for (const key of marked) p.zscore(key, COMPLETE_MEMBER);
    if (older.length > 0) p.exists(...older);
    return p.exec<unknown[]>();
  });
  const missing = marked.filter((_, i) => replies[i] === null || replies[i] === undefined);
  if (older.length > 0 && Number(replies[marked.length]) !== older.length)
    missing.push(`${older.length - Number(replies[marked.length])} older day set(s)`);
  return missing;
}

/** A complete sorted-set pair written under scratch keys, to be put in place with the others at once. */
interface StagedSets {
  scratch: { units: string; revenue: string };
  target: { units: string; revenue: string };
  expire: { at: number } | { in: number };
}

/**
 * Writes one complete sorted-set pair (units, revenue) under scratch keys that live as long as the run's
 * lock: long enough for the run, and a run that dies leaves nothing behind for longer.
 */
async function stageSets(
  redis: Redis,
  keys: TopProductsKeys,
  target: { units: string; revenue: string },
  rows: DaySales[],
  expire: { at: number } | { in: number },
  timeoutMs: number,
  scratchTtlMs: number,
): Promise<StagedSets> {
  const id = randomUUID();
  const tmpUnits = keys.tmp(`${id}:units`);
  const tmpRevenue = keys.tmp(`${id}:revenue`);
  const p = redis.pipeline();
  p.zadd(tmpUnits, { score: 0, member: COMPLETE_MEMBER });
  p.zadd(tmpRevenue, { score: 0, member: COMPLETE_MEMBER });
  for (let i = 0; i < rows.length; i += ZADD_CHUNK) {
    const chunk = rows.slice(i, i + ZADD_CHUNK);
    const units = chunk.map((row) => ({ score: -row.units, member: encodeMember(row.productId) }));
    const revenue = chunk.map((row) => ({ score: row.cents, member: encodeMember(row.productId) }));
    p.zadd(tmpUnits, units[0]!, ...units.slice(1));
    p.zadd(tmpRevenue, revenue[0]!, ...revenue.slice(1));
  }
  for (const key of [tmpUnits, tmpRevenue]) p.pexpire(key, scratchTtlMs);
  await redisCall('reconcile write', timeoutMs, () => p.exec());
  return { scratch: { units: tmpUnits, revenue: tmpRevenue }, target, expire };
}

async function rebuild(
  sql: Sql,
  redis: Redis,
  keys: TopProductsKeys,
  nowMs: number,
  timeoutMs: number,
  scratchTtlMs: number,
  signal: AbortSignal | undefined,
): Promise<Stats> {
  const todayStart = startOfUtcDay(nowMs);
  const firstDay = utcDay(todayStart - (MAX_WINDOW_DAYS - 1) * DAY_MS);
  const lastDay = utcDay(todayStart);
  const written = new Set<string>();
  const staged: StagedSets[] = [];
  const allTime: DaySales[] = [];
  let current: { day: string; rows: DaySales[] } | undefined;

  const flush = async () => {
    signal?.throwIfAborted();
    if (!current) return;
    const { day, rows } = current;
    current = undefined;
    const target = { units: keys.dayUnits(day), revenue: keys.dayRevenue(day) };
    staged.push(await stageSets(redis, keys, target, rows, { at: dayKeyExpiry(day) }, timeoutMs, scratchTtlMs));
    written.add(day);
  };

  const source = await streamFullSales(sql, new Date(dayStartMs(firstDay)), async (batch) => {
    signal?.throwIfAborted();
    for (const row of batch) {
      if (row.day === null) {
        allTime.push(row);
        continue;
      }
      if (current && current.day !== row.day) await flush();
      current ??= { day: row.day, rows: [] };
      current.rows.push(row);
    }
  });
  await flush();

  staged.push(
    await stageSets(
      redis,
      keys,
      { units: keys.allUnits, revenue: keys.allRevenue },
      allTime,
      { in: ALL_TIME_TTL_SECONDS },
      timeoutMs,
      scratchTtlMs,
    ),
  );

  // Every set is put in place by one MULTI: a sale recorded before it is dropped from the day sets and the
  // all-time sets alike (and restored to both by the next recent pass), one recorded after it is in both.
  // Put in place one by one, a sale landing between two RENAMEs would stay in one and not the other.
  const meta: LeaderboardMeta = { builtAt: new Date(nowMs).toISOString(), firstDay, lastDay, source, days: [...written].sort() };
  const tx = redis.multi();
  for (const { scratch, target, expire } of staged) {
    for (const [from, to] of [
      [scratch.units, target.units],
      [scratch.revenue, target.revenue],
    ] as const) {
      tx.rename(from, to);
      if ('at' in expire) tx.expireat(to, expire.at);
      else tx.expire(to, expire.in);
    }
  }
  // Days without a single sale: no set at all (a stale one from before would count old sales). And the day
  // after the last one, unless the snapshot had sales of it: a run that began before midnight switches after
  // it, and a sale of the new day recorded meanwhile is in that day's set but not in the all-time sets put in
  // place here. Dropped from both, it is restored to both by the next recent pass, as any sale of the switch.
  const empty: string[] = [];
  for (let ms = dayStartMs(firstDay); ms <= todayStart + DAY_MS; ms += DAY_MS) {
    const day = utcDay(ms);
    if (!written.has(day)) empty.push(keys.dayUnits(day), keys.dayRevenue(day));
  }
  // None when the snapshot had sales on every day up to the next (a bare DEL would fail the whole switch).
  if (empty.length > 0) tx.del(...empty);
  tx.set(keys.meta, meta, { ex: META_TTL_SECONDS });
  dropPastUnions(tx, keys, nowMs);
  dropPastUnions(tx, keys, todayStart + DAY_MS);
  signal?.throwIfAborted();
  // A MULTI does not roll back: a RENAME that failed (a scratch set evicted) leaves its live set as it was,
  // while the marker it sets vouches for it. So when a command failed, or the answer was lost and nobody
  // knows, the marker goes: readers use Postgres and the next run rebuilds everything. Not once the run was
  // stopped (its lock may be another run's by then).
  const dropMarker = async (failure: unknown): Promise<never> => {
    if (signal?.aborted) throw failure;
    try {
      await redisCall('reconcile switch', timeoutMs, () => redis.del(keys.meta));
    } catch (error) {
      throw new Error('reconcile: the switch failed and its marker could not be removed', { cause: [failure, error] });
    }
    throw failure;
  };
  const replies = await redisCall('reconcile switch', timeoutMs, () => tx.exec({ keepErrors: true })).catch(dropMarker);
  const failed = replies.filter((reply) => reply.error);
  if (failed.length > 0) {
    await dropMarker(
      new Error(`reconcile: ${failed.length} command(s) of the switch failed (${String(failed[0]!.error)}); the marker was removed`),
    );
  }
  return { days: written.size, products: allTime.length, unitsCorrected: 0 };
}

type Totals = Map<number, { units: number; cents: number }>;

function fromRanked(units: unknown[], revenue: unknown[]): Totals {
  const totals: Totals = new Map();
  for (let i = 0; i + 1 < units.length; i += 2) {
    if (units[i] === COMPLETE_MEMBER) continue;
    totals.set(decodeMember(units[i]), { units: -Number(units[i + 1]), cents: 0 });
  }
  for (let i = 0; i + 1 < revenue.length; i += 2) {
    if (revenue[i] === COMPLETE_MEMBER) continue;
    const id = decodeMember(revenue[i]);
    const entry = totals.get(id) ?? { units: 0, cents: 0 };
    entry.cents = Number(revenue[i + 1]);
    totals.set(id, entry);
  }
  return totals;
}

async function reconcileRecent(
  sql: Sql,
  redis: Redis,
  keys: TopProductsKeys,
  meta: LeaderboardMeta,
  nowMs: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Stats> {
  const days = recentDays(nowMs);
  // Postgres first, then Redis: a sale committed in between is counted by Redis only and corrected
  // on the next run (the window is milliseconds wide either way).
  const sales = await salesByDaySince(sql, new Date(dayStartMs(days[0]!)));
  const truth = new Map<string, Totals>(days.map((day) => [day, new Map()]));
  for (const row of sales) truth.get(row.day!)?.set(row.productId, { units: row.units, cents: row.cents });

  const ranked = await redisCall('reconcile read', timeoutMs, () => {
    const p = redis.pipeline();
    for (const day of days) {
      p.zrange(keys.dayUnits(day), 0, -1, { withScores: true });
      p.zrange(keys.dayRevenue(day), 0, -1, { withScores: true });
    }
    return p.exec<unknown[][]>();
  });

  const tx = redis.multi();
  let corrections = 0;
  let unitsCorrected = 0;
  const newlyComplete: string[] = [];
  let pastChanged = false;
  days.forEach((day, index) => {
    const cached = fromRanked(ranked[index * 2] ?? [], ranked[index * 2 + 1] ?? []);
    const real = truth.get(day)!;
    const members = new Set([...cached.keys(), ...real.keys()]);
    let changed = false;
    for (const productId of members) {
      const want = real.get(productId) ?? { units: 0, cents: 0 };
      const have = cached.get(productId) ?? { units: 0, cents: 0 };
      const du = want.units - have.units;
      const dc = want.cents - have.cents;
      if (du === 0 && dc === 0) continue;
      const member = encodeMember(productId);
      if (du !== 0) {
        tx.zincrby(keys.dayUnits(day), -du, member);
        tx.zincrby(keys.allUnits, -du, member);
      }
      if (dc !== 0) {
        tx.zincrby(keys.dayRevenue(day), dc, member);
        tx.zincrby(keys.allRevenue, dc, member);
      }
      // A product whose sales that day were all taken back stays in the day's sets with nothing sold
      // (readers stop at the first product without units) until the daily rebuild drops it: removing it
      // here would also remove a sale recorded since the sets were read.
      corrections++;
      unitsCorrected += du;
      changed = true;
    }
    // A day checked for the first time (its set was started by recordSale) is complete from now on.
    const firstCheck = !meta.days.includes(day) && (cached.size > 0 || real.size > 0);
    if (firstCheck) {
      tx.zadd(keys.dayUnits(day), { score: 0, member: COMPLETE_MEMBER });
      tx.zadd(keys.dayRevenue(day), { score: 0, member: COMPLETE_MEMBER });
      newlyComplete.push(day);
    }
    if (changed || firstCheck) {
      tx.expireat(keys.dayUnits(day), dayKeyExpiry(day));
      tx.expireat(keys.dayRevenue(day), dayKeyExpiry(day));
    }
    if (changed && index === 0) pastChanged = true; // yesterday: part of today's cached unions
  });
  if (pastChanged) dropPastUnions(tx, keys, nowMs);
  if (corrections > 0) {
    tx.expire(keys.allUnits, ALL_TIME_TTL_SECONDS, 'NX');
    tx.expire(keys.allRevenue, ALL_TIME_TTL_SECONDS, 'NX');
  }
  if (newlyComplete.length > 0) {
    const next: LeaderboardMeta = { ...meta, days: [...new Set([...meta.days, ...newlyComplete])].sort() };
    tx.set(keys.meta, next, { keepTtl: true });
  }
  signal?.throwIfAborted();
  if (corrections > 0 || newlyComplete.length > 0 || pastChanged) await redisCall('reconcile apply', timeoutMs, () => tx.exec());
  return { days: days.length, products: corrections, unitsCorrected };
}
