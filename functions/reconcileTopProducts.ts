import type { Context } from 'aws-lambda';
import { backgroundHandler } from '../shared/background.js';
import { getSql } from '../shared/clients/postgres.js';
import { getRedis } from '../shared/clients/redis.js';
import { getConfig } from '../shared/config.js';
import { describeError, logger } from '../shared/logger.js';
import { type ReconcileMode, type ReconcileResult, reconcileTopProducts } from '../shared/products/reconcile.js';

const MODES = new Set<ReconcileMode>(['auto', 'full', 'recent']);

/**
 * Scheduled every minute: keeps the Redis top-products leaderboard equal to Postgres (full rebuild
 * when missing or a day old, otherwise today's and yesterday's sales). Also invokable with
 * `{"mode":"full"}`. A failure is logged and thrown (the next minute's run starts over). `signal` is middy's,
 * aborted by the timeout backstop, so that the run writes nothing after it.
 */
async function reconcile(event: unknown, context: Context, { signal }: { signal: AbortSignal }): Promise<ReconcileResult> {
  // A scheduled event names no mode; one invoked by hand that names a mode we do not have is a typo, not 'auto'.
  const requested = (event as { mode?: unknown } | null | undefined)?.mode;
  if (requested !== undefined && !MODES.has(requested as ReconcileMode)) {
    throw new Error(`top-products reconcile: unknown mode ${JSON.stringify(requested)} (auto, full or recent)`);
  }
  const mode = (requested as ReconcileMode | undefined) ?? 'auto';
  const config = getConfig();
  try {
    // The lock outlives the run by a few seconds at most, even when Lambda kills the run at its timeout.
    const lockTtlMs = context.getRemainingTimeInMillis() + 5_000;
    const deps = { sql: getSql(), redis: getRedis(), namespace: config.redis.namespace };
    const result = await reconcileTopProducts(deps, { mode, lockTtlMs, signal });
    logger.info('top-products reconcile', { ...result });
    return result;
  } catch (error) {
    logger.error('top-products reconcile failed', { error: describeError(error) });
    throw error;
  }
}

export const handler = backgroundHandler('top-products reconcile', reconcile);
