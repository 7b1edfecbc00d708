import { redisCall } from '../../clients/redis.js';
import { AGG_ORDER_ITEMS, buildAggregateFixture, TOP_PRODUCTS_QUERY } from '../fixtures.js';
import { explainAnalyze, measureLatency, type PlanShape, planShape, type Timing } from '../measure.js';
import { MIN_CACHE_SAMPLES } from '../request.js';
import { round } from '../stats.js';
import { type SuiteContext, timed } from './context.js';

/**
 * Cache: what a top-products cache hit costs (one GET through @upstash/redis, the app's own client
 * and protocol) against what a miss costs (the Postgres aggregate over all order lines, same
 * statement shape as the app's). Both as the client sees them (wall clock), plus the server-side
 * execution time and plan of the aggregate.
 */
const REDIS_CALL_TIMEOUT_MS = 5_000;

export interface CacheResult {
  orderItems: number;
  products: number;
  /** Postgres aggregate, wall clock at the client. */
  postgres: Timing;
  /** Postgres aggregate, server execution time of the representative EXPLAIN (ANALYZE, BUFFERS) run. */
  postgresServer: { executionMs: number; planningMs: number; shape: PlanShape };
  /** Redis GET of the cached JSON (hit), wall clock at the client. */
  redisHit: Timing;
  valueBytes: number;
  /** Postgres median ÷ Redis median (both client-side). */
  speedup: number;
}

export async function runCacheSuite(context: SuiteContext): Promise<CacheResult> {
  const { sql, request, redis } = context;
  const { cacheOrderItems, cacheProducts } = request.sizes;
  await timed(context, 'cache.fixture', () => buildAggregateFixture(sql, cacheOrderItems, cacheProducts));
  context.deadline.check('cache postgres');

  const postgres = await measureLatency(() => sql.unsafe(TOP_PRODUCTS_QUERY), request.repetitions);
  // The aggregate is the slow side (seconds at millions of lines): one more run, with its plan, for
  // the server's own execution time rather than a second timed series.
  const plan = await explainAnalyze(sql, TOP_PRODUCTS_QUERY);
  context.plan('cache/postgres', plan);
  const postgresServer = {
    executionMs: round(plan['Execution Time'] ?? Number.NaN),
    planningMs: round(plan['Planning Time'] ?? Number.NaN),
    shape: planShape(plan.Plan),
  };

  context.deadline.check('cache redis');
  const products = await sql.unsafe(TOP_PRODUCTS_QUERY);
  const value = { products: [...products], generatedAt: new Date().toISOString(), window: { days: null } };
  const key = context.cacheKey('bench', 'top-products', context.runId);
  let redisHit: Timing;
  try {
    await redisCall('Redis SET', REDIS_CALL_TIMEOUT_MS, () => redis.set(key, value, { ex: 600 }));
    redisHit = await measureLatency(
      async () => {
        const cached = await redisCall('Redis GET', REDIS_CALL_TIMEOUT_MS, () => redis.get<typeof value>(key));
        if (!cached || !Array.isArray(cached.products) || cached.products.length !== products.length) {
          throw new Error('the cached top products did not come back intact from Redis');
        }
      },
      Math.max(request.repetitions, MIN_CACHE_SAMPLES),
      3,
    );
  } finally {
    await redisCall('Redis DEL', REDIS_CALL_TIMEOUT_MS, () => redis.del(key)).catch(() => undefined);
  }
  await sql.unsafe(`drop table ${AGG_ORDER_ITEMS}`);
  return {
    orderItems: cacheOrderItems,
    products: cacheProducts,
    postgres,
    postgresServer,
    redisHit,
    valueBytes: Buffer.byteLength(JSON.stringify(value)),
    speedup: round(postgres.medianMs / redisHit.medianMs, 1),
  };
}
