import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, type SameKeys, Timestamp } from '../http/route.js';
import { TRIGGERS } from './request.js';
import type { StoredRun } from './store.js';

export const LatestBenchmarkQuerySchema = z.strictObject({
  /** Which run counts as "latest": the newest that succeeded (default), of a given status, or any. */
  status: z
    .enum(['succeeded', 'failed', 'abandoned', 'running', 'any'])
    .default('succeeded')
    .meta({ description: 'Which run counts as latest: the newest that succeeded (default), of a given status, or any.' }),
  /** `plans=false` leaves out the stored EXPLAIN plans (most of the payload). */
  plans: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true')
    .meta({ description: '`false` leaves out the stored EXPLAIN plans (most of the payload).' }),
});

const JsonObject = z.record(z.string(), z.unknown());

/** A stored run. Its suites' results are documented in docs/benchmarks.md; here they are open objects. */
export const BenchmarkRunSchema = z
  .object({
    runId: z.number().int().min(1),
    formatVersion: z.number().int(),
    status: z.enum(['running', 'succeeded', 'failed', 'abandoned']),
    trigger: z.enum(TRIGGERS),
    params: JsonObject,
    startedAt: Timestamp,
    finishedAt: Timestamp.nullable(),
    durationMs: z.number().nullable(),
    estimatedMs: z.number().nullable(),
    environment: JsonObject,
    results: JsonObject.nullable(),
    plans: JsonObject.nullable(),
    timings: z.record(z.string(), z.number()).nullable(),
    error: z.string().nullable(),
  })
  .meta({ title: 'BenchmarkRun' });
assertType<SameKeys<z.output<typeof BenchmarkRunSchema>, StoredRun>>();

export const getLatestBenchmarkRoute = defineRoute({
  function: 'getLatestBenchmark',
  method: 'GET',
  path: '/benchmarks/latest',
  summary: 'The newest stored benchmark run (admin)',
  description:
    'Results, timings, EXPLAIN plans and environment of the newest run. Runs are started by the schedule or `npm run invoke -- runBenchmarks`.',
  tags: ['benchmarks'],
  request: { query: LatestBenchmarkQuerySchema, access: 'admin' },
  example: { query: { status: 'succeeded', plans: 'false' } },
  responses: {
    200: { description: 'The run.', schema: BenchmarkRunSchema },
    404: { description: 'BENCHMARK_NOT_FOUND: no run (with that status) has been stored yet.', schema: ErrorEnvelopeSchema },
  },
});
