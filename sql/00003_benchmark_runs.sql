-- Benchmark history: one row per runBenchmarks invocation that got past validation, the time-budget
-- check and the advisory lock. A run is inserted as 'running' and finished as 'succeeded' or 'failed';
-- a row left 'running' by a container that died mid-run is marked 'abandoned' by the next run.
-- The measurements live in JSONB (their shape is versioned by `format_version`; the types are in
-- shared/benchmarks/suites/): the shape of results evolves with the suites, the table does not.

create table benchmark_runs (
  run_id          bigint generated always as identity primary key,
  format_version  integer not null default 1,
  status          text not null check (status in ('running', 'succeeded', 'failed', 'abandoned')),
  -- 'schedule' (EventBridge / serverless-offline schedule) or 'invoke' (Lambda API, npm run invoke).
  trigger         text not null check (trigger in ('schedule', 'invoke')),
  -- The validated request: scale, explicit sizes, repetitions, suites.
  params          jsonb not null,
  started_at      timestamptz not null default now(),
  finished_at     timestamptz,
  duration_ms     integer check (duration_ms >= 0),
  -- The up-front time estimate the run was admitted with (compare with duration_ms).
  estimated_ms    integer check (estimated_ms >= 0),
  -- Machine and server: PostgreSQL version and the settings that move plans, Node version, CPUs, memory.
  environment     jsonb not null default '{}'::jsonb,
  -- Per-suite summaries: medians, speedups, the GIN crossover table, index sizes, latency percentiles.
  results         jsonb,
  -- Representative EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) plans, keyed by suite and case.
  plans           jsonb,
  -- Where the time went: fixture builds, index builds, each suite.
  timings         jsonb,
  error           text,
  check ((status = 'running') = (finished_at is null))
);

-- "The latest run" (GET /benchmarks/latest, npm run report) and history listings, newest first.
create index benchmark_runs_status_started_at_idx on benchmark_runs (status, started_at desc);
