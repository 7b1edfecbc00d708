import type { Sql } from '../clients/postgres.js';
import { median, round } from './stats.js';

/** EXPLAIN helpers and timed series shared by the suites (the statistics are in stats.ts). */

export interface Timing {
  /** Median of the timed runs, in milliseconds. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Every timed run, in order (milliseconds). */
  samplesMs: number[];
}

/** A series of samples as stored: median, range and every sample. */
export function timing(samples: number[]): Timing {
  return {
    medianMs: round(median(samples)),
    minMs: round(Math.min(...samples)),
    maxMs: round(Math.max(...samples)),
    samplesMs: samples.map((sample) => round(sample)),
  };
}

/** One node of an EXPLAIN (FORMAT JSON) plan: the keys we read, and everything else kept as is. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

export interface ExplainOutput {
  Plan: PlanNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
  [key: string]: unknown;
}

/** Every node of a plan, depth first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

export interface PlanShape {
  /** Distinct node types, outermost first ("Gather Merge", "Sort", "Parallel Seq Scan"). */
  nodeTypes: string[];
  /** Names of the indexes the plan reads. */
  indexes: string[];
}

export function planShape(plan: PlanNode): PlanShape {
  const nodes = planNodes(plan);
  return {
    nodeTypes: [...new Set(nodes.map((node) => node['Node Type']))],
    indexes: [...new Set(nodes.map((node) => node['Index Name']).filter((name): name is string => Boolean(name)))],
  };
}

export interface QueryMeasurement extends Timing {
  /** Median planning time of the timed runs (ms). */
  planningMs: number;
  /** Rows the query returned, and the planner's estimate of them (from the representative plan). */
  rows: number;
  estimatedRows: number;
  shape: PlanShape;
}

export interface MeasuredQuery {
  measurement: QueryMeasurement;
  /** EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of a representative run (after the timed ones). */
  plan: ExplainOutput;
}

async function explain(sql: Sql, options: string, query: string, params: unknown[]): Promise<ExplainOutput> {
  const rows = await sql.unsafe<Array<{ 'QUERY PLAN': ExplainOutput[] }>>(`explain (${options}, format json) ${query}`, params as never[]);
  const output = rows[0]?.['QUERY PLAN']?.[0];
  if (!output) throw new Error('EXPLAIN returned no plan');
  return output;
}

/** One EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) run of a query. */
export function explainAnalyze(sql: Sql, query: string, params: unknown[] = []): Promise<ExplainOutput> {
  return explain(sql, 'analyze, buffers', query, params);
}

/**
 * Times a query on the server: one warm-up run, then `repetitions` runs of
 * `EXPLAIN (ANALYZE, TIMING OFF)` (the server's execution time without per-node clock overhead and
 * without shipping result rows, so a 0.1 ms index lookup is not drowned by the network), then one
 * `EXPLAIN (ANALYZE, BUFFERS)` whose plan is kept. `params(i)` gives run i its parameters, so each
 * run can look up a different key.
 */
export async function measureQuery(
  sql: Sql,
  query: string,
  params: (run: number) => unknown[],
  repetitions: number,
): Promise<MeasuredQuery> {
  await explain(sql, 'analyze, timing off', query, params(0));
  const execution: number[] = [];
  const planning: number[] = [];
  for (let run = 1; run <= repetitions; run += 1) {
    const output = await explain(sql, 'analyze, timing off, summary on', query, params(run));
    execution.push(output['Execution Time'] ?? Number.NaN);
    planning.push(output['Planning Time'] ?? Number.NaN);
  }
  const plan = await explain(sql, 'analyze, buffers', query, params(repetitions + 1));
  return {
    measurement: {
      ...timing(execution),
      planningMs: round(median(planning)),
      rows: Number(plan.Plan['Actual Rows'] ?? 0),
      estimatedRows: Number(plan.Plan['Plan Rows'] ?? 0),
      shape: planShape(plan.Plan),
    },
    plan,
  };
}

/** Wall-clock latency of `fn` as the client sees it: one warm-up call, then `repetitions` timed calls. */
export async function measureLatency(fn: (run: number) => Promise<unknown>, repetitions: number, warmups = 1): Promise<Timing> {
  for (let run = 0; run < warmups; run += 1) await fn(-1 - run);
  const samples: number[] = [];
  for (let run = 0; run < repetitions; run += 1) {
    const started = performance.now();
    await fn(run);
    samples.push(performance.now() - started);
  }
  return timing(samples);
}

/** A deterministic pseudo-random integer in [1, max] for run i (spreads lookups over the key space). */
export function spread(run: number, max: number, salt = 0): number {
  const x = Math.imul((run + 1) * 2654435761 + salt * 40503, 0x9e3779b1) >>> 0;
  return 1 + (x % max);
}
