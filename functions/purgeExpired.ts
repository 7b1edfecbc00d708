import type { Context } from 'aws-lambda';
import { backgroundHandler } from '../shared/background.js';
import { getMongoDb } from '../shared/clients/mongo.js';
import { discardSql, getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { PURGE_BATCH_STALLED, type PurgeExpiredResult, PurgeFailedError, purgeExpired } from '../shared/housekeeping/purge-expired.js';
import { purgeBatchStallMs } from '../shared/housekeeping/rules.js';
import { describeError, logger } from '../shared/logger.js';
import { count, METRIC, publishMetrics } from '../shared/metrics.js';

/**
 * Time kept back from the Lambda timeout: the batch in flight at the deadline finishes before it. A key batch
 * is one statement, bounded by DATABASE_STATEMENT_TIMEOUT_MS (5 s by default); a cart batch two MongoDB
 * commands, each bounded by server selection and the socket timeout (2 s + 4 s by default). A statement
 * timeout raised past this margin can outlast it: the middy backstop then ends the run a second before Lambda.
 */
const FINISH_MARGIN_MS = 20_000;

/**
 * Scheduled every hour: deletes expired idempotency keys and the cart versions past their retention
 * (shared/housekeeping/purge-expired.ts). A run that reaches its deadline stops between batches and the next
 * one goes on; a failure is logged with what was deleted before it, and thrown (Lambda tries twice more, then
 * the dead-letter queue and its alarm).
 */
async function purge(_event: unknown, context: Context, { signal }: { signal: AbortSignal }): Promise<PurgeExpiredResult> {
  try {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - FINISH_MARGIN_MS;
    const stallMs = purgeBatchStallMs(getConfig().database.statementTimeoutMs);
    const result = await purgeExpired({ sql: getSql(), db: getMongoDb }, { deadline, signal, stallMs });
    if (result.complete) logger.info('expired rows purged', { ...result });
    else logger.warn('expired rows purged until the deadline; the next run goes on', { ...result });
    count(METRIC.expiredRowsPurged, result.idempotencyKeys + result.cartVersions);
    // Every run that returns says 0 or 1, so that the alarm can tell three backlogged runs in a row from no data.
    count(METRIC.purgeBacklog, result.complete ? 0 : 1);
    publishMetrics('purgeExpired');
    return result;
  } catch (error) {
    // A batch given up on left its connection in the pool, silent: the next run (Lambda's retry, in this
    // container) starts on a fresh one.
    if (error instanceof PurgeFailedError && error.errors.some((cause) => (cause as { code?: unknown })?.code === PURGE_BATCH_STALLED)) {
      discardSql();
    }
    const done = error instanceof PurgeFailedError ? { ...error.result, errors: error.errors.map((cause) => describeError(cause)) } : {};
    logger.error('purge of expired rows failed', { error: describeError(error), ...done });
    throw error;
  }
}

export const handler = backgroundHandler('purge of expired rows', purge);
