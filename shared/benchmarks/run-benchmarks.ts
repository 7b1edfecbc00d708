import type { Redis } from '@upstash/redis';
import postgres from 'postgres';
import { discardAfterTimeout } from '../clients/abandon.js';
import { postgresOptions, type Sql } from '../clients/postgres.js';
import type { Config } from '../config.js';
import { AppError, ConflictError } from '../errors.js';
import {
  BenchmarkDeadlineError,
  BenchmarkTooLargeError,
  calibrate,
  Deadline,
  type Estimate,
  estimateRun,
  safetyMarginMs,
} from './budget.js';
import { describeEnvironment } from './environment.js';
import { BENCH_SCHEMA, dropBenchSchema, resetBenchSchema } from './fixtures.js';
import type { ExplainOutput } from './measure.js';
import { runMetrics } from './metric.js';
import type { BenchmarkRequest, SuiteName } from './request.js';
import { finishRun, insertRun, markAbandonedRuns, type StoredRun } from './store.js';
import { runBtreeSuite } from './suites/btree.js';
import { runCacheSuite } from './suites/cache.js';
import type { SuiteContext } from './suites/context.js';
import { runGinSuite } from './suites/gin.js';
import { runOrdersSuite } from './suites/orders.js';

/**
 * One benchmark run: refuse it up front if it cannot fit in the time left, take the advisory lock
 * (or refuse: another run is in progress), record the run, build fixtures in the `bench` schema and
 * run the suites on a dedicated connection, drop the fixtures, store the results. The live tables are
 * never written; the only live table this touches is `benchmark_runs`.
 */

/** Session-level advisory lock key held for the whole run (any constant; same for every runner). */
export const BENCHMARK_LOCK_ID = 727_274_007;

export class BenchmarkAlreadyRunningError extends ConflictError {
  constructor(running?: { runId: number; startedAt: string }) {
    super(
      'BENCHMARK_ALREADY_RUNNING',
      running
        ? `A benchmark run is already running (run ${running.runId}, started ${running.startedAt}); this one was not started. Try again when it has finished.`
        : 'A benchmark run is already running; this one was not started. Try again when it has finished.',
      running,
    );
  }
}

export class BenchmarkFailedError extends AppError {
  constructor(run: StoredRun) {
    super(500, 'BENCHMARK_FAILED', `Benchmark run ${run.runId} failed: ${run.error ?? 'unknown error'}`, { runId: run.runId });
  }
}

const SUITE_RUNNERS: Record<SuiteName, (context: SuiteContext) => Promise<unknown>> = {
  btree: runBtreeSuite,
  gin: runGinSuite,
  cache: runCacheSuite,
  orders: runOrdersSuite,
};

export interface RunBenchmarksDeps {
  /** The application pool (pooled or not): benchmark_runs is written through it. */
  sql: Sql;
  /** Connection settings for the run's own dedicated connections (see benchmarkSession). */
  database: Config['database'];
  /** A direct connection string for those, when `database` goes through a transaction pooler. */
  sessionUrl?: string;
  applicationName: string;
  redis: Redis;
  cacheKey: (...parts: Array<string | number>) => string;
  /** Time left in this invocation (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
  lambda?: { functionName: string; memoryLimitInMB: string };
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A stored run as the Lambda returns it: without the plans (they stay in the table), with their count. */
export type RunSummary = Omit<StoredRun, 'plans'> & { plansStored: number };

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BenchmarkNeedsSessionError extends AppError {
  constructor() {
    super(
      409,
      'BENCHMARK_NEEDS_SESSION',
      'runBenchmarks needs a database session of its own (advisory lock, session settings, its own schema), which a transaction ' +
        'pooler (PgBouncer, RDS Proxy: DATABASE_PREPARE=false) cannot give: set BENCHMARK_DATABASE_URL to a direct connection string ' +
        '(docs/deploy.md). Nothing was run.',
    );
  }
}

export class BenchmarkNeedsCreateError extends AppError {
  constructor(user: string) {
    super(
      409,
      'BENCHMARK_NEEDS_CREATE',
      `runBenchmarks builds its fixtures in a bench schema of its own, which its user (${user}) may not create: it needs CREATE on the database ` +
        '(the functions’ own role has only the shop’s rows). Set BENCHMARK_DATABASE_URL to a user that has it, such as the one that runs ' +
        'the migrations (docs/deploy.md). Nothing was run.',
    );
  }
}

/**
 * Where the run's own connections go: BENCHMARK_DATABASE_URL when set, else DATABASE_URL — unless that is
 * behind a transaction pooler, where session state (the advisory lock, `set enable_seqscan`, search_path)
 * would land on server connections other requests then use, and the lock and unlock on different ones.
 */
function benchmarkSession(deps: RunBenchmarksDeps): Config['database'] {
  if (deps.sessionUrl) return { ...deps.database, url: deps.sessionUrl, prepare: true };
  if (!deps.database.prepare) throw new BenchmarkNeedsSessionError();
  return deps.database;
}

function benchConnection(
  database: Config['database'],
  deps: RunBenchmarksDeps,
  name: string,
  max: number,
  statementTimeoutMs: number,
  extra: Record<string, string> = {},
  onclose?: () => void,
): Sql {
  const base = postgresOptions(database, `${deps.applicationName}-${name}`);
  return postgres(database.url, {
    ...base,
    ...(onclose ? { onclose } : {}),
    max,
    // The advisory lock lives in this session: never close it for idleness or age during a run.
    idle_timeout: 0,
    max_lifetime: 60 * 60,
    connection: { ...base.connection, statement_timeout: statementTimeoutMs, ...extra },
  }) as unknown as Sql;
}

export async function runBenchmarks(deps: RunBenchmarksDeps, request: BenchmarkRequest): Promise<RunSummary> {
  const log = deps.log ?? (() => {});
  const invocationStarted = performance.now();
  const remainingMs = deps.remainingTimeMs();
  const availableMs = remainingMs - safetyMarginMs(remainingMs);
  const database = benchmarkSession(deps);
  // The run's lock lives in this session. Should the session end under it (a failover, a terminated
  // backend), postgres.js would carry on in a new one, without the lock: another run may then take the lock
  // and rebuild `bench` under this one. So a lost session stops the run, leaving `bench` alone.
  let sessionLost = false;
  let ending = false;
  // The run's own connections end with the invocation's timeout backstop, as the container's pools do: Lambda
  // freezes the container after that answer, and a session left open there would keep the lock (and refuse
  // every later run) until TCP keepalive noticed; its abandoned statements fail instead of going on at thaw.
  const forget: Array<() => void> = [];
  const endedAtTimeout = (sql: Sql): Sql => {
    forget.push(discardAfterTimeout(() => void sql.end({ timeout: 0 }).catch(() => {})));
    return sql;
  };
  const session: Sql = endedAtTimeout(
    benchConnection(database, deps, 'bench', 1, Math.max(1_000, availableMs), {}, () => {
      if (ending) return;
      sessionLost = true;
      // Ended, so that the suite's next statement fails instead of reconnecting without the lock.
      void session.end({ timeout: 0 }).catch(() => {});
    }),
  );
  const assertSession = () => {
    if (sessionLost) throw new Error('the benchmark session ended under the run (and its lock with it): stopped');
  };
  // A reset socket fails the statement before postgres.js reports the close, so after a failure the flag
  // alone may not know yet: the server says whether this session still holds the lock (a statement on the
  // dead connection fails; one on a new connection finds no lock).
  const stillHoldsLock = async () => {
    if (sessionLost) return false;
    const [row] = await session<Array<{ held: boolean }>>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and pid = pg_backend_pid() and granted
          and classid = 0 and objid = ${BENCHMARK_LOCK_ID}::bigint::oid and objsubid = 1
      ) as held`.catch(() => [{ held: false }]);
    return row?.held === true;
  };
  try {
    // Before anything is recorded: a user that could not build `bench` would fail every run half-way.
    const [rights] = await session<Array<{ user: string; canBuild: boolean }>>`
      select current_user as user,
        has_database_privilege(current_database(), 'CREATE')
          or exists (select from pg_namespace where nspname = 'bench' and pg_has_role(nspowner, 'MEMBER')) as "canBuild"`;
    if (!rights?.canBuild) throw new BenchmarkNeedsCreateError(rights?.user ?? 'unknown');
    const calibrationFactor = await calibrate(session);
    const estimate: Estimate = estimateRun(request, calibrationFactor);
    if (estimate.totalMs > availableMs) throw new BenchmarkTooLargeError(estimate, Math.max(0, availableMs), remainingMs);

    const [lock] = await session<Array<{ locked: boolean }>>`select pg_try_advisory_lock(${BENCHMARK_LOCK_ID}) as locked`;
    if (!lock?.locked) {
      const [running] = await deps.sql<Array<{ runId: number; startedAt: Date }>>`
        select run_id as "runId", started_at as "startedAt" from benchmark_runs
        where status = 'running' order by started_at desc limit 1`;
      throw new BenchmarkAlreadyRunningError(running ? { runId: running.runId, startedAt: running.startedAt.toISOString() } : undefined);
    }
    try {
      const abandoned = await markAbandonedRuns(deps.sql);
      if (abandoned > 0) log('marked abandoned benchmark runs', { abandoned });
      const environment = { ...(await describeEnvironment(session, deps.lambda)), calibrationFactor };
      const { runId } = await insertRun(deps.sql, {
        trigger: request.trigger,
        params: request,
        estimatedMs: estimate.totalMs,
        environment,
      });
      log('benchmark run started', { runId, scale: request.scale, suites: request.suites, estimatedMs: estimate.totalMs });

      const deadline = new Deadline(availableMs - (performance.now() - invocationStarted));
      const timings: Record<string, number> = {};
      const plans: Record<string, ExplainOutput> = {};
      const results: Record<string, unknown> = { estimate };
      const failures: string[] = [];
      const context: SuiteContext = {
        sql: session,
        request,
        runId,
        deadline,
        time: (phase, ms) => {
          timings[phase] = ms;
        },
        plan: (key, plan) => {
          plans[key] = plan;
        },
        log,
        redis: deps.redis,
        cacheKey: deps.cacheKey,
        connectBench: (max) =>
          endedAtTimeout(
            benchConnection(database, deps, 'bench-orders', max, Math.max(1_000, deadline.remainingMs()), { search_path: BENCH_SCHEMA }),
          ),
      };
      try {
        await resetBenchSchema(session);
        for (const suite of request.suites) {
          const started = performance.now();
          try {
            assertSession();
            deadline.check(suite);
            results[suite] = await SUITE_RUNNERS[suite](context);
            assertSession();
          } catch (error) {
            log('benchmark suite failed', { runId, suite, error: errorMessage(error) });
            results[suite] = { error: errorMessage(error) };
            failures.push(`${suite}: ${errorMessage(error)}`);
            if (error instanceof BenchmarkDeadlineError || sessionLost) break;
          } finally {
            timings[`suite.${suite}`] = Math.round(performance.now() - started);
          }
        }
      } catch (error) {
        // Outside any suite (the schema reset): the run is still finished and stored as failed.
        failures.push(`run: ${errorMessage(error)}`);
      } finally {
        const started = performance.now();
        // Without its lock, `bench` may be another run's by now.
        if (!(await stillHoldsLock())) {
          sessionLost = true;
          failures.push('run: the benchmark session ended under the run; the bench schema was left to the next run');
        } else await dropBenchSchema(session).catch((error) => log('could not drop the bench schema', { error: errorMessage(error) }));
        timings.cleanup = Math.round(performance.now() - started);
      }
      timings.total = Math.round(performance.now() - invocationStarted);
      // The suites' results as the rows every benchmark report reads (shared/benchmarks/metric.ts).
      results.metrics = runMetrics(results);
      const stored = await finishRun(deps.sql, runId, {
        status: failures.length === 0 ? 'succeeded' : 'failed',
        results,
        plans,
        timings,
        error: failures.length === 0 ? null : failures.join('; '),
      });
      log('benchmark run finished', { runId, status: stored.status, durationMs: stored.durationMs });
      const { plans: _omitted, ...summary } = stored;
      return { ...summary, plansStored: Object.keys(plans).length };
    } finally {
      if (!sessionLost) await session`select pg_advisory_unlock(${BENCHMARK_LOCK_ID})`.catch(() => undefined);
    }
  } finally {
    ending = true;
    for (const drop of forget) drop();
    await session.end({ timeout: 5 });
  }
}
