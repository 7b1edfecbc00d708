import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { migrate, migrationsHash } from '../shared/db/migrate.js';
import { addSampleCatalog } from '../shared/db/sample-catalog.js';
import { answerCustomResource, isCustomResourceEvent } from '../shared/deploy/custom-resource.js';
import { describeError, logger, withoutDetails } from '../shared/logger.js';

/** sql/, packaged next to this bundle (serverless.yml: the function's package patterns). */
const MIGRATIONS = fileURLToPath(new URL('../sql/', import.meta.url));

/** Applies the pending migrations of sql/ (shared/db/migrate.ts: advisory lock, idempotent). */
async function applyMigrations(signal?: AbortSignal): Promise<{ applied: string[] }> {
  try {
    // 60 s to connect: RDS Proxy queues a new connection while its target is still becoming available.
    const { applied } = await migrate(getConfig().database.url, (line) => logger.info(line), {
      dir: MIGRATIONS,
      connectTimeoutSeconds: 60,
      ...(signal ? { signal } : {}),
    });
    logger.info('migrations applied', { applied });
    return { applied };
  } catch (error) {
    logger.error('migrations failed', { error: describeError(error) });
    throw withoutDetails(error);
  }
}

/**
 * The deploy's migration step, from inside the VPC (infra/fresh-account.cjs): the Migrations custom resource
 * invokes it on Create and Update (a changed sql/), and its FAILED answer fails and rolls back the deploy.
 * Invoked directly (any other event, e.g. `{}`), it migrates and returns `{ applied }`; with
 * `{"sampleCatalog": true}` it also puts three products in an empty catalog (a fresh stage's first order).
 */
export async function handler(event: unknown, context: Context) {
  if (!isCustomResourceEvent(event)) {
    const result = await applyMigrations();
    if ((event as { sampleCatalog?: unknown } | null)?.sampleCatalog !== true) return result;
    try {
      return { ...result, sampleProducts: await addSampleCatalog(getSql()) };
    } catch (error) {
      logger.error('adding the sample catalog failed', { error: describeError(error) });
      throw withoutDetails(error);
    }
  }
  // A rollback sends an Update naming the previous deploy's migrations to this (new) code, before the function
  // itself is rolled back. Migrations only go forward: there is nothing to undo, and running them again could
  // only fail the rollback too — when the deploy failed because of them — leaving the stack UPDATE_ROLLBACK_FAILED.
  const requested = event.ResourceProperties?.MigrationsHash;
  if (event.RequestType === 'Update' && typeof requested === 'string' && requested !== migrationsHash(MIGRATIONS)) {
    return answerCustomResource(
      event,
      async () => {
        logger.warn('migrations of another deploy requested (a rollback): forward-only, nothing to undo');
        return { Applied: 0 };
      },
      { physicalResourceId: 'migrations', deadlineMs: context.getRemainingTimeInMillis() - 15_000 },
    );
  }
  return answerCustomResource(event, async (signal) => ({ Applied: (await applyMigrations(signal)).applied.length }), {
    physicalResourceId: 'migrations',
    // Time left for a run given up on to end its session (4 s at most) and for the PUT of the answer (10 s at
    // most) before Lambda stops the function.
    deadlineMs: context.getRemainingTimeInMillis() - 15_000,
    stopWaitMs: 4_000,
  });
}
