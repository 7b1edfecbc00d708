import type { BtreeResult } from './suites/btree.js';
import type { CacheResult } from './suites/cache.js';
import type { GinResult } from './suites/gin.js';
import type { OrdersResult } from './suites/orders.js';

/**
 * The one result row of every benchmark, the `npm run bench` suite's and runBenchmarks' alike:
 *   { bench, metric, ours, reference, unit, ratio, goal, pass }
 * where `reference` is measured in the same run (pgbench, a raw client call, an empty handler, a sequential
 * scan …), ratio = ours / reference, and goal/pass the target (null when there is none: informational rows).
 * A ratio against a same-run reference is what stays comparable on a busy shared machine; the milliseconds
 * do not. Pure and dependency-free: the runBenchmarks Lambda stores these rows with each run.
 */
export interface Metric {
  /** The bench, or the runBenchmarks suite (btree, gin, cache, orders). */
  bench: string;
  metric: string;
  ours: number;
  reference: number | null;
  unit: string;
  /** ours / reference (null without a reference). */
  ratio: number | null;
  /** Human-readable target, e.g. "ratio ≥ 0.80" or "≤ 150 KB"; null = informational. */
  goal: string | null;
  /** null = no goal, or the goal does not apply to this run (see note). */
  pass: boolean | null;
  note?: string;
}

export interface Goal {
  /** What the goal constrains: the ratio ours/reference, or ours itself. */
  on: 'ratio' | 'ours';
  op: '<=' | '>=' | '==';
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

/** 3 significant digits, thousands separated from 1,000 on (table cells). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return abs === 0 ? '0' : n.toPrecision(2);
}

/** A ratio below 0.1 reads better as a fraction: 1/400 rather than 0.0025×. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  if (ratio > 0 && ratio < 0.1) return `1/${num(1 / ratio)}`;
  return `${num(ratio)}×`;
}

function goalText(goal: Goal, unit: string): string {
  if (goal.text) return goal.text;
  const op = { '<=': '≤', '>=': '≥', '==': '=' }[goal.op];
  return goal.on === 'ratio' ? `ratio ${op} ${formatRatio(goal.value).replace(/×$/, '')}` : `${op} ${num(goal.value)} ${unit}`;
}

/** Builds a row: ratio from ours/reference, pass from the goal. */
export function metric(bench: string, input: MetricInput): Metric {
  const reference = input.reference ?? null;
  const ratio = reference !== null && Number.isFinite(reference) && reference !== 0 ? input.ours / reference : null;
  let pass: boolean | null = null;
  if (input.goal && input.judge !== false) {
    const value = input.goal.on === 'ratio' ? ratio : input.ours;
    const { op, value: target } = input.goal;
    pass =
      value === null || !Number.isFinite(value)
        ? false
        : op === '<='
          ? value <= target
          : op === '>='
            ? value >= target
            : Math.abs(value - target) < 1e-9;
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

export const compact = (n: number) => new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
export const percent = (fraction: number) => `${fraction < 0.01 ? (fraction * 100).toFixed(1) : Math.round(fraction * 100)} %`;

const measured = <T>(value: unknown): T | undefined =>
  typeof value === 'object' && value !== null && !('error' in value) ? (value as T) : undefined;

/**
 * A runBenchmarks run's results as rows, each against the reference the suite measured next to it: an index
 * against no index, the planner's GIN path against a sequential scan, a Redis hit against the aggregate it
 * replaces. Failed or skipped suites give no row (the report names them).
 */
export function runMetrics(results: Record<string, unknown> | null): Metric[] {
  const rows: Metric[] = [];
  const btree = measured<BtreeResult>(results?.btree);
  for (const size of btree?.sizes ?? []) {
    for (const [variant, label] of [
      ['customer_id', '(customer_id)'],
      ['customer_id_order_date', '(customer_id, order_date desc)'],
    ] as const) {
      const result = size.variants[variant];
      rows.push(
        metric('btree', {
          metric: `${compact(size.rows)} orders, ${label} vs no index, median`,
          ours: result.medianMs,
          reference: size.variants.none.medianMs,
          unit: 'ms',
          ...(result.usedIndex ? {} : { note: 'the planner did not use the index' }),
        }),
      );
    }
  }
  const gin = measured<GinResult>(results?.gin);
  for (const rows_ of new Set(gin?.cells.map((cell) => cell.rows))) {
    const cells = gin!.cells.filter((cell) => cell.rows === rows_);
    for (const cell of new Set([cells[0]!, cells.at(-1)!])) {
      rows.push(
        metric('gin', {
          metric: `${compact(cell.rows)} products @ ${percent(cell.selectivity)}: GIN (planner) vs seq scan, median`,
          ours: cell.planner.medianMs,
          reference: cell.seq.medianMs,
          unit: 'ms',
          ...(cell.plannerUsedIndex ? {} : { note: 'the planner kept the sequential scan' }),
        }),
      );
    }
  }
  if (gin) {
    const claim = gin.labClaim;
    rows.push(
      metric('gin', {
        metric: 'cells where the lab’s claim predicts the planner’s choice',
        ours: claim.agreements,
        reference: claim.cells,
        unit: 'cells',
      }),
    );
  }
  const cache = measured<CacheResult>(results?.cache);
  if (cache) {
    rows.push(
      metric('cache', {
        metric: `top 10 over ${compact(cache.orderItems)} lines: Redis hit vs Postgres aggregate, median`,
        ours: cache.redisHit.medianMs,
        reference: cache.postgres.medianMs,
        unit: 'ms',
      }),
    );
  }
  const orders = measured<OrdersResult>(results?.orders);
  if (orders) {
    const calls = `createOrder ×${orders.calls} @ c=${orders.concurrency}`;
    const errors = orders.errors > 0 ? { note: `${orders.errors} errors: ${orders.firstError}` } : {};
    rows.push(
      metric('orders', {
        metric: `${calls}, p50 (p95 ${num(orders.p95Ms)} ms, p99 ${num(orders.p99Ms)} ms)`,
        ours: orders.p50Ms,
        unit: 'ms',
      }),
      metric('orders', { metric: `${calls}, throughput`, ours: orders.ordersPerSecond, unit: 'orders/s', ...errors }),
    );
  }
  return rows;
}

/** The rows a run stored, or (runs stored before rows were) the rows derived from its results. */
export const storedMetrics = (run: { results: Record<string, unknown> | null }): Metric[] =>
  (run.results?.metrics as Metric[] | undefined) ?? runMetrics(run.results);
