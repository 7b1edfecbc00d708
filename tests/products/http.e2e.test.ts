import type { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topProductsKeys } from '../../shared/products/keys.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import { DEFAULT_SETTINGS } from '../../shared/products/top-products.js';
import { resolveWindow } from '../../shared/products/window.js';
import { testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';
import { deleteTopProductsKeys, groundTruth, newRedis, type SalesFixture, seedSales, testConfig } from './helpers.js';

// serverless-offline's functions run with the test environment: this is their namespace.
const NS = testConfig().redis.namespace;
const sql = testSql();
const redis: Redis = newRedis();
let fixture: SalesFixture;

beforeAll(async () => {
  fixture = await seedSales(sql, { seed: 31 });
  await deleteTopProductsKeys(redis, NS);
  // A warm worker (module loaded, connection to the REST endpoint open): a cold offline worker's first
  // cache call on this 2-core box can exceed the 150 ms bound and would answer BYPASS, correctly.
  for (let i = 0; i < 3; i++) await api('GET', '/products/top?limit=1&days=2');
});

afterAll(async () => {
  await deleteTopProductsKeys(redis, NS);
  await sql.end();
});

describe('GET /products/top through serverless-offline', () => {
  it('answers the contract: sorted top N, generatedAt, window; MISS then HIT', async () => {
    const first = await api('GET', '/products/top?limit=5&days=30');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('application/json');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(Object.keys(first.body).sort()).toEqual(['generatedAt', 'products', 'window']);
    expect(first.body.products).toEqual(await groundTruth(sql, 5, 30));
    expect(first.body.window).toEqual({ days: 30, since: resolveWindow(30).since!.toISOString() });
    expect(Date.parse(first.body.generatedAt)).toBeGreaterThan(Date.now() - 60_000);

    const second = await api('GET', '/products/top?limit=5&days=30');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
  });

  it('defaults to the top 10 of all time', async () => {
    const answer = await api('GET', '/products/top');
    expect(answer.status).toBe(200);
    expect(answer.body.products).toEqual(await groundTruth(sql, 10));
    expect(answer.body.window).toEqual({ days: null, since: null });
  });

  it('equals the SQL ground truth for several limits and windows, served from the leaderboard', async () => {
    await reconcileTopProducts({ sql, redis, namespace: NS }, { mode: 'full', waitForLockMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_SETTINGS.freshMs + 50));
    for (const days of [undefined, 1, 3, 7, 30, 180, 365]) {
      for (const limit of [1, 10, 100]) {
        const answer = await api('GET', `/products/top?limit=${limit}${days === undefined ? '' : `&days=${days}`}`);
        expect(answer.status).toBe(200);
        expect(answer.body.products, `limit=${limit} days=${days}`).toEqual(await groundTruth(sql, limit, days));
      }
    }
  });

  it.each([
    ['limit=0', 'query.limit'],
    ['limit=101', 'query.limit'],
    ['limit=abc', 'query.limit'],
    ['limit=1.5', 'query.limit'],
    ['limit=', 'query.limit'],
    ['days=0', 'query.days'],
    ['days=366', 'query.days'],
    ['days=-7', 'query.days'],
    ['limit=10&sort=revenue', 'query'],
  ])('rejects ?%s with 400 VALIDATION_ERROR naming %s', async (query, field) => {
    const answer = await api('GET', `/products/top?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_ERROR');
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(answer.headers.get('x-cache')).toBeNull();
  });

  it('50 concurrent cold requests (separate offline workers) refresh once per freshness period, the rest served by it', async () => {
    // 50 warm workers first (another window): the case that matters is warm functions meeting an
    // empty or expired cache entry, not 50 simultaneous cold starts of serverless-offline workers.
    // Ramped: 50 workers starting at once on two cores can outlast the 10 s Lambda timeout.
    for (const n of [10, 20, 30, 40, 50]) {
      await Promise.all(Array.from({ length: n }, () => api('GET', '/products/top?limit=10&days=59')));
    }
    const keys = topProductsKeys(NS);
    await redis.del(keys.snapshot('d60'), keys.snapshotLock('d60'));
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 50 }, () => api('GET', '/products/top?limit=10&days=60')));
    const burstMs = performance.now() - started;
    const tally: Record<string, number> = {};
    for (const a of answers) tally[`${a.status} ${a.headers.get('x-cache')}`] = (tally[`${a.status} ${a.headers.get('x-cache')}`] ?? 0) + 1;
    const refreshes = answers
      .filter((a) => a.headers.get('x-cache') === 'MISS')
      .map((a) => Date.parse(a.body.generatedAt))
      .sort((x, y) => x - y);
    const context = JSON.stringify({ tally, burstMs: Math.round(burstMs), refreshes: refreshes.map((t) => new Date(t).toISOString()) });
    // One refresh per freshness period: when the whole burst fits in freshMs, exactly one; if a loaded
    // machine stretches it, a later refresh may only start once the first snapshot had aged past freshMs.
    expect(refreshes.length, context).toBeGreaterThanOrEqual(1);
    if (burstMs < DEFAULT_SETTINGS.freshMs) expect(refreshes.length, context).toBe(1);
    for (let i = 1; i < refreshes.length; i++)
      expect(refreshes[i]! - refreshes[i - 1]!, context).toBeGreaterThanOrEqual(DEFAULT_SETTINGS.freshMs);
    // Every answer is a 200 with a cache status and the right data. BYPASS answers appear when this
    // shared 2-core box is CPU-starved: 50 worker threads and the local gateway then take > 150 ms to
    // answer, and the bound (correctly) answers from Postgres. On a quiet machine the tally is
    // {MISS: 1, HIT: 49}; the strict "one aggregate for 50 callers" count is in stampede.test.ts.
    console.info(`50 concurrent cold requests through serverless-offline: ${context}`);
    expect((tally['200 MISS'] ?? 0) + (tally['200 HIT'] ?? 0) + (tally['200 BYPASS'] ?? 0), context).toBe(50);
    expect(tally['200 HIT'] ?? 0, context).toBeGreaterThan(0);
    const truth = await groundTruth(sql, 10, 60);
    for (const answer of answers) expect(answer.body.products).toEqual(truth);
  }, 120_000);

  it('shows an order placed with POST /orders within the freshness bound', async () => {
    await api('GET', '/products/top?limit=1'); // a cached answer the new order has to get past
    const before = await groundTruth(sql, 100);
    const underdog = before.at(-1)!.productId;
    const created = await api('POST', '/orders', {
      body: { customerId: fixture.customerIds[0], items: [{ productId: underdog, quantity: before[0]!.unitsSold + 3 }] },
    });
    expect(created.status).toBe(201);
    const committedAt = performance.now();
    let seenAfterMs = -1;
    while (performance.now() - committedAt < 10_000) {
      const answer = await api('GET', '/products/top?limit=1');
      if (answer.body.products[0]?.productId === underdog) {
        seenAfterMs = performance.now() - committedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seenAfterMs).toBeGreaterThanOrEqual(0);
    expect(seenAfterMs).toBeLessThan(DEFAULT_SETTINGS.freshMs + 1_000);
  });
});
