import type { Context } from 'aws-lambda';
import { backgroundHandler } from '../shared/background.js';
import { parseBenchmarkEvent } from '../shared/benchmarks/request.js';
import { BenchmarkFailedError, runBenchmarks } from '../shared/benchmarks/run-benchmarks.js';
import { applicationName, getSql } from '../shared/clients/postgres.js';
import { cacheKey, getRedis } from '../shared/clients/redis.js';
import { getConfig } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { METRIC, milliseconds, publishMetrics } from '../shared/metrics.js';

/**
 * Invoked by the schedule (its `input`, or a bare EventBridge event) or through the Lambda API
 * (`npm run invoke -- runBenchmarks '{"scale":"small"}'`); both are trusted (IAM). Not an HTTP route.
 * A refused run (invalid payload, would not fit in the time left, another run in progress) and a
 * failed run are function errors with a clear message; a failed run is still stored. A run refuses up front
 * what would not fit in its time, so only a connection that stopped answering reaches the timeout backstop.
 */
export const handler = backgroundHandler('runBenchmarks', async (event: unknown, context: Context) => {
  const request = parseBenchmarkEvent(event);
  const config = getConfig();
  const run = await runBenchmarks(
    {
      sql: getSql(),
      database: config.database,
      ...(config.benchmarks.databaseUrl ? { sessionUrl: config.benchmarks.databaseUrl } : {}),
      applicationName: applicationName(config),
      redis: getRedis(),
      cacheKey,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      lambda: { functionName: context.functionName, memoryLimitInMB: String(context.memoryLimitInMB) },
      log: (message, fields) => logger.info(message, fields ?? {}),
    },
    request,
  );
  if (run.durationMs !== null) milliseconds(METRIC.benchmarkRunDuration, run.durationMs);
  publishMetrics('runBenchmarks');
  if (run.status !== 'succeeded') throw new BenchmarkFailedError({ ...run, plans: null });
  return run;
});
