/**
 * A suite run's result file (bench/results/<timestamp>.json): every bench's rows of the one result model
 * (shared/benchmarks/metric.ts) and its details; `npm run report -- --file` renders it.
 */
import type { BenchmarkEnvironment } from '../../shared/benchmarks/environment.js';
import type { Metric } from '../../shared/benchmarks/metric.js';

/** What a benchmark's run function returns. */
export interface BenchOutput {
  metrics: Metric[];
  /** Everything else worth keeping (per-configuration numbers, counts, environment). */
  details: Record<string, unknown>;
  /** Set when the benchmark could not run here (e.g. no PgBouncer): why. */
  skipped?: string;
}

export type BenchStatus = 'ok' | 'failed' | 'skipped';

export interface BenchRecord {
  name: string;
  status: BenchStatus;
  durationMs: number;
  metrics: Metric[];
  details: Record<string, unknown>;
  /** Why it failed or was skipped. */
  error?: string;
}

export interface SuiteResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  profile: 'full' | 'quick' | 'tiny';
  only: string[] | null;
  /** shared/benchmarks/environment.ts's description (as a stored run has it), the load around the run and the Mongo server. */
  machine: Pick<BenchmarkEnvironment, 'cpus' | 'cpuModel' | 'node' | 'platform'> &
    Partial<BenchmarkEnvironment> & { loadBefore: number[]; loadAfter: number[]; mongo?: string };
  setup: Record<string, unknown>;
  benches: BenchRecord[];
  /** All benches' metrics in table order. */
  metrics: Metric[];
  summary: { passed: number; failed: number; informational: number; benchesFailed: number; benchesSkipped: number };
}

export function summarize(records: BenchRecord[]): SuiteResult['summary'] {
  const metrics = records.flatMap((r) => r.metrics);
  return {
    passed: metrics.filter((m) => m.pass === true).length,
    failed: metrics.filter((m) => m.pass === false).length,
    informational: metrics.filter((m) => m.pass === null).length,
    benchesFailed: records.filter((r) => r.status === 'failed').length,
    benchesSkipped: records.filter((r) => r.status === 'skipped').length,
  };
}

const isNumberOrNull = (v: unknown) => v === null || typeof v === 'number';

/** Problems with a parsed result file (empty = well-formed). Shape only: never judges the numbers. */
export function validateSuiteResult(value: unknown): string[] {
  const problems: string[] = [];
  const r = value as Partial<SuiteResult> | null;
  if (!r || typeof r !== 'object') return ['not an object'];
  if (r.version !== 1) problems.push('version must be 1');
  for (const key of ['startedAt', 'finishedAt'] as const) {
    if (typeof r[key] !== 'string' || Number.isNaN(Date.parse(r[key] as string))) problems.push(`${key} must be an ISO date`);
  }
  if (typeof r.durationMs !== 'number' || r.durationMs < 0) problems.push('durationMs must be a non-negative number');
  if (!['full', 'quick', 'tiny'].includes(r.profile as string)) problems.push('profile must be full, quick or tiny');
  if (!r.machine || typeof r.machine.cpus !== 'number' || !Array.isArray(r.machine.loadBefore)) problems.push('machine is incomplete');
  if (!Array.isArray(r.benches)) problems.push('benches must be an array');
  if (!Array.isArray(r.metrics)) problems.push('metrics must be an array');
  for (const [i, b] of (r.benches ?? []).entries()) {
    if (typeof b.name !== 'string') problems.push(`benches[${i}].name must be a string`);
    if (!['ok', 'failed', 'skipped'].includes(b.status)) problems.push(`benches[${i}].status is invalid`);
    if (typeof b.durationMs !== 'number') problems.push(`benches[${i}].durationMs must be a number`);
    if (!Array.isArray(b.metrics)) problems.push(`benches[${i}].metrics must be an array`);
    if (b.status !== 'ok' && typeof b.error !== 'string') problems.push(`benches[${i}] (${b.status}) needs an error/reason`);
  }
  for (const [i, m] of (r.metrics ?? []).entries()) {
    const where = `metrics[${i}]`;
    if (typeof m.bench !== 'string' || typeof m.metric !== 'string' || m.metric === '')
      problems.push(`${where}: bench and metric must be strings`);
    if (typeof m.ours !== 'number') problems.push(`${where}: ours must be a number`);
    if (!isNumberOrNull(m.reference)) problems.push(`${where}: reference must be a number or null`);
    if (typeof m.unit !== 'string') problems.push(`${where}: unit must be a string`);
    if (!isNumberOrNull(m.ratio)) problems.push(`${where}: ratio must be a number or null`);
    if (m.reference === null && m.ratio !== null) problems.push(`${where}: a ratio without a reference`);
    if (!(m.goal === null || typeof m.goal === 'string')) problems.push(`${where}: goal must be a string or null`);
    if (!(m.pass === null || typeof m.pass === 'boolean')) problems.push(`${where}: pass must be a boolean or null`);
    if (m.goal === null && m.pass !== null) problems.push(`${where}: pass without a goal`);
  }
  return problems;
}
