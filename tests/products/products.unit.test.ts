import { describe, expect, it } from 'vitest';
import { CacheError, redisCall } from '../../shared/clients/redis.js';
import { SnapshotSchema } from '../../shared/products/cache.js';
import { decodeMember, encodeMember, topProductsKeys } from '../../shared/products/keys.js';
import { formatCents, toCents } from '../../shared/products/leaderboard.js';
import { catalogFilter, ListProductsQuerySchema } from '../../shared/products/routes.js';
import { pastDays, resolveWindow } from '../../shared/products/window.js';

describe('windows are whole UTC days', () => {
  const now = Date.parse('2026-03-10T15:30:00.000Z');

  it('days = N starts at midnight UTC N − 1 days ago; no days = all time', () => {
    expect(resolveWindow(1, now)).toMatchObject({ days: 1, since: new Date('2026-03-10T00:00:00.000Z'), today: '2026-03-10', id: 'd1' });
    expect(resolveWindow(30, now).since).toEqual(new Date('2026-02-09T00:00:00.000Z'));
    expect(resolveWindow(undefined, now)).toEqual({ days: null, since: null, today: '2026-03-10', id: 'all' });
    expect(() => resolveWindow(0, now)).toThrow(RangeError);
    expect(() => resolveWindow(366, now)).toThrow(RangeError);
  });

  it('lists the past days a window covers, newest first, across a month boundary', () => {
    expect(pastDays(resolveWindow(1, now))).toEqual([]);
    expect(pastDays(resolveWindow(12, now))).toEqual([
      '2026-03-09',
      '2026-03-08',
      '2026-03-07',
      '2026-03-06',
      '2026-03-05',
      '2026-03-04',
      '2026-03-03',
      '2026-03-02',
      '2026-03-01',
      '2026-02-28',
      '2026-02-27',
    ]);
    expect(pastDays(resolveWindow(365, now))).toHaveLength(364);
  });
});

describe('money and members', () => {
  it('converts money strings to integer cents and back without floating point', () => {
    expect(toCents('12.5')).toBe(1250);
    expect(toCents('0.07')).toBe(7);
    expect(toCents('19')).toBe(1900);
    expect(toCents('99999999999.99')).toBe(9_999_999_999_999);
    expect(formatCents(1250)).toBe('12.50');
    expect(formatCents(7)).toBe('0.07');
    expect(formatCents(0)).toBe('0.00');
    expect(formatCents(9_999_999_999_999)).toBe('99999999999.99');
    // A negative amount keeps its sign below one unit too (-0 prints as "0").
    expect(formatCents(-5)).toBe('-0.05');
    expect(formatCents(-150)).toBe('-1.50');
  });

  it('encodes product ids so lexicographic order is numeric order (ties sort by id)', () => {
    const ids = [1, 9, 10, 42, 1_000, 2_147_483_647];
    const encoded = ids.map(encodeMember);
    expect([...encoded].sort()).toEqual(encoded);
    // @upstash/redis JSON-parses replies: "0000000042" stays a string, "2147483647" becomes a number.
    expect(decodeMember('0000000042')).toBe(42);
    expect(decodeMember(2_147_483_647)).toBe(2_147_483_647);
    expect(() => decodeMember('abc')).toThrow();
    expect(() => decodeMember(0)).toThrow();
  });

  it('namespaces and versions every key', () => {
    const keys = topProductsKeys('ecommerce-pipeline:prod');
    expect(keys.snapshot('d30')).toBe('ecommerce-pipeline:prod:top-products:v3:snap:d30');
    expect(keys.dayUnits('2026-03-10')).toBe('ecommerce-pipeline:prod:top-products:v3:lb:day:2026-03-10:units');
    expect(topProductsKeys('ecommerce-pipeline:dev').allUnits).not.toBe(keys.allUnits);
  });
});

describe('bounded cache calls', () => {
  it('gives up after the timeout with a CacheError, without waiting for the call', async () => {
    const started = performance.now();
    const error = await redisCall('slow call', 50, () => new Promise((resolve) => setTimeout(resolve, 1_000))).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).reason).toBe('timeout');
  });

  it('wraps failures as CacheError("unavailable") and passes values through', async () => {
    const error = await redisCall('failing call', 50, async () => {
      throw new TypeError('fetch failed');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).reason).toBe('unavailable');
    await expect(redisCall('ok', 50, async () => 42)).resolves.toBe(42);
  });
});

describe('snapshot payload validation', () => {
  const valid = {
    products: [{ productId: 3, name: 'Product 3', unitsSold: 12, revenue: '150.00' }],
    generatedAt: '2026-03-10T15:30:00.000Z',
    window: { days: 30, since: '2026-02-09T00:00:00.000Z' },
    source: 'leaderboard',
  };

  it('accepts what the refresh writes and rejects anything else', () => {
    expect(SnapshotSchema.safeParse(valid).success).toBe(true);
    for (const garbage of [
      null,
      'hello',
      42,
      [],
      { ...valid, products: 'x' },
      { ...valid, products: [{ ...valid.products[0], unitsSold: '12' }] },
      { ...valid, products: [{ ...valid.products[0], revenue: 150 }] },
      { ...valid, generatedAt: 'yesterday' },
      { ...valid, source: undefined },
      { ...valid, products: Array.from({ length: 101 }, () => valid.products[0]) },
    ]) {
      expect(SnapshotSchema.safeParse(garbage).success).toBe(false);
    }
  });
});

describe('catalog filters from the query', () => {
  it('every attr.<key> becomes a filter on that key, __proto__ too (an object literal would drop it)', () => {
    const filter = catalogFilter(ListProductsQuerySchema.parse({ 'attr.__proto__': 'x', 'attr.colour': 'red', 'attr.constructor': 'y' }));
    expect(Object.entries(filter.attributes).sort(([a], [b]) => a.localeCompare(b))).toEqual([
      ['__proto__', 'x'],
      ['colour', 'red'],
      ['constructor', 'y'],
    ]);
  });
});
