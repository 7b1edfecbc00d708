import type { Redis } from '@upstash/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { topProductsKeys } from '../../shared/products/keys.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import { getTopProducts, type TopProductsAnswer } from '../../shared/products/top-products.js';
import { testSql } from '../helpers/db.js';
import { countingAggregate, deleteTopProductsKeys, deps, groundTruth, newRedis, seedSales } from './helpers.js';

const NS_COLD = 'ecommerce-pipeline:test-products-stampede-cold';
const NS_LOADED = 'ecommerce-pipeline:test-products-stampede';
const CALLERS = 50;
/**
 * These tests are about the lock, not the 150 ms bound (degradation.test.ts covers that): 50 "Lambdas"
 * here share one process, one local gateway and two loaded cores, so 50 simultaneous first requests
 * can take longer than 150 ms, which would (correctly) turn them into BYPASS answers.
 */
const TIMEOUT_MS = 1_000;
const sql = testSql();
const redis: Redis = newRedis();

beforeAll(async () => {
  await deleteTopProductsKeys(redis, NS_COLD);
  await deleteTopProductsKeys(redis, NS_LOADED);
  await seedSales(sql, { seed: 11 });
  await reconcileTopProducts({ sql, redis, namespace: NS_LOADED }, { mode: 'full', waitForLockMs: 15_000 });
});

beforeEach(async () => {
  // Every test starts cold: no snapshot, no lock (the leaderboard of NS_LOADED stays).
  const p = redis.pipeline();
  for (const ns of [NS_COLD, NS_LOADED]) {
    for (const id of ['all', 'd30', 'd7']) {
      p.del(topProductsKeys(ns).snapshot(id));
      p.del(topProductsKeys(ns).snapshotLock(id));
    }
  }
  await p.exec();
});

afterAll(async () => {
  await deleteTopProductsKeys(redis, NS_COLD);
  await deleteTopProductsKeys(redis, NS_LOADED);
  await sql.end();
});

const tally = (answers: TopProductsAnswer[]) =>
  answers.reduce<Record<string, number>>((acc, a) => {
    acc[a.cache] = (acc[a.cache] ?? 0) + 1;
    return acc;
  }, {});

describe(`${CALLERS} concurrent cold requests, each with its own deps (own Redis client, like separate Lambdas)`, () => {
  it('run the Postgres aggregate once when the leaderboard is not loaded', async () => {
    // A slow aggregate (real query + 300 ms) keeps every caller arriving while the refresh runs.
    const aggregate = countingAggregate(300);
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () =>
        getTopProducts(deps(sql, NS_COLD, { aggregate, timeoutMs: TIMEOUT_MS }), { limit: 10, days: 30 }),
      ),
    );
    expect(tally(answers)).toEqual({ MISS: 1, HIT: CALLERS - 1 });
    expect(aggregate.calls).toBe(1);
    const truth = await groundTruth(sql, 10, 30);
    for (const answer of answers) expect(answer.result.products).toEqual(truth);
  });

  it('refresh once from the leaderboard when it is loaded (no aggregate at all)', async () => {
    const aggregate = countingAggregate();
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () => getTopProducts(deps(sql, NS_LOADED, { aggregate, timeoutMs: TIMEOUT_MS }), { limit: 10 })),
    );
    expect(tally(answers)).toEqual({ MISS: 1, HIT: CALLERS - 1 });
    expect(aggregate.calls).toBe(0);
    const truth = await groundTruth(sql, 10);
    for (const answer of answers) expect(answer.result.products).toEqual(truth);
  });

  it('serve the previous snapshot at once while one caller refreshes a stale one', async () => {
    const settings = { freshMs: 300 };
    const warm = countingAggregate();
    const first = await getTopProducts(deps(sql, NS_COLD, { aggregate: warm, settings }), { limit: 10, days: 7 });
    expect(first.cache).toBe('MISS');
    await new Promise((resolve) => setTimeout(resolve, 400)); // now stale

    const aggregate = countingAggregate(1_000);
    const started = performance.now();
    const timed = await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        const answer = await getTopProducts(deps(sql, NS_COLD, { aggregate, settings, timeoutMs: TIMEOUT_MS }), { limit: 10, days: 7 });
        return { answer, ms: performance.now() - started };
      }),
    );
    expect(aggregate.calls).toBe(1);
    expect(tally(timed.map((t) => t.answer))).toEqual({ MISS: 1, HIT: CALLERS - 1 });
    // Nobody but the refresher waited for the (1 s) refresh: they all got the previous copy first.
    const refresher = timed.find((t) => t.answer.cache === 'MISS')!;
    const hits = timed.filter((t) => t.answer.cache === 'HIT');
    for (const hit of hits) expect(hit.answer.result.generatedAt).toBe(first.result.generatedAt);
    expect(Math.max(...hits.map((h) => h.ms))).toBeLessThan(refresher.ms);
    expect(refresher.answer.result.generatedAt > first.result.generatedAt).toBe(true);
  });

  it('take over when the lock holder died (the lock expires), still with one aggregate', async () => {
    const keys = topProductsKeys(NS_COLD);
    await redis.set(keys.snapshotLock('all'), 'a-crashed-lambda', { px: 400 });
    const aggregate = countingAggregate(100);
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () => getTopProducts(deps(sql, NS_COLD, { aggregate, timeoutMs: TIMEOUT_MS }), { limit: 5 })),
    );
    expect(tally(answers)).toEqual({ MISS: 1, HIT: CALLERS - 1 });
    expect(aggregate.calls).toBe(1);
    const truth = await groundTruth(sql, 5);
    for (const answer of answers) expect(answer.result.products).toEqual(truth);
  });

  it('a caller with nothing to serve stops waiting in time to answer from Postgres before its invocation ends', async () => {
    // The holder died holding the lock for longer than anybody waits (its TTL is the refresh's worst case).
    const keys = topProductsKeys(NS_COLD);
    await redis.set(keys.snapshotLock('all'), 'a-crashed-lambda', { px: 10_000 });
    // Scaled down: 5 s left in the invocation, an aggregate that takes 0.5 s here and may take 2 s (the
    // margin left for a loaded machine's slower calls).
    const settings = { postgresBudgetMs: 2_000, leaderboardTimeoutMs: 500 };
    const aggregate = countingAggregate(500);
    const started = Date.now();
    const deadline = started + 5_000;
    const answer = await getTopProducts(deps(sql, NS_COLD, { aggregate, settings, deadline, timeoutMs: TIMEOUT_MS }), { limit: 5 });
    const elapsed = Date.now() - started;
    expect(answer.cache).toBe('BYPASS');
    expect(answer.result.products).toEqual(await groundTruth(sql, 5));
    // It waited while a Postgres answer could still fit (≥ budget + leaderboard before the deadline), no longer.
    expect(elapsed).toBeLessThan(5_000);
    expect(elapsed).toBeGreaterThanOrEqual(2_500 + 500 - 100);
  });

  it('a statement timeout about as long as the invocation still lets a stale snapshot be refreshed', async () => {
    const settings = { freshMs: 100 };
    expect((await getTopProducts(deps(sql, NS_COLD, { settings }), { limit: 5 })).cache).toBe('MISS');
    await new Promise((resolve) => setTimeout(resolve, 150)); // now stale
    // 9 s left, an 8 s statement timeout: no time to wait for anyone, but the first attempt still refreshes.
    const slow = { ...settings, postgresBudgetMs: 8_000 };
    const again = await getTopProducts(deps(sql, NS_COLD, { settings: slow, deadline: Date.now() + 9_000, timeoutMs: TIMEOUT_MS }), {
      limit: 5,
    });
    expect(again.cache).toBe('MISS');
  });
});
