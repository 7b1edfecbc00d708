/**
 * The console's charts: plain SVG drawn by Preact, a few hundred bytes of code instead of Vega-Lite's
 * ~275 KB (gzipped, with Vega) — which would also need 'unsafe-eval' (its expressions compile with
 * Function) under the page's CSP. Lines on linear or log axes, horizontal bars, columns. Every chart is a
 * <figure> with a caption and an accessible name; colours are SVG attributes, never inline styles.
 */
import type { ComponentChildren } from 'preact';
import { formatNumber } from './ui.js';

export interface Point {
  x: number;
  y: number;
}
export interface Series {
  name: string;
  points: Point[];
}

export const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#7c3aed', '#d97706', '#0891b2', '#db2777', '#4b5563'];
const M = { left: 58, right: 14, top: 10, bottom: 42 };

interface Axis {
  map: (value: number) => number;
  ticks: number[];
}

/**
 * A scale over `values` onto [from, to]: log10 (positive values) or linear, with round ticks. A linear
 * scale starts at zero (amounts, times) unless `zero` is false (dates: their own range).
 */
function axis(values: number[], log: boolean, from: number, to: number, zero = true): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (log) {
    let lo = Math.floor(Math.log10(Math.min(...finite, 1e9)));
    let hi = Math.ceil(Math.log10(Math.max(...finite, 1e-9)));
    if (!Number.isFinite(lo) || finite.length === 0) [lo, hi] = [0, 1];
    if (hi <= lo) hi = lo + 1;
    const decades = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    const ticks = hi - lo <= 2 ? decades.flatMap((d) => [d, 2 * d, 5 * d]).filter((t) => t <= 10 ** hi) : decades;
    return { map: (v) => from + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (to - from), ticks };
  }
  let max = Math.max(...finite, ...(zero ? [0] : []));
  let min = Math.min(...finite, ...(zero ? [0] : []));
  const pad = Math.abs(min) * 1e-4 || 1; // one value alone: a little room either side (dates: ±2 days)
  if (!zero && max - min < 1e-9) [min, max] = [min - pad, max + pad];
  const raw = (max - min || 1) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const [lo, hi] = [Math.floor(min / step) * step, Math.ceil(max / step) * step || step];
  const ticks = Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks };
}

const label = (n: number) => (Math.abs(n) >= 1000 ? new Intl.NumberFormat('en-US', { notation: 'compact' }).format(n) : formatNumber(n, 3));

function Legend({ names }: { names: string[] }) {
  if (names.length < 2) return null;
  return (
    <ul class="legend">
      {names.map((name, i) => (
        <li key={name}>
          <svg width="12" height="12" aria-hidden="true">
            <rect width="12" height="12" rx="2" fill={COLORS[i % COLORS.length]} />
          </svg>
          {name}
        </li>
      ))}
    </ul>
  );
}

function Figure({ title, children, legend = [] }: { title: string; children: ComponentChildren; legend?: string[] }) {
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {children}
      <Legend names={legend} />
    </figure>
  );
}

export function LineChart(props: {
  title: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  xTitle: string;
  yTitle: string;
  xFormat?: (x: number) => string;
  width?: number;
  height?: number;
}) {
  const { width = 520, height = 260, series } = props;
  const points = series.flatMap((s) => s.points);
  const x = axis(
    points.map((p) => p.x),
    props.xLog ?? false,
    M.left,
    width - M.right,
    false,
  );
  const y = axis(
    points.map((p) => p.y),
    props.yLog ?? false,
    height - M.bottom,
    M.top,
  );
  const xTicks = props.xLog ? x.ticks : x.ticks.filter((_, i, all) => all.length <= 8 || i % Math.ceil(all.length / 8) === 0);
  const xLabel = props.xFormat ?? label;
  return (
    <Figure title={props.title} legend={series.map((s) => s.name)}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
        {y.ticks.map((t) => (
          <g key={`y${t}`}>
            <line x1={M.left} x2={width - M.right} y1={y.map(t)} y2={y.map(t)} class="grid" />
            <text x={M.left - 6} y={y.map(t) + 4} text-anchor="end">
              {label(t)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} x={x.map(t)} y={height - M.bottom + 16} text-anchor="middle">
            {xLabel(t)}
          </text>
        ))}
        <text x={(M.left + width - M.right) / 2} y={height - 6} text-anchor="middle" class="axis-title">
          {props.xTitle}
        </text>
        <text transform={`translate(12 ${(M.top + height - M.bottom) / 2}) rotate(-90)`} text-anchor="middle" class="axis-title">
          {props.yTitle}
        </text>
        {series.map((s, i) => {
          const color = COLORS[i % COLORS.length];
          const sorted = [...s.points].sort((a, b) => a.x - b.x);
          return (
            <g key={s.name}>
              <polyline
                fill="none"
                stroke={color}
                stroke-width="2"
                points={sorted.map((p) => `${x.map(p.x).toFixed(1)},${y.map(p.y).toFixed(1)}`).join(' ')}
              />
              {sorted.map((p) => (
                <circle key={`${p.x}`} cx={x.map(p.x)} cy={y.map(p.y)} r="3" fill={color}>
                  <title>{`${s.name}: ${xLabel(p.x)} → ${formatNumber(p.y, 3)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
    </Figure>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** An index into COLORS, or a colour. */
  color?: number | string;
  note?: string;
  /** The value as it should read, when a number cannot say it exactly (an amount: the API's decimal string). */
  shown?: string;
}

/** Horizontal bars, one row each; `log` from `base` (e.g. ratios around 1). */
export function BarChart(props: { title: string; bars: Bar[]; unit: string; log?: boolean; base?: number; width?: number }) {
  const { width = 560, bars } = props;
  const labelWidth = 230;
  const row = 24;
  const height = bars.length * row + 34;
  const base = props.base ?? (props.log ? Math.min(1, ...bars.map((b) => b.value)) : 0);
  const x = axis([...bars.map((b) => b.value), base], props.log ?? false, labelWidth, width - 60);
  return (
    <Figure title={props.title}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
        {x.ticks.map((t) => (
          <g key={t}>
            <line x1={x.map(t)} x2={x.map(t)} y1={0} y2={bars.length * row} class="grid" />
            <text x={x.map(t)} y={bars.length * row + 14} text-anchor="middle">
              {label(t)}
            </text>
          </g>
        ))}
        <text x={(labelWidth + width - 60) / 2} y={height - 4} text-anchor="middle" class="axis-title">
          {props.unit}
        </text>
        {bars.map((bar, i) => {
          const [a, b] = [x.map(base), x.map(bar.value)];
          const color = typeof bar.color === 'string' ? bar.color : COLORS[(bar.color ?? 0) % COLORS.length];
          const text = bar.label.length > 36 ? `${bar.label.slice(0, 35)}…` : bar.label;
          return (
            <g key={bar.label}>
              <text x={labelWidth - 8} y={i * row + 16} text-anchor="end">
                <title>{bar.label}</title>
                {text}
              </text>
              <rect x={Math.min(a, b)} y={i * row + 4} width={Math.max(1, Math.abs(b - a))} height={row - 8} rx="2" fill={color}>
                <title>{`${bar.label}: ${bar.shown ?? formatNumber(bar.value, 3)} ${props.unit}${bar.note ? ` (${bar.note})` : ''}`}</title>
              </rect>
              <text x={Math.max(a, b) + 4} y={i * row + 16}>
                {bar.shown ?? formatNumber(bar.value, 3)}
              </text>
            </g>
          );
        })}
      </svg>
    </Figure>
  );
}

/** Vertical columns over a category axis (days), every n-th label shown. */
export function ColumnChart(props: {
  title: string;
  columns: Array<{ label: string; value: number; shown?: string }>;
  yTitle: string;
  width?: number;
}) {
  const { width = 640, columns } = props;
  const height = 240;
  const y = axis(
    columns.map((c) => c.value),
    false,
    height - M.bottom,
    M.top,
  );
  const band = (width - M.left - M.right) / Math.max(columns.length, 1);
  const every = Math.ceil(columns.length / 10);
  return (
    <Figure title={props.title}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
        {y.ticks.map((t) => (
          <g key={t}>
            <line x1={M.left} x2={width - M.right} y1={y.map(t)} y2={y.map(t)} class="grid" />
            <text x={M.left - 6} y={y.map(t) + 4} text-anchor="end">
              {label(t)}
            </text>
          </g>
        ))}
        <text transform={`translate(12 ${(M.top + height - M.bottom) / 2}) rotate(-90)`} text-anchor="middle" class="axis-title">
          {props.yTitle}
        </text>
        {columns.map((c, i) => (
          <g key={c.label}>
            <rect
              x={M.left + i * band + 1}
              y={y.map(c.value)}
              width={Math.max(1, band - 2)}
              height={y.map(0) - y.map(c.value)}
              fill={COLORS[0]}
            >
              <title>{`${c.label}: ${c.shown ?? formatNumber(c.value)}`}</title>
            </rect>
            {i % every === 0 && (
              <text x={M.left + i * band + band / 2} y={height - M.bottom + 16} text-anchor="middle">
                {c.label.slice(5)}
              </text>
            )}
          </g>
        ))}
      </svg>
    </Figure>
  );
}
