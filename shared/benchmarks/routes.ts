import * as z from 'zod';
import { assertType, defineRoute, ErrorEnvelopeSchema, type SameKeys, Timestamp } from '../http/route.js';
import { PageQuery } from '../http/schemas.js';
import type { Metric } from './metric.js';
import { TRIGGERS } from './request.js';
import type { RunSummary, StoredRun } from './store.js';

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

export const MetricSchema = z
  .object({
    bench: z.string(),
    metric: z.string(),
    ours: z.number(),
    reference: z.number().nullable(),
    unit: z.string(),
    ratio: z.number().nullable().meta({ description: 'ours ÷ reference, measured in the same run (null without a reference).' }),
    goal: z.string().nullable(),
    pass: z.boolean().nullable(),
    note: z.string().optional(),
  })
  .meta({ title: 'BenchmarkMetric', description: 'One result row (docs/benchmarks.md).' }) satisfies z.ZodType<Metric>;
assertType<SameKeys<z.output<typeof MetricSchema>, Metric>>();

const RunSummarySchema = z.object({
  runId: z.number().int().min(1),
  status: z.enum(['running', 'succeeded', 'failed', 'abandoned']),
  trigger: z.enum(TRIGGERS),
  scale: z.string(),
  startedAt: Timestamp,
  durationMs: z.number().nullable(),
  metrics: z.array(MetricSchema),
}) satisfies z.ZodType<RunSummary>;
assertType<SameKeys<z.output<typeof RunSummarySchema>, RunSummary>>();

export const BenchmarkHistorySchema = z
  .object({
    runs: z.array(RunSummarySchema),
    nextCursor: z.string().nullable().meta({ description: 'The cursor of the next (older) page; null on the last page.' }),
  })
  .meta({ title: 'BenchmarkHistory' });

export const listBenchmarksRoute = defineRoute({
  function: 'listBenchmarks',
  method: 'GET',
  path: '/benchmarks',
  summary: 'Recent benchmark runs, with their metric rows (admin)',
  description:
    'The history of stored runs, newest first, a page at a time: each run’s status and its metric rows (ours, the same-run reference, the ratio), for trends.',
  tags: ['benchmarks'],
  request: {
    query: z.strictObject(PageQuery),
    access: 'admin',
  },
  example: { query: { limit: '10' } },
  responses: {
    200: { description: 'A page of the runs, newest first (an empty list before the first run).', schema: BenchmarkHistorySchema },
  },
});
