/**
 * The cache primitives of top products: every Redis call bounded by a timeout (redisCall), every cached
 * payload validated, every failure turned into one error type (CacheError) that callers degrade on.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '@upstash/redis';
import * as z from 'zod';
import { CacheError, redisCall } from '../clients/redis.js';
import type { TopProductsKeys } from './keys.js';
import { MAX_LIMIT } from './queries.js';
import { MAX_WINDOW_DAYS, type SalesWindow, windowInfo } from './window.js';

// --- snapshots -------------------------------------------------------------------------------------

/** Money as the API writes it: a decimal string with two places. */
const money = z.string().regex(/^[0-9]{1,15}\.[0-9]{2}$/);

export const TopProductSchema = z.object({
  productId: z.number().int().min(1),
  name: z.string(),
  unitsSold: z.number().int().min(1),
  revenue: money,
});

/** What is stored under a snapshot key: the response body for the largest limit, plus where it came from. */
export const SnapshotSchema = z.object({
  products: z.array(TopProductSchema).max(MAX_LIMIT),
  generatedAt: z.iso.datetime(),
  window: z.object({ days: z.number().int().min(1).max(MAX_WINDOW_DAYS).nullable(), since: z.iso.datetime().nullable() }),
  source: z.enum(['leaderboard', 'postgres']),
});

export type Snapshot = z.infer<typeof SnapshotSchema>;

/** compare-and-delete: release a lock only if it is still ours. */
const UNLOCK_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** Snapshot reads/writes and the refresh lock, each call bounded by `timeoutMs`. */
export class SnapshotCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: TopProductsKeys,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The window's snapshot, null when absent or made for another day (`d30` just after midnight UTC starts a
   * day later than the snapshot made just before it); CacheError when slow, down or not a valid snapshot.
   */
  async get(window: SalesWindow): Promise<Snapshot | null> {
    const value = await redisCall('snapshot GET', this.timeoutMs, () => this.redis.get<unknown>(this.keys.snapshot(window.id)));
    if (value === null || value === undefined) return null;
    const parsed = SnapshotSchema.safeParse(value);
    if (!parsed.success) {
      throw new CacheError('invalid', `snapshot ${window.id} is not a valid payload (${parsed.error.issues.length} issue(s))`);
    }
    return parsed.data.window.since === windowInfo(window).since ? parsed.data : null;
  }

  async put(window: SalesWindow, snapshot: Snapshot, ttlSeconds: number): Promise<void> {
    await redisCall('snapshot SET', this.timeoutMs, () => this.redis.set(this.keys.snapshot(window.id), snapshot, { ex: ttlSeconds }));
  }

  /** Best effort: drops a snapshot that failed validation so the next reader rebuilds it. */
  async discard(window: SalesWindow): Promise<void> {
    await redisCall('snapshot DEL', this.timeoutMs, () => this.redis.del(this.keys.snapshot(window.id)));
  }

  /** SET NX PX: the token when this caller now holds the refresh lock, null when someone else does. */
  async tryLock(window: SalesWindow, ttlMs: number): Promise<string | null> {
    const token = randomUUID();
    const reply = await redisCall('lock SET NX', this.timeoutMs, () =>
      this.redis.set(this.keys.snapshotLock(window.id), token, { nx: true, px: ttlMs }),
    );
    return reply === 'OK' ? token : null;
  }

  async unlock(window: SalesWindow, token: string): Promise<void> {
    await redisCall('lock release', this.timeoutMs, () => this.redis.eval(UNLOCK_SCRIPT, [this.keys.snapshotLock(window.id)], [token]));
  }
}

/** Acquire/release for any lock key (used by the reconcile job). */
export async function tryLockKey(redis: Redis, key: string, ttlMs: number, timeoutMs: number): Promise<string | null> {
  const token = randomUUID();
  const reply = await redisCall('lock SET NX', timeoutMs, () => redis.set(key, token, { nx: true, px: ttlMs }));
  return reply === 'OK' ? token : null;
}

export async function unlockKey(redis: Redis, key: string, token: string, timeoutMs: number): Promise<void> {
  await redisCall('lock release', timeoutMs, () => redis.eval(UNLOCK_SCRIPT, [key], [token]));
}
