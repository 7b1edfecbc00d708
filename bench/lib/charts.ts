/**
 * The suite's charts: Vega-Lite specs rendered to SVG in Node with the report's renderer
 * (scripts/report/charts.ts: vega's headless 'none' renderer, no browser).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FunctionCold } from '../cold-start.js';
import type { Step } from '../load.js';
import type { RequestCount } from '../round-trips.js';
import type { Metric, SuiteResult } from './result.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PASS_COLORS = { domain: ['pass', 'fail', 'no goal'], range: ['#16a34a', '#dc2626', '#9ca3af'] };

const details = <T>(result: SuiteResult, bench: string): T | undefined =>
  result.benches.find((b) => b.name === bench && b.status === 'ok')?.details as T | undefined;

/** ours / reference for every row that has a reference (log scale; 1 = the reference itself). */
export function ratiosSpec(metrics: Metric[]): TopLevelSpec | undefined {
  const values = metrics
    .filter((m) => m.ratio !== null && Number.isFinite(m.ratio) && m.ratio > 0 && !['cold-start', 'round-trips'].includes(m.bench))
    .map((m) => ({
      label: `${m.bench}: ${m.metric}`.slice(0, 100),
      ratio: m.ratio!,
      verdict: m.pass === null ? 'no goal' : m.pass ? 'pass' : 'fail',
    }));
  if (values.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    config: { axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb', labelLimit: 640 } },
    title: { text: 'Ours ÷ the reference measured in the same run (log scale)', anchor: 'start' },
    width: 420,
    data: { values },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 520 } },
      x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'ratio (1 = the reference)' },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: { x2: { datum: 1 }, color: { field: 'verdict', type: 'nominal', scale: PASS_COLORS, title: 'goal' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: { text: { field: 'ratio', type: 'quantitative', format: '.3~g' } },
      },
    ],
  } as TopLevelSpec;
}

export function loadThroughputSpec(mixes: Array<{ name: string; steps: Step[] }>): TopLevelSpec {
  const values = mixes.flatMap((m) => m.steps.map((s) => ({ concurrency: s.concurrency, mix: m.name, value: s.throughput })));
  const latency = mixes.flatMap((m) =>
    m.steps.flatMap((s) => [
      { concurrency: s.concurrency, mix: m.name, percentile: 'p50', ms: s.latency.p50 },
      { concurrency: s.concurrency, mix: m.name, percentile: 'p95', ms: s.latency.p95 },
      { concurrency: s.concurrency, mix: m.name, percentile: 'p99', ms: s.latency.p99 },
    ]),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Load through serverless-offline: throughput and latency vs connections', anchor: 'start' },
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
    hconcat: [
      {
        width: 260,
        height: 200,
        data: { values },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'concurrency', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'connections' },
          y: { field: 'value', type: 'quantitative', title: 'requests/s' },
          color: { field: 'mix', type: 'nominal', scale: { range: ['#2563eb', '#9ca3af'] }, title: null, legend: { orient: 'bottom' } },
        },
      },
      {
        width: 260,
        height: 200,
        data: { values: latency },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'concurrency', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'connections' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency ms (log)' },
          color: { field: 'percentile', type: 'nominal', scale: { range: ['#16a34a', '#f59e0b', '#dc2626'] }, title: null },
          strokeDash: { field: 'mix', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        },
      },
    ],
  } as TopLevelSpec;
}

export function loadCpuSpec(mixes: Array<{ name: string; steps: Step[] }>, cores: number): TopLevelSpec | undefined {
  const groups = ['serverless-offline', 'postgres', 'pgbouncer', 'ferretdb', 'redis', 'upstash-gateway', 'load generator', 'other'];
  const values = mixes.flatMap((m) =>
    m.steps.flatMap((s) => groups.map((group) => ({ mix: m.name, concurrency: String(s.concurrency), group, cores: s.cpu?.[group] ?? 0 }))),
  );
  if (!mixes.some((m) => m.steps.some((s) => s.cpu))) return undefined;
  return {
    $schema: SCHEMA,
    title: { text: `Where the CPU went during each load step (${cores} cores on the machine)`, anchor: 'start' },
    data: { values },
    facet: { column: { field: 'mix', type: 'nominal', title: null, sort: mixes.map((m) => m.name) } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'concurrency', type: 'ordinal', sort: null, title: 'connections' },
            y: { field: 'cores', type: 'quantitative', stack: 'zero', title: 'cores used' },
            color: {
              field: 'group',
              type: 'nominal',
              sort: groups,
              scale: { domain: groups, range: ['#2563eb', '#7c3aed', '#a78bfa', '#f59e0b', '#dc2626', '#fb7185', '#6b7280', '#d1d5db'] },
              title: null,
            },
            order: { field: 'group', sort: 'ascending' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#111827' }, encoding: { y: { datum: cores } } },
      ],
    },
  } as TopLevelSpec;
}

export function coldStartSpec(functions: FunctionCold[]): TopLevelSpec {
  const values = functions.flatMap((f) => [
    ...(f.initCpuMs ? [{ fn: f.name, measure: 'module init, CPU ms (goal ≤ 100)', value: f.initCpuMs.median, goal: 100 }] : []),
    { fn: f.name, measure: 'zipped KB (goal ≤ 150)', value: Math.round((f.zippedBytes / 1024) * 10) / 10, goal: 150 },
  ]);
  return {
    $schema: SCHEMA,
    title: { text: 'Cold start: per-function bundle and module initialisation (median)', anchor: 'start' },
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null } },
    spec: {
      width: 260,
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.7 } },
          encoding: {
            y: { field: 'fn', type: 'nominal', sort: null, title: null },
            x: { field: 'value', type: 'quantitative', title: null },
            color: { condition: { test: 'datum.value > datum.goal', value: '#dc2626' }, value: '#2563eb' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#111827' }, encoding: { x: { field: 'goal', type: 'quantitative' } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

export function roundTripsSpec(counts: RequestCount[]): TopLevelSpec {
  const values = counts.flatMap((c) => [
    { request: c.request, store: 'Postgres', trips: c.pgRoundTrips },
    { request: c.request, store: 'Redis (Upstash REST)', trips: c.redis },
    { request: c.request, store: 'MongoDB', trips: c.mongo },
  ]);
  return {
    $schema: SCHEMA,
    title: { text: 'Round trips per warm request (named prepared statements)', anchor: 'start' },
    width: 360,
    data: { values },
    mark: { type: 'bar', height: { band: 0.7 } },
    encoding: {
      y: { field: 'request', type: 'nominal', sort: null, title: null },
      x: { field: 'trips', type: 'quantitative', stack: 'zero', title: 'round trips', axis: { tickMinStep: 1 } },
      color: { field: 'store', type: 'nominal', scale: { range: ['#7c3aed', '#dc2626', '#16a34a'] }, title: null },
    },
  } as TopLevelSpec;
}

/** name → spec for every chart this result supports. */
export function suiteCharts(result: SuiteResult): Record<string, TopLevelSpec> {
  const charts: Record<string, TopLevelSpec> = {};
  const ratios = ratiosSpec(result.metrics);
  if (ratios) charts.ratios = ratios;
  const load = details<{ steps: Step[]; mixes?: Array<{ mix: { name: string }; steps: Step[] }> }>(result, 'load');
  if (load?.steps.length) {
    const mixes = load.mixes?.map((m) => ({ name: m.mix.name, steps: m.steps })) ?? [{ name: 'shop 70/20/10', steps: load.steps }];
    charts['load-throughput'] = loadThroughputSpec(mixes);
    const cpu = loadCpuSpec(mixes, result.machine.cpus);
    if (cpu) charts['load-cpu'] = cpu;
  }
  const cold = details<{ functions: FunctionCold[] }>(result, 'cold-start');
  if (cold) charts['cold-start'] = coldStartSpec(cold.functions);
  const trips = details<{ prepared: RequestCount[] }>(result, 'round-trips');
  if (trips) charts['round-trips'] = roundTripsSpec(trips.prepared);
  return charts;
}
