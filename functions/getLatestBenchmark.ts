import { getLatestBenchmarkRoute } from '../shared/benchmarks/routes.js';
import { getLatestRun } from '../shared/benchmarks/store.js';
import { getSql } from '../shared/clients/postgres.js';
import { NotFoundError } from '../shared/errors.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /benchmarks/latest — the newest stored benchmark run (results, timings, plans, environment). */
export const handler = routeHandler(getLatestBenchmarkRoute, async ({ query }) => {
  const run = await getLatestRun(getSql(), { status: query.status, plans: query.plans });
  if (!run) {
    throw new NotFoundError(
      'BENCHMARK_NOT_FOUND',
      query.status === 'any'
        ? 'No benchmark run has been stored yet.'
        : `No benchmark run with status "${query.status}" has been stored yet.`,
    );
  }
  return { statusCode: 200, body: run, headers: { 'Cache-Control': 'no-store' } };
});
