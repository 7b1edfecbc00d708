import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';
import { isFailure, percent, rowsCompact, suiteResults } from './model.js';

/**
 * Charts as Vega-Lite specs rendered to SVG strings in Node (vega's headless 'none' renderer: no
 * browser, no canvas), so the HTML report is self-contained.
 */

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb', labelLimit: 320 },
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

const SUITE_COLORS = { domain: ['B-tree', 'GIN', 'Cache'], range: ['#2563eb', '#16a34a', '#dc2626'] };

/** Speedup bars per suite (log scale): B-tree per size and index, GIN per size at the rarest and commonest probe, cache. */
export function speedupSpec(run: StoredRun): TopLevelSpec | undefined {
  const results = suiteResults(run);
  const bars: Array<{ suite: string; label: string; speedup: number }> = [];
  if (results.btree && !isFailure(results.btree)) {
    for (const size of (results.btree as BtreeResult).sizes) {
      bars.push({ suite: 'B-tree', label: `${rowsCompact(size.rows)} orders · (customer_id)`, speedup: size.speedup.customer_id });
      bars.push({
        suite: 'B-tree',
        label: `${rowsCompact(size.rows)} orders · (customer_id, order_date)`,
        speedup: size.speedup.customer_id_order_date,
      });
    }
  }
  if (results.gin && !isFailure(results.gin)) {
    const gin = results.gin as GinResult;
    for (const rows of [...new Set(gin.cells.map((cell) => cell.rows))]) {
      const cells = gin.cells.filter((cell) => cell.rows === rows);
      for (const cell of [cells[0]!, cells.find((c) => c.selectivity === 0.05) ?? cells[0]!, cells.at(-1)!]) {
        bars.push({ suite: 'GIN', label: `${rowsCompact(rows)} products · ${percent(cell.selectivity)} match`, speedup: cell.speedup });
      }
    }
  }
  if (results.cache && !isFailure(results.cache)) {
    const cache = results.cache as CacheResult;
    bars.push({ suite: 'Cache', label: `top 10 · ${rowsCompact(cache.orderItems)} lines · Redis hit`, speedup: cache.speedup });
  }
  if (bars.length === 0) return undefined;
  // Dedupe labels (the same GIN cell picked twice for a short selectivity list).
  const unique = bars.filter((bar, i) => bars.findIndex((other) => other.label === bar.label && other.suite === bar.suite) === i);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Speedup (median before ÷ median after, log scale)', anchor: 'start' },
    width: 480,
    data: { values: unique },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 360 } },
      // Bars grow from 1× (no change): right = faster, left = slower. A log axis has no zero.
      x: { field: 'speedup', type: 'quantitative', scale: { type: 'log' }, title: '× faster (1 = no change)' },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.75 } },
        encoding: { x2: { datum: 1 }, color: { field: 'suite', type: 'nominal', scale: SUITE_COLORS, title: 'suite' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: { text: { field: 'speedup', type: 'quantitative', format: ',.1f' } },
      },
    ],
  } as TopLevelSpec;
}

const VARIANT_COLORS = {
  domain: ['no index (seq scan)', 'GIN, planner’s choice', 'GIN forced'],
  range: ['#dc2626', '#16a34a', '#9ca3af'],
};

/** GIN crossover: median time vs match rate, one panel per table size, without/with the index. */
export function ginCrossoverSpec(gin: GinResult): TopLevelSpec {
  const values = gin.cells.flatMap((cell) => [
    {
      rows: `${rowsCompact(cell.rows)} products`,
      order: cell.rows,
      selectivity: cell.selectivity,
      variant: 'no index (seq scan)',
      ms: cell.seq.medianMs,
      usedIndex: 'n/a',
    },
    {
      rows: `${rowsCompact(cell.rows)} products`,
      order: cell.rows,
      selectivity: cell.selectivity,
      variant: 'GIN, planner’s choice',
      ms: cell.planner.medianMs,
      usedIndex: cell.plannerUsedIndex ? 'planner used GIN' : 'planner kept seq scan',
    },
    {
      rows: `${rowsCompact(cell.rows)} products`,
      order: cell.rows,
      selectivity: cell.selectivity,
      variant: 'GIN forced',
      ms: cell.forced.medianMs,
      usedIndex: 'n/a',
    },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'GIN crossover: containment query time vs match rate (log–log)', anchor: 'start' },
    data: { values },
    facet: { column: { field: 'rows', type: 'nominal', sort: { field: 'order' }, title: null } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        {
          mark: { type: 'line', point: false, strokeWidth: 2 },
          encoding: {
            x: { field: 'selectivity', type: 'quantitative', scale: { type: 'log' }, title: 'match rate', axis: { format: '.1~%' } },
            y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'median ms' },
            color: { field: 'variant', type: 'nominal', scale: VARIANT_COLORS, title: null },
            strokeDash: { condition: { test: "datum.variant === 'GIN forced'", value: [4, 3] }, value: [1, 0] },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 45 },
          encoding: {
            x: { field: 'selectivity', type: 'quantitative', scale: { type: 'log' } },
            y: { field: 'ms', type: 'quantitative', scale: { type: 'log' } },
            color: { field: 'variant', type: 'nominal', scale: VARIANT_COLORS, title: null },
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
  } as TopLevelSpec;
}

/** B-tree: median time vs table size, per index variant (log–log). */
export function btreeSpec(btree: BtreeResult): TopLevelSpec {
  const names = {
    none: 'no index (seq scan)',
    customer_id: '(customer_id)',
    customer_id_order_date: '(customer_id, order_date desc)',
  } as const;
  const values = btree.sizes.flatMap((size) =>
    (Object.keys(names) as Array<keyof typeof names>).map((variant) => ({
      rows: size.rows,
      variant: names[variant],
      ms: size.variants[variant].medianMs,
    })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'B-tree: a customer’s order history, median time vs table size (log–log)', anchor: 'start' },
    width: 480,
    height: 220,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'rows', type: 'quantitative', scale: { type: 'log' }, title: 'orders in the table', axis: { format: '~s' } },
      y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'median ms' },
      color: {
        field: 'variant',
        type: 'nominal',
        scale: { range: ['#dc2626', '#2563eb', '#16a34a'] },
        title: null,
        sort: Object.values(names),
      },
    },
  } as TopLevelSpec;
}

/** Orders: createOrder latency percentiles. */
export function ordersSpec(orders: OrdersResult): TopLevelSpec {
  const values = [
    { percentile: 'p50', ms: orders.p50Ms },
    { percentile: 'p95', ms: orders.p95Ms },
    { percentile: 'p99', ms: orders.p99Ms },
    { percentile: 'max', ms: orders.maxMs },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `createOrder latency at concurrency ${orders.concurrency} (${orders.calls} calls)`, anchor: 'start' },
    width: 320,
    data: { values },
    layer: [
      {
        mark: { type: 'bar', color: '#7c3aed' },
        encoding: {
          y: { field: 'percentile', type: 'nominal', sort: null, title: null },
          x: { field: 'ms', type: 'quantitative', title: 'ms' },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: {
          y: { field: 'percentile', type: 'nominal', sort: null },
          x: { field: 'ms', type: 'quantitative' },
          text: { field: 'ms', type: 'quantitative', format: '.2f' },
        },
      },
    ],
  } as TopLevelSpec;
}
