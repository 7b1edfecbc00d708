import type { Sql } from '../clients/postgres.js';
import { type Page, toPage } from '../pagination.js';
import type { BenchmarkEnvironment } from './environment.js';
import type { ExplainOutput } from './measure.js';
import { type Metric, storedMetrics } from './metric.js';
import type { BenchmarkRequest, Trigger } from './request.js';

/** benchmark_runs (sql/00003_benchmark_runs.sql): one row per admitted run. */

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';

export interface StoredRun {
  runId: number;
  formatVersion: number;
  status: RunStatus;
  trigger: Trigger;
  params: BenchmarkRequest;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  estimatedMs: number | null;
  environment: BenchmarkEnvironment;
  /** Per-suite results (types in shared/benchmarks/suites/*.ts) plus `estimate`; a suite that failed has `{ error }`. */
  results: Record<string, unknown> | null;
  plans: Record<string, ExplainOutput> | null;
  timings: Record<string, number> | null;
  error: string | null;
}

const COLUMNS = (sql: Sql, withPlans: boolean) => sql`
  run_id as "runId", format_version as "formatVersion", status, trigger, params,
  started_at as "startedAt", finished_at as "finishedAt", duration_ms as "durationMs",
  estimated_ms as "estimatedMs", environment, results,
  ${withPlans ? sql`plans` : sql`null::jsonb as plans`}, timings, error`;

interface Row extends Omit<StoredRun, 'startedAt' | 'finishedAt'> {
  startedAt: Date;
  finishedAt: Date | null;
}

function toRun(row: Row): StoredRun {
  return { ...row, startedAt: row.startedAt.toISOString(), finishedAt: row.finishedAt?.toISOString() ?? null };
}

/** Marks runs left 'running' as abandoned. Only call while holding the benchmark lock. */
export async function markAbandonedRuns(sql: Sql): Promise<number> {
  const rows = await sql`
    update benchmark_runs
    set status = 'abandoned', finished_at = now(),
        error = 'The run stopped without finishing (its Lambda timed out or crashed); found by a later run.'
    where status = 'running'
    returning run_id`;
  return rows.length;
}

export async function insertRun(
  sql: Sql,
  run: { trigger: Trigger; params: BenchmarkRequest; estimatedMs: number; environment: BenchmarkEnvironment },
): Promise<{ runId: number; startedAt: string }> {
  const [row] = await sql<Array<{ runId: number; startedAt: Date }>>`
    insert into benchmark_runs (status, trigger, params, estimated_ms, environment)
    values ('running', ${run.trigger}, ${sql.json(run.params as never)}, ${run.estimatedMs}, ${sql.json(run.environment as never)})
    returning run_id as "runId", started_at as "startedAt"`;
  if (!row) throw new Error('benchmark run insert returned no row');
  return { runId: row.runId, startedAt: row.startedAt.toISOString() };
}

export async function finishRun(
  sql: Sql,
  runId: number,
  outcome: {
    status: 'succeeded' | 'failed';
    results: Record<string, unknown>;
    plans: Record<string, ExplainOutput>;
    timings: Record<string, number>;
    error: string | null;
  },
): Promise<StoredRun> {
  const [row] = await sql<Row[]>`
    update benchmark_runs
    set status = ${outcome.status}, finished_at = now(),
        duration_ms = greatest(0, round(extract(epoch from now() - started_at) * 1000))::int,
        results = ${sql.json(outcome.results as never)}, plans = ${sql.json(outcome.plans as never)},
        timings = ${sql.json(outcome.timings as never)}, error = ${outcome.error}
    where run_id = ${runId} and status = 'running'
    returning ${COLUMNS(sql, false)}`;
  if (row) return toRun(row);
  // Marked abandoned meanwhile by a later run (this one had lost its session, and its lock with it): that
  // verdict stands, and this run's results are not stored over it.
  const current = await getRun(sql, runId, { plans: false });
  if (!current) throw new Error(`benchmark run ${runId} vanished before it could be stored`);
  return current;
}

export async function getRun(sql: Sql, runId: number, options: { plans?: boolean } = {}): Promise<StoredRun | undefined> {
  const [row] = await sql<Row[]>`select ${COLUMNS(sql, options.plans ?? true)} from benchmark_runs where run_id = ${runId}`;
  return row ? toRun(row) : undefined;
}

/** The newest run; by default the newest that succeeded (a failed run has partial results). */
export async function getLatestRun(
  sql: Sql,
  options: { status?: RunStatus | 'any'; plans?: boolean } = {},
): Promise<StoredRun | undefined> {
  const status = options.status ?? 'succeeded';
  const [row] = await sql<Row[]>`
    select ${COLUMNS(sql, options.plans ?? true)} from benchmark_runs
    ${status === 'any' ? sql`` : sql`where status = ${status}`}
    order by started_at desc, run_id desc
    limit 1`;
  return row ? toRun(row) : undefined;
}

export interface RunListing {
  runId: number;
  status: RunStatus;
  trigger: Trigger;
  scale: string;
  startedAt: string;
  durationMs: number | null;
}

export async function listRuns(sql: Sql, limit = 20): Promise<RunListing[]> {
  const rows = await sql<Array<Omit<RunListing, 'startedAt'> & { startedAt: Date }>>`
    select run_id as "runId", status, trigger, params->>'scale' as scale, started_at as "startedAt", duration_ms as "durationMs"
    from benchmark_runs order by started_at desc, run_id desc limit ${limit}`;
  return rows.map((row) => ({ ...row, startedAt: row.startedAt.toISOString() }));
}

/** A run in the history: when, how it ended, and its metric rows (no plans, no raw results). */
export interface RunSummary extends RunListing {
  metrics: Metric[];
}

/** What a cursor of GET /benchmarks is bound to (shared/pagination.ts). */
export const RUN_HISTORY_SCOPE = 'benchmarks';

/**
 * A page of the runs, newest first, each with its metric rows (GET /benchmarks: the trend). In run id order:
 * runs start one at a time (the run's lock), so ids follow their start, and an id is a keyset position.
 */
export async function runHistory(
  sql: Sql,
  page: { after?: number | undefined; limit: number },
  cursor: (after: number) => string,
): Promise<Page<RunSummary>> {
  const rows = await sql<Array<Omit<RunSummary, 'startedAt' | 'metrics'> & { startedAt: Date; results: Record<string, unknown> | null }>>`
    select run_id as "runId", status, trigger, params->>'scale' as scale, started_at as "startedAt", duration_ms as "durationMs", results
    from benchmark_runs ${page.after === undefined ? sql`` : sql`where run_id < ${page.after}`}
    order by run_id desc limit ${page.limit + 1}`;
  const runs = rows.map(({ results, ...row }) => ({ ...row, startedAt: row.startedAt.toISOString(), metrics: storedMetrics({ results }) }));
  return toPage(runs, page.limit, (run) => run.runId, cursor);
}
