/**
 * The suite's result model: every benchmark returns rows of
 *   { metric, ours, reference, unit, ratio, goal, pass }
 * where `reference` is the physical limit measured in the same run (pgbench, a raw client call,
 * generate_series, an empty handler …), `ratio` = ours / reference, and `goal` / `pass` the target
 * (null when there is none: informational rows). `npm run bench` collects them into
 * bench/results/<timestamp>.json (SuiteResult) and prints one table.
 */
import { formatTable, num } from './table.js';

export interface Metric {
  /** Which benchmark produced it (set by the orchestrator when missing). */
  bench: string;
  metric: string;
  ours: number;
  reference: number | null;
  unit: string;
  /** ours / reference (null without a reference). */
  ratio: number | null;
  /** Human-readable target, e.g. "ratio ≥ 0.8" or "≤ 150 KB"; null = informational. */
  goal: string | null;
  /** null = no goal, or the goal does not apply to this run (see note). */
  pass: boolean | null;
  note?: string;
}

export interface Goal {
  /** What the goal constrains: the ratio ours/reference, or ours itself. */
  on: 'ratio' | 'ours';
  op: '<=' | '>=';
  value: number;
  /** Display text (default derived from the above). */
  text?: string;
}

export interface MetricInput {
  metric: string;
  ours: number;
  reference?: number | null;
  unit: string;
  goal?: Goal | null;
  /** false: show the goal but do not judge it in this run (e.g. a goal defined at 1M orders in --quick). */
  judge?: boolean;
  note?: string;
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  if (ratio > 0 && ratio < 0.1) return `1/${num(1 / ratio)}`;
  return `${num(ratio)}×`;
}

export function goalText(goal: Goal, unit: string): string {
  if (goal.text) return goal.text;
  const op = goal.op === '<=' ? '≤' : '≥';
  return goal.on === 'ratio' ? `ratio ${op} ${formatRatio(goal.value).replace(/×$/, '')}` : `${op} ${num(goal.value)} ${unit}`;
}

/** Builds a row: ratio from ours/reference, pass from the goal. */
export function metric(bench: string, input: MetricInput): Metric {
  const reference = input.reference ?? null;
  const ratio = reference !== null && Number.isFinite(reference) && reference !== 0 ? input.ours / reference : null;
  let pass: boolean | null = null;
  if (input.goal && input.judge !== false) {
    const value = input.goal.on === 'ratio' ? ratio : input.ours;
    pass =
      value === null || !Number.isFinite(value) ? false : input.goal.op === '<=' ? value <= input.goal.value : value >= input.goal.value;
  }
  return {
    bench,
    metric: input.metric,
    ours: input.ours,
    reference,
    unit: input.unit,
    ratio,
    goal: input.goal ? goalText(input.goal, input.unit) : null,
    pass,
    ...(input.note ? { note: input.note } : {}),
  };
}

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
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    loadBefore: number[];
    loadAfter: number[];
    postgres?: string;
    mongo?: string;
  };
  setup: Record<string, unknown>;
  benches: BenchRecord[];
  /** All benches' metrics in table order. */
  metrics: Metric[];
  summary: { passed: number; failed: number; informational: number; benchesFailed: number; benchesSkipped: number };
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

function cell(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return '–';
  return unit ? `${num(value)} ${unit}` : num(value);
}

/** The one table `npm run bench` prints. */
export function formatMetricsTable(metrics: Metric[]): string {
  const rows = metrics.map((m) => [
    `${m.bench}: ${m.metric}`,
    cell(m.ours, m.unit),
    cell(m.reference, m.unit),
    m.ratio === null ? '–' : formatRatio(m.ratio),
    m.goal ?? '–',
    m.pass === null ? (m.goal ? 'n/a' : '–') : m.pass ? 'pass' : 'FAIL',
  ]);
  return formatTable(['metric', 'ours', 'reference', 'ratio', 'goal', 'pass/fail'], rows);
}

/** The same table in Markdown (docs/performance.md). */
export function markdownMetricsTable(metrics: Metric[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| metric | ours | reference | ratio | goal | pass/fail |', '|---|--:|--:|--:|---|---|'];
  for (const m of metrics) {
    const verdict = m.pass === null ? (m.goal ? 'n/a' : '–') : m.pass ? 'pass' : '**FAIL**';
    lines.push(
      `| ${esc(`${m.bench}: ${m.metric}`)} | ${cell(m.ours, m.unit)} | ${cell(m.reference, m.unit)} | ${m.ratio === null ? '–' : formatRatio(m.ratio)} | ${esc(m.goal ?? '–')} | ${verdict}${m.note ? ` (${esc(m.note)})` : ''} |`,
    );
  }
  return lines.join('\n');
}
