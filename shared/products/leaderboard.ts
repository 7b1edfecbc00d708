/**
 * The Redis leaderboard behind top products, maintained incrementally:
 *
 * - `recordSale` (called by POST /orders after each commit) adds the order's lines to today's sorted
 *   sets (units, revenue) and to the all-time sets, in ONE REST call (MULTI/EXEC: applied together, never
 *   interleaved with another client's commands; a command that fails does not undo the others).
 * - `readLeaderboard` answers "top N of a window" from those sets: all time = one ZRANGE; N days =
 *   today's set ∪ a cached union of the N − 1 previous days (ZUNIONSTORE, see docs/top-products.md).
 * - The reconcile job (reconcile.ts) rebuilds the sets from Postgres and corrects drift.
 *
 * Key layout and conventions: keys.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '@upstash/redis';
import * as z from 'zod';
import type { Sql } from '../clients/postgres.js';
import { redisCall } from '../clients/redis.js';
import { id } from '../ids.js';
import { describeError, logger } from '../logger.js';
import { COMPLETE_MEMBER, decodeMember, encodeMember, topProductsKeys } from './keys.js';
import { productNamesAndSource, sameSales, type TopProduct } from './queries.js';
import { DAY_MS, dayStartMs, pastDays, type SalesWindow, utcDay } from './window.js';

/** A day's sets live until the day can no longer be inside a 365-day window (plus a day of margin). */
export const DAY_KEY_LIFETIME_MS = 366 * DAY_MS;
/** All-time sets: refreshed by every full rebuild (daily); gone after a week without reconcile. */
export const ALL_TIME_TTL_SECONDS = 8 * 86_400;
/** The "leaderboard is loaded" marker expires before the data it vouches for. */
export const META_TTL_SECONDS = 7 * 86_400;
/** Cached unions of past days (they change only through late orders near midnight and reconciles). */
export const PAST_UNION_TTL_SECONDS = 60;
/** Rebuild a cached past union that has less than this left, so it cannot expire mid-read. */
const PAST_UNION_MARGIN_MS = 5_000;
/**
 * A past union's life until its days were found all there: below the margin, so every reader rebuilds it
 * (and checks the days) meanwhile. A union built from a partial past then never outlives the request that
 * built it by more than this, even when that request cannot drop it.
 */
const UNCHECKED_PAST_UNION_TTL_SECONDS = 2;
const SCRATCH_TTL_SECONDS = 60;

/** What the leaderboard needs to know about a committed order. */
export interface SoldOrder {
  orderDate: string;
  items: Array<{ productId: number; quantity: number; unitPrice: string }>;
}

export interface LeaderboardDeps {
  redis: Redis;
  /** Key prefix for this service and stage (config.redis.namespace). */
  namespace: string;
  /** Upper bound for the whole call; the order has already committed and must not wait longer. */
  timeoutMs: number;
}

export const LeaderboardMetaSchema = z.object({
  builtAt: z.iso.datetime(),
  /** First and last UTC day loaded by the rebuild. */
  firstDay: z.string(),
  lastDay: z.string(),
  /** The sales the leaderboard was built from (queries.ts): a leaderboard of other sales is not used. */
  source: z.object({ generation: z.string(), maxOrderId: z.number().int().min(0) }),
  /** The days whose sets were written complete from Postgres (they carry COMPLETE_MEMBER). */
  days: z.array(z.string()),
});
export type LeaderboardMeta = z.infer<typeof LeaderboardMetaSchema>;

const SoldOrderSchema = z.object({
  orderDate: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date'),
  items: z
    .array(
      z.object({
        productId: id,
        quantity: z.number().int().min(1),
        unitPrice: z.string().regex(/^[0-9]{1,13}(\.[0-9]{1,2})?$/),
      }),
    )
    .min(1),
});

/** "12.5" → 1250: money as integer cents, no floating point. */
export function toCents(amount: string): number {
  const [whole = '0', fraction = ''] = amount.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/** 1250 → "12.50" (the API's money format). */
export function formatCents(cents: number): string {
  const magnitude = Math.abs(cents);
  const fraction = String(magnitude % 100).padStart(2, '0');
  return `${cents < 0 ? '-' : ''}${Math.trunc(magnitude / 100)}.${fraction}`;
}

/** Unix seconds at which a day's sets expire. */
export function dayKeyExpiry(day: string): number {
  return Math.floor((dayStartMs(day) + DAY_KEY_LIFETIME_MS) / 1000);
}

/**
 * Tells the top-products leaderboard about a committed order. Never throws and never takes longer
 * than `timeoutMs`: a cache failure must not fail or slow an order. A sale lost here (Redis down or
 * slow, Lambda killed between commit and this call) is restored by the reconcile job within a minute.
 */
export async function recordSale(deps: LeaderboardDeps, order: SoldOrder): Promise<void> {
  try {
    const parsed = SoldOrderSchema.safeParse(order);
    if (!parsed.success) {
      logger.warn('top-products: recordSale ignored an order it cannot read', { issues: parsed.error.issues.length });
      return;
    }
    const day = utcDay(Date.parse(parsed.data.orderDate));
    const keys = topProductsKeys(deps.namespace);
    const [dayUnits, dayRevenue] = [keys.dayUnits(day), keys.dayRevenue(day)];
    const tx = deps.redis.multi();
    for (const item of parsed.data.items) {
      const member = encodeMember(item.productId);
      const cents = item.quantity * toCents(item.unitPrice);
      tx.zincrby(dayUnits, -item.quantity, member);
      tx.zincrby(dayRevenue, cents, member);
      tx.zincrby(keys.allUnits, -item.quantity, member);
      tx.zincrby(keys.allRevenue, cents, member);
    }
    const expiry = dayKeyExpiry(day);
    tx.expireat(dayUnits, expiry);
    tx.expireat(dayRevenue, expiry);
    // Only sets a TTL on sets this call created; the rebuild owns the all-time sets' lifetime.
    tx.expire(keys.allUnits, ALL_TIME_TTL_SECONDS, 'NX');
    tx.expire(keys.allRevenue, ALL_TIME_TTL_SECONDS, 'NX');
    await redisCall('recordSale', deps.timeoutMs, () => tx.exec());
  } catch (error) {
    logger.warn('top-products: recordSale failed; the reconcile job will restore the sale', {
      error: describeError(error),
      orderDate: order?.orderDate,
    });
  }
}

function incomplete(window: SalesWindow): null {
  logger.warn('top-products: a leaderboard set lost its contents (evicted?); using Postgres until reconcile restores it', {
    window: window.id,
  });
  return null;
}

export interface LeaderboardReadDeps {
  sql: Sql;
  redis: Redis;
  namespace: string;
}

/** Reads the marker; null when the leaderboard has not been (fully) loaded. */
export function parseMeta(value: unknown): LeaderboardMeta | null {
  const parsed = LeaderboardMetaSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * Top `size` products of `window` from the leaderboard, or null when the leaderboard is not loaded (no
 * marker), was built from other sales than Postgres holds now (changed behind its back: until reconcile
 * rebuilds it), or disagrees with Postgres about which products exist. Throws CacheError when Redis is
 * slow or down (each REST call bounded by `timeoutMs`).
 */
export async function readLeaderboard(
  deps: LeaderboardReadDeps,
  window: SalesWindow,
  size: number,
  timeoutMs: number,
): Promise<TopProduct[] | null> {
  const keys = topProductsKeys(deps.namespace);
  const { redis } = deps;
  let meta: LeaderboardMeta | null;
  let unitsKey: string;
  let revenueKey: string;
  let ranked: unknown[];
  const scratch: string[] = [];
  const checkedPastUnion: string[] = [];

  // A set the marker vouches for (all time, and today once reconcile has checked it) carries COMPLETE_MEMBER;
  // one that was evicted and then recreated by a sale holds only the sales since: not an answer.
  const todayUnits = keys.dayUnits(window.today);
  const todayRevenue = keys.dayRevenue(window.today);
  const vouched = (m: LeaderboardMeta, marks: unknown[], allTime: boolean) =>
    (!allTime && !m.days.includes(window.today)) || marks.every((mark) => mark !== null && mark !== undefined);

  if (window.days === null || window.days === 1) {
    const allTime = window.days === null;
    unitsKey = allTime ? keys.allUnits : todayUnits;
    revenueKey = allTime ? keys.allRevenue : todayRevenue;
    const [rawMeta, top, ...marks] = await redisCall('leaderboard read', timeoutMs, () => {
      const p = redis.pipeline();
      p.get(keys.meta);
      p.zrange(unitsKey, 0, size - 1, { withScores: true });
      p.zscore(unitsKey, COMPLETE_MEMBER);
      p.zscore(revenueKey, COMPLETE_MEMBER);
      return p.exec<[unknown, unknown[], unknown, unknown]>();
    });
    meta = parseMeta(rawMeta);
    if (!meta) return null;
    if (!vouched(meta, marks, allTime)) return incomplete(window);
    ranked = top;
  } else {
    const pastUnits = keys.pastUnits(window.today, window.days);
    const pastRevenue = keys.pastRevenue(window.today, window.days);
    const [rawMeta, unitsTtl, revenueTtl, ...marks] = await redisCall('leaderboard read', timeoutMs, () => {
      const p = redis.pipeline();
      p.get(keys.meta);
      p.pttl(pastUnits);
      p.pttl(pastRevenue);
      p.zscore(todayUnits, COMPLETE_MEMBER);
      p.zscore(todayRevenue, COMPLETE_MEMBER);
      return p.exec<[unknown, number, number, unknown, unknown]>();
    });
    meta = parseMeta(rawMeta);
    if (!meta) return null;
    if (!vouched(meta, marks, false)) return incomplete(window);
    const id = randomUUID();
    unitsKey = keys.tmp(`${id}:units`);
    revenueKey = keys.tmp(`${id}:revenue`);
    scratch.push(unitsKey, revenueKey);
    // One MULTI per attempt, so that nothing changes between its checks and its unions. Each starts with a
    // check: when the cached past union is (re)built, that every past day the marker vouches for is still
    // there; otherwise, that the cached union still is (a reconcile may have dropped it since the PTTL above,
    // and a union with a missing key counts today alone).
    const listed = new Set(meta.days);
    const vouchedPast = pastDays(window)
      .filter((day) => listed.has(day))
      .flatMap((day) => [keys.dayUnits(day), keys.dayRevenue(day)]);
    const union = (rebuildPast: boolean) =>
      redisCall('leaderboard union', timeoutMs, () => {
        const tx = redis.multi();
        const mustExist = rebuildPast ? vouchedPast : [pastUnits, pastRevenue];
        if (mustExist.length > 0) tx.exists(...mustExist);
        if (rebuildPast) {
          const days = pastDays(window);
          tx.zunionstore(pastUnits, days.length, days.map(keys.dayUnits));
          tx.zunionstore(pastRevenue, days.length, days.map(keys.dayRevenue));
          tx.expire(pastUnits, UNCHECKED_PAST_UNION_TTL_SECONDS);
          tx.expire(pastRevenue, UNCHECKED_PAST_UNION_TTL_SECONDS);
        }
        tx.zunionstore(unitsKey, 2, [keys.dayUnits(window.today), pastUnits]);
        tx.zunionstore(revenueKey, 2, [keys.dayRevenue(window.today), pastRevenue]);
        tx.expire(unitsKey, SCRATCH_TTL_SECONDS);
        tx.expire(revenueKey, SCRATCH_TTL_SECONDS);
        tx.zrange(unitsKey, 0, size - 1, { withScores: true });
        return tx
          .exec<unknown[]>()
          .then((results) => ({ results, complete: mustExist.length === 0 || Number(results[0]) === mustExist.length }));
      });
    let rebuiltPast = unitsTtl < PAST_UNION_MARGIN_MS || revenueTtl < PAST_UNION_MARGIN_MS;
    let { results, complete } = await union(rebuiltPast);
    if (!complete && !rebuiltPast) {
      rebuiltPast = true;
      ({ results, complete } = await union(true));
    }
    if (!complete) {
      // Drop the union just built from a partial past, so that nobody reads it before reconcile repairs it.
      await redisCall('leaderboard union', timeoutMs, () => redis.del(pastUnits, pastRevenue, ...scratch));
      return incomplete(window);
    }
    ranked = results.at(-1) as unknown[];
    // Its days were all there: the union is kept for its full life (with the next call, no extra round trip).
    if (rebuiltPast) checkedPastUnion.push(pastUnits, pastRevenue);
  }

  const top: Array<{ productId: number; unitsSold: number }> = [];
  for (let i = 0; i + 1 < ranked.length; i += 2) {
    const unitsSold = -Number(ranked[i + 1]);
    if (!(unitsSold > 0)) break; // ascending by −units: the rest sold nothing
    top.push({ productId: decodeMember(ranked[i]), unitsSold });
  }

  const [revenues] = await redisCall('leaderboard revenue', timeoutMs, () => {
    const p = redis.pipeline();
    if (top.length > 0)
      p.zmscore(
        revenueKey,
        top.map((t) => encodeMember(t.productId)),
      );
    else p.exists(revenueKey);
    if (scratch.length > 0) p.del(...scratch);
    for (const key of checkedPastUnion) p.expire(key, PAST_UNION_TTL_SECONDS);
    return p.exec<[Array<number | null> | number, ...unknown[]]>();
  });
  const { names, source } = await productNamesAndSource(
    deps.sql,
    top.map((t) => t.productId),
  );
  if (!sameSales(meta.source, source)) {
    logger.info('top-products: the leaderboard was built from other sales than Postgres holds now; using Postgres', { window: window.id });
    return null;
  }
  if (names.size !== top.length) {
    logger.warn('top-products: leaderboard lists products Postgres does not have; using Postgres', {
      window: window.id,
      unknown: top.length - names.size,
    });
    return null;
  }
  return top.map((t, i) => ({
    productId: t.productId,
    name: names.get(t.productId)!,
    unitsSold: t.unitsSold,
    revenue: formatCents(Array.isArray(revenues) ? Number(revenues[i] ?? 0) : 0),
  }));
}
