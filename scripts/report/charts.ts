/**
 * The benchmarks' charts: Vega-Lite specs rendered to SVG strings in Node (vega's headless 'none'
 * renderer: no browser, no canvas), so an HTML report is self-contained and docs/performance/*.svg are
 * plain files. One spec per question, built from the rows and details the report already reads.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FunctionCold } from '../../bench/cold-start.js';
import { CPU_GROUPS } from '../../bench/lib/cpu.js';
import type { Step } from '../../bench/load.js';
import type { RequestCount } from '../../bench/round-trips.js';
import { compact, type Metric } from '../../shared/benchmarks/metric.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';

const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb', labelLimit: 520 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 280 },
};

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ ...spec, config: CONFIG } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Mixes = Array<{ name: string; steps: Step[] }>;
const chart = (title: string, values: object[], body: object) =>
  ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start' },
    data: { values },
    ...body,
  }) as TopLevelSpec;
const quantity = (field: string, title: string | null, more: object = {}) => ({ field, type: 'quantitative', title, ...more });
const log = (field: string, title: string, more: object = {}) => quantity(field, title, { scale: { type: 'log', ...more } });
const nominal = (field: string, range: string[], more: object = {}) => ({ field, type: 'nominal', scale: { range }, title: null, ...more });
const facet = (field: string, sort?: object) => ({ column: { field, type: 'nominal', title: null, sort } });
/** Lines with points: y against a log x, a line per `series`. */
const lines = (x: object, y: object, colors: string[], more: object = {}) => ({
  mark: { type: 'line', point: true, strokeWidth: 2 },
  encoding: { x, y, color: nominal('series', colors, { sort: null }), ...more },
});
/** Horizontal bars, a row per label; with `goal`, a tick at each row's goal. */
const bars = (x: object, color: object, width = 360, goal = false) => {
  const y = { field: 'label', type: 'nominal', sort: null, title: null };
  const tick = { mark: { type: 'tick', color: '#111827', thickness: 2 }, encoding: { y, x: quantity('goal', null) } };
  return { width, layer: [{ mark: { type: 'bar', height: { band: 0.7 } }, encoding: { y, x, color } }, ...(goal ? [tick] : [])] };
};

/** ours ÷ reference for every row with a reference (log scale from 1: the reference itself). */
export function ratiosSpec(metrics: Metric[]): TopLevelSpec | undefined {
  const values = metrics
    .filter((m) => m.ratio !== null && m.ratio > 0 && Number.isFinite(m.ratio) && !['cold-start', 'round-trips'].includes(m.bench))
    .map((m) => ({
      label: `${m.bench}: ${m.metric}`.slice(0, 100),
      ratio: m.ratio,
      verdict: m.pass === null ? 'no goal' : m.pass ? 'pass' : 'fail',
    }));
  if (values.length === 0) return undefined;
  const y = { field: 'label', type: 'nominal', sort: null, title: null };
  const color = {
    field: 'verdict',
    type: 'nominal',
    title: 'goal',
    scale: { domain: ['pass', 'fail', 'no goal'], range: ['#16a34a', '#dc2626', '#9ca3af'] },
  };
  return chart('Ours ÷ the reference measured in the same run', values, {
    width: 420,
    encoding: { y, x: log('ratio', 'ours ÷ reference (log; 1 = the reference)') },
    layer: [
      { mark: { type: 'bar', height: { band: 0.7 } }, encoding: { x2: { datum: 1 }, color } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { text: quantity('ratio', null, { format: '.3~g' }) } },
    ],
  });
}

export function loadSpec(mixes: Mixes): TopLevelSpec {
  const point = (m: { name: string }, s: Step) => ({ x: s.concurrency, mix: m.name });
  const throughput = mixes.flatMap((m) => m.steps.map((s) => ({ ...point(m, s), y: s.throughput, series: m.name })));
  const latency = mixes.flatMap((m) =>
    m.steps.flatMap((s) => (['p50', 'p95', 'p99'] as const).map((p) => ({ ...point(m, s), y: s.latency[p], series: p }))),
  );
  const x = log('x', 'connections', { base: 2 });
  const dash = { strokeDash: { field: 'mix', type: 'nominal', title: null, legend: { orient: 'bottom' } } };
  return chart('Load through serverless-offline: throughput and latency vs connections', [], {
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
    hconcat: [
      { width: 260, height: 200, data: { values: throughput }, ...lines(x, quantity('y', 'requests/s'), ['#2563eb', '#9ca3af']) },
      {
        width: 260,
        height: 200,
        data: { values: latency },
        ...lines(x, log('y', 'latency ms (log)'), ['#16a34a', '#f59e0b', '#dc2626'], dash),
      },
    ],
  });
}

/** Throughput against concurrency, ours next to its reference, a panel per workload (the scaling table's chart). */
export function scalingSpec(
  title: string,
  unit: string,
  points: Array<{ panel: string; x: number; series: string; y: number }>,
): TopLevelSpec {
  return chart(title, points, {
    facet: facet('panel'),
    spec: {
      width: 240,
      height: 180,
      ...lines(log('x', 'concurrency', { base: 2 }), quantity('y', unit), ['#2563eb', '#9ca3af', '#d1d5db']),
    },
  });
}

export function loadCpuSpec(mixes: Mixes, cores: number): TopLevelSpec | undefined {
  if (!mixes.some((m) => m.steps.some((s) => s.cpu))) return undefined;
  const values = mixes.flatMap((m) =>
    m.steps.flatMap((s) => CPU_GROUPS.map((group) => ({ mix: m.name, x: String(s.concurrency), group, y: s.cpu?.[group] ?? 0 }))),
  );
  const colors = ['#2563eb', '#7c3aed', '#a78bfa', '#f59e0b', '#dc2626', '#fb7185', '#6b7280', '#d1d5db'];
  const color = nominal('group', colors, { scale: { domain: CPU_GROUPS, range: colors }, sort: CPU_GROUPS });
  const bars = {
    mark: 'bar',
    encoding: {
      x: { field: 'x', type: 'ordinal', title: 'connections' },
      y: quantity('y', 'cores used', { stack: 'zero' }),
      color,
      order: { field: 'group' },
    },
  };
  const machine = { mark: { type: 'rule', strokeDash: [4, 3], color: '#111827' }, encoding: { y: { datum: cores } } };
  return chart(`Where the CPU went during each load step (${cores} cores on the machine)`, values, {
    facet: facet(
      'mix',
      mixes.map((m) => m.name),
    ),
    spec: { width: 220, height: 200, layer: [bars, machine] },
  });
}

export function coldStartSpec(functions: FunctionCold[]): TopLevelSpec {
  const values = functions.flatMap((f) => [
    ...(f.initCpuMs ? [{ label: f.name, measure: 'module init, CPU ms (goal ≤ 100)', value: f.initCpuMs.median, goal: 100 }] : []),
    { label: f.name, measure: 'zipped KB (goal ≤ 150)', value: Math.round(f.zippedBytes / 102.4) / 10, goal: 150 },
  ]);
  const over = { condition: { test: 'datum.value > datum.goal', value: '#dc2626' }, value: '#2563eb' };
  return chart('Cold start: per-function bundle and module initialisation (median)', values, {
    facet: facet('measure'),
    spec: bars(quantity('value', null), over, 260, true),
    resolve: { scale: { x: 'independent' } },
  });
}

export function roundTripsSpec(counts: RequestCount[]): TopLevelSpec {
  const stores = { Postgres: 'pgRoundTrips', 'Redis (Upstash REST)': 'redis', MongoDB: 'mongo' } as const;
  const values = counts.flatMap((c) => Object.entries(stores).map(([store, key]) => ({ label: c.request, store, trips: c[key] })));
  const x = quantity('trips', 'round trips', { stack: 'zero', axis: { tickMinStep: 1 } });
  return chart(
    'Round trips per warm request (named prepared statements)',
    values,
    bars(x, nominal('store', ['#7c3aed', '#dc2626', '#16a34a'])),
  );
}

/** GIN crossover: median time vs match rate, a panel per table size; a cross where the planner kept the scan. */
export function ginCrossoverSpec(gin: GinResult): TopLevelSpec {
  const names = ['no index (seq scan)', 'GIN, planner’s choice', 'GIN forced'];
  const values = gin.cells.flatMap((cell) =>
    [cell.seq, cell.planner, cell.forced].map((m, i) => {
      const kept = i === 1 && !cell.plannerUsedIndex;
      return {
        rows: `${compact(cell.rows)} products`,
        order: cell.rows,
        x: cell.selectivity,
        y: m.medianMs,
        series: names[i],
        shape: kept ? 'planner kept the seq scan' : 'as labelled',
      };
    }),
  );
  const shape = nominal('shape', ['circle', 'cross']);
  return chart('GIN crossover: containment query time vs match rate (log–log)', values, {
    facet: facet('rows', { field: 'order' }),
    spec: {
      width: 220,
      height: 200,
      ...lines({ ...log('x', 'match rate'), axis: { format: '.1~%' } }, log('y', 'median ms'), ['#dc2626', '#16a34a', '#9ca3af'], {
        shape,
      }),
    },
    resolve: { scale: { y: 'independent' } },
  });
}

/** B-tree: median time vs table size, per index variant (log–log). */
export function btreeSpec(btree: BtreeResult): TopLevelSpec {
  const names = { none: 'no index (seq scan)', customer_id: '(customer_id)', customer_id_order_date: '(customer_id, order_date desc)' };
  const values = btree.sizes.flatMap((size) =>
    Object.entries(names).map(([v, series]) => ({ x: size.rows, series, y: size.variants[v as keyof typeof names].medianMs })),
  );
  return chart('B-tree: a customer’s order history, median time vs table size (log–log)', values, {
    width: 480,
    height: 220,
    ...lines({ ...log('x', 'orders in the table'), axis: { format: '~s' } }, log('y', 'median ms'), ['#dc2626', '#2563eb', '#16a34a']),
  });
}

/** Orders: createOrder latency percentiles. */
export function ordersSpec(orders: OrdersResult): TopLevelSpec {
  const values = (['p50', 'p95', 'p99', 'max'] as const).map((label) => ({ label, ms: orders[`${label}Ms`] }));
  return chart(
    `createOrder latency at concurrency ${orders.concurrency} (${orders.calls} calls)`,
    values,
    bars(quantity('ms', 'ms'), { value: '#7c3aed' }, 320),
  );
}
