/**
 * The benchmarks' charts: Vega-Lite specs rendered to SVG strings in Node (vega's headless 'none'
 * renderer: no browser, no canvas), so an HTML report is self-contained and docs/performance/*.svg are
 * plain files. One spec per question, built from the rows and details the report already reads.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FunctionCold } from '../../bench/cold-start.js';
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
  header: { labelFontSize: 12, titleFontSize: 12 },
};

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec), {
    renderer: 'none',
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const chart = (title: string, body: Record<string, unknown>) =>
  ({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: { text: title, anchor: 'start' }, ...body }) as TopLevelSpec;
const log2 = (title: string) => ({ field: 'x', type: 'quantitative', scale: { type: 'log', base: 2 }, title });
const logX = (title: string, format?: string) => ({ field: 'x', type: 'quantitative', scale: { type: 'log' }, title, axis: { format } });
const logY = (title: string) => ({ field: 'y', type: 'quantitative', scale: { type: 'log' }, title });
const series = (range: string[], sort?: string[]) => ({ field: 'series', type: 'nominal', scale: { range }, title: null, sort });
const lines = (values: object[], x: object, y: object, color: object, more: object = {}) => ({
  data: { values },
  mark: { type: 'line', point: true, strokeWidth: 2 },
  encoding: { x, y, color, ...more },
});
/** Horizontal bars, a row per label; with `goal`, a tick at each row's goal. */
const bars = (x: object, color: object, width = 360, goal = false) => {
  const y = { field: 'label', type: 'nominal', sort: null, title: null };
  const tick = { mark: { type: 'tick', color: '#111827', thickness: 2 }, encoding: { y, x: { field: 'goal', type: 'quantitative' } } };
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
  const x = { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'ours ÷ reference (log; 1 = the reference)' };
  return chart('Ours ÷ the reference measured in the same run', {
    width: 420,
    data: { values },
    encoding: { y: { field: 'label', type: 'nominal', sort: null, title: null }, x },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: {
          x2: { datum: 1 },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: 'goal',
            scale: { domain: ['pass', 'fail', 'no goal'], range: ['#16a34a', '#dc2626', '#9ca3af'] },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: { text: { field: 'ratio', type: 'quantitative', format: '.3~g' } },
      },
    ],
  });
}

export function loadSpec(mixes: Array<{ name: string; steps: Step[] }>): TopLevelSpec {
  const at = (m: { name: string }, s: Step) => ({ x: s.concurrency, mix: m.name });
  const throughput = mixes.flatMap((m) => m.steps.map((s) => ({ ...at(m, s), y: s.throughput, series: m.name })));
  const latency = mixes.flatMap((m) =>
    m.steps.flatMap((s) => (['p50', 'p95', 'p99'] as const).map((p) => ({ ...at(m, s), y: s.latency[p], series: p }))),
  );
  const size = { width: 260, height: 200 };
  return chart('Load through serverless-offline: throughput and latency vs connections', {
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
    hconcat: [
      {
        ...size,
        ...lines(
          throughput,
          log2('connections'),
          { field: 'y', type: 'quantitative', title: 'requests/s' },
          series(['#2563eb', '#9ca3af']),
        ),
      },
      {
        ...size,
        ...lines(latency, log2('connections'), logY('latency ms (log)'), series(['#16a34a', '#f59e0b', '#dc2626']), {
          strokeDash: { field: 'mix', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        }),
      },
    ],
  });
}

export const CPU_GROUPS = [
  'serverless-offline',
  'postgres',
  'pgbouncer',
  'ferretdb',
  'redis',
  'upstash-gateway',
  'load generator',
  'other',
];

export function loadCpuSpec(mixes: Array<{ name: string; steps: Step[] }>, cores: number): TopLevelSpec | undefined {
  if (!mixes.some((m) => m.steps.some((s) => s.cpu))) return undefined;
  const values = mixes.flatMap((m) =>
    m.steps.flatMap((s) =>
      CPU_GROUPS.map((group) => ({ mix: m.name, connections: String(s.concurrency), group, cores: s.cpu?.[group] ?? 0 })),
    ),
  );
  const range = ['#2563eb', '#7c3aed', '#a78bfa', '#f59e0b', '#dc2626', '#fb7185', '#6b7280', '#d1d5db'];
  return chart(`Where the CPU went during each load step (${cores} cores on the machine)`, {
    data: { values },
    facet: { column: { field: 'mix', type: 'nominal', title: null, sort: mixes.map((m) => m.name) } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'connections', type: 'ordinal', sort: null },
            y: { field: 'cores', type: 'quantitative', stack: 'zero', title: 'cores used' },
            color: { field: 'group', type: 'nominal', sort: CPU_GROUPS, scale: { domain: CPU_GROUPS, range }, title: null },
            order: { field: 'group', sort: 'ascending' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#111827' }, encoding: { y: { datum: cores } } },
      ],
    },
  });
}

export function coldStartSpec(functions: FunctionCold[]): TopLevelSpec {
  const values = functions.flatMap((f) => [
    ...(f.initCpuMs ? [{ label: f.name, measure: 'module init, CPU ms (goal ≤ 100)', value: f.initCpuMs.median, goal: 100 }] : []),
    { label: f.name, measure: 'zipped KB (goal ≤ 150)', value: Math.round(f.zippedBytes / 102.4) / 10, goal: 150 },
  ]);
  const over = { condition: { test: 'datum.value > datum.goal', value: '#dc2626' }, value: '#2563eb' };
  return chart('Cold start: per-function bundle and module initialisation (median)', {
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null } },
    spec: bars({ field: 'value', type: 'quantitative', title: null }, over, 260, true),
    resolve: { scale: { x: 'independent' } },
  });
}

export function roundTripsSpec(counts: RequestCount[]): TopLevelSpec {
  const stores = [
    ['Postgres', 'pgRoundTrips'],
    ['Redis (Upstash REST)', 'redis'],
    ['MongoDB', 'mongo'],
  ] as const;
  const values = counts.flatMap((c) => stores.map(([store, key]) => ({ label: c.request, store, trips: c[key] })));
  const x = { field: 'trips', type: 'quantitative', stack: 'zero', title: 'round trips', axis: { tickMinStep: 1 } };
  const color = { field: 'store', type: 'nominal', scale: { range: ['#7c3aed', '#dc2626', '#16a34a'] }, title: null };
  return chart('Round trips per warm request (named prepared statements)', { data: { values }, ...bars(x, color) });
}

const VARIANTS = { domain: ['no index (seq scan)', 'GIN, planner’s choice', 'GIN forced'], range: ['#dc2626', '#16a34a', '#9ca3af'] };

/** GIN crossover: median time vs match rate, one panel per table size, without and with the index. */
export function ginCrossoverSpec(gin: GinResult): TopLevelSpec {
  const values = gin.cells.flatMap((cell) => {
    const at = { rows: `${compact(cell.rows)} products`, order: cell.rows, x: cell.selectivity, usedIndex: 'n/a' };
    return [
      { ...at, series: VARIANTS.domain[0], y: cell.seq.medianMs },
      {
        ...at,
        series: VARIANTS.domain[1],
        y: cell.planner.medianMs,
        usedIndex: cell.plannerUsedIndex ? 'planner used GIN' : 'planner kept seq scan',
      },
      { ...at, series: VARIANTS.domain[2], y: cell.forced.medianMs },
    ];
  });
  const color = { field: 'series', type: 'nominal', scale: VARIANTS, title: null };
  const x = logX('match rate', '.1~%');
  return chart('GIN crossover: containment query time vs match rate (log–log)', {
    data: { values },
    facet: { column: { field: 'rows', type: 'nominal', sort: { field: 'order' }, title: null } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x,
            y: logY('median ms'),
            color,
            strokeDash: { condition: { test: "datum.series === 'GIN forced'", value: [4, 3] }, value: [1, 0] },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 45 },
          encoding: {
            x,
            y: logY('median ms'),
            color,
            shape: {
              field: 'usedIndex',
              type: 'nominal',
              scale: { domain: ['planner used GIN', 'planner kept seq scan', 'n/a'], range: ['circle', 'cross', 'circle'] },
              legend: { values: ['planner used GIN', 'planner kept seq scan'], title: null },
            },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  });
}

/** B-tree: median time vs table size, per index variant (log–log). */
export function btreeSpec(btree: BtreeResult): TopLevelSpec {
  const names = { none: 'no index (seq scan)', customer_id: '(customer_id)', customer_id_order_date: '(customer_id, order_date desc)' };
  const values = btree.sizes.flatMap((size) =>
    Object.entries(names).map(([variant, series]) => ({ x: size.rows, series, y: size.variants[variant as keyof typeof names].medianMs })),
  );
  return chart('B-tree: a customer’s order history, median time vs table size (log–log)', {
    width: 480,
    height: 220,
    ...lines(values, logX('orders in the table', '~s'), logY('median ms'), series(['#dc2626', '#2563eb', '#16a34a'], Object.values(names))),
  });
}

/** Orders: createOrder latency percentiles. */
export function ordersSpec(orders: OrdersResult): TopLevelSpec {
  const values = (['p50', 'p95', 'p99', 'max'] as const).map((label) => ({ label, ms: orders[`${label}Ms`] }));
  const x = { field: 'ms', type: 'quantitative', title: 'ms' };
  return chart(`createOrder latency at concurrency ${orders.concurrency} (${orders.calls} calls)`, {
    data: { values },
    ...bars(x, { value: '#7c3aed' }, 320),
  });
}
