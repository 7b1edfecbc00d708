import { localEnv, ROOT, withDatabase } from '../../scripts/lib/env.js';

/** What the test run's serverless-offline prints (its functions at LOG_LEVEL=WARN). */
export const OFFLINE_LOG = `${ROOT}.cache/test-offline.log`;

/**
 * The environment every test (and the serverless-offline the tests start) runs with: the local
 * defaults, but a database, a Mongo database and a cache namespace of their own, so `npm test` never
 * touches the data `npm start` shows you.
 */
export function testEnv(): Record<string, string> {
  const base = localEnv();
  const databaseUrl = withDatabase(base.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop', 'shop_test');
  return {
    ...base,
    // In-process handlers get their own application_name (ecommerce-pipeline-test); serverless-offline's
    // Lambdas keep the stage's (ecommerce-pipeline-dev), so connection counts can be told apart.
    STAGE: 'test',
    DATABASE_URL: databaseUrl,
    MONGODB_DATABASE: 'shop_test',
    CACHE_NAMESPACE: 'ecommerce-pipeline:test',
    LOG_LEVEL: base.TEST_LOG_LEVEL ?? 'SILENT',
    // No EMF metric lines in the tests' output (tests/http/metrics.test.ts turns them on to check them).
    POWERTOOLS_METRICS_DISABLED: 'true',
    // Tests run reconcile themselves; a scheduled one would race their resets of the database and cache.
    RECONCILE_SCHEDULE_ENABLED: 'false',
    PURGE_SCHEDULE_ENABLED: 'false',
    // serverless-offline in tests listens next to (not on) the ports `npm start` uses.
    OFFLINE_HTTP_PORT: '3100',
    OFFLINE_LAMBDA_PORT: '3102',
  };
}
