import * as z from 'zod';
import { getLatestRun } from '../shared/benchmarks/store.js';
import { getSql } from '../shared/clients/postgres.js';
import { NotFoundError } from '../shared/errors.js';
import { httpHandler } from '../shared/http/handler.js';

const QuerySchema = z.strictObject({
  /** Which run counts as "latest": the newest that succeeded (default), of a given status, or any. */
  status: z.enum(['succeeded', 'failed', 'abandoned', 'running', 'any']).default('succeeded'),
  /** `plans=false` leaves out the stored EXPLAIN plans (most of the payload). */
  plans: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
});

/** GET /benchmarks/latest — the newest stored benchmark run (results, timings, plans, environment). */
export const handler = httpHandler('getLatestBenchmark', { query: QuerySchema, access: 'admin' }, async ({ query }) => {
  const run = await getLatestRun(getSql(), { status: query.status, plans: query.plans });
  if (!run) {
    throw new NotFoundError(
      'BENCHMARK_NOT_FOUND',
      query.status === 'any' ? 'No benchmark run has been stored yet.' : `No benchmark run with status "${query.status}" has been stored yet.`,
    );
  }
  return { statusCode: 200, body: run, headers: { 'Cache-Control': 'no-store' } };
});
