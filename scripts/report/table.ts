/**
 * The one table printer of the benchmarks: every table (the metrics, a stored run's suites, a bench's
 * details) is built once as a Table and rendered for the terminal, Markdown or HTML; and the cell formatters.
 */
import { formatRatio, type Metric, num } from '../../shared/benchmarks/metric.js';

export interface Table {
  caption?: string;
  header: string[];
  rows: string[][];
  /** Right-aligned column indexes (numbers). */
  numeric?: number[];
}

export type Format = 'text' | 'markdown' | 'html';

/** A table from a header written as 'a|b|c'; numbers right-aligned (by default every column but the first). */
export const grid = (header: string, rows: string[][], caption?: string, numeric?: number[]): Table => {
  const columns = header.split('|');
  return { ...(caption ? { caption } : {}), header: columns, rows, numeric: numeric ?? columns.map((_, i) => i).slice(1) };
};

export const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderTable(table: Table, format: Format = 'text'): string {
  const right = new Set(table.numeric ?? []);
  const caption = table.caption ? [format === 'html' ? `<caption>${escapeHtml(table.caption)}</caption>` : table.caption, ''] : [];
  if (format === 'html') {
    const cell = (tag: string, text: string, i: number) => `<${tag}${right.has(i) ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
    const row = (cells: string[], tag: string) => `<tr>${cells.map((text, i) => cell(tag, text, i)).join('')}</tr>`;
    return [
      '<table>',
      ...caption.slice(0, 1),
      `<thead>${row(table.header, 'th')}</thead>`,
      '<tbody>',
      ...table.rows.map((r) => row(r, 'td')),
      '</tbody></table>',
    ].join('\n');
  }
  if (format === 'markdown') {
    const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
    const rule = `|${table.header.map((_, i) => (right.has(i) ? '--:' : '---')).join('|')}|`;
    return [...caption, line(table.header), rule, ...table.rows.map(line)].join('\n');
  }
  const widths = table.header.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [...caption, line(table.header), widths.map((w) => '─'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

const cell = (value: number | null, unit: string) =>
  value === null || !Number.isFinite(value) ? '–' : `${num(value)}${unit ? ` ${unit}` : ''}`;

/** The metrics of a run, whichever framework measured them: one row each, the note after the verdict. */
export function metricsTable(metrics: Metric[]): Table {
  return {
    header: ['bench', 'metric', 'ours', 'reference', 'ratio', 'goal', 'pass/fail'],
    numeric: [2, 3, 4],
    rows: metrics.map((m) => [
      m.bench,
      m.metric,
      cell(m.ours, m.unit),
      cell(m.reference, m.unit),
      m.ratio === null ? '–' : formatRatio(m.ratio),
      m.goal ?? '–',
      `${m.pass === null ? (m.goal ? 'n/a' : '–') : m.pass ? 'pass' : 'FAIL'}${m.note ? ` (${m.note})` : ''}`,
    ]),
  };
}

/** A number from a result file (NaN was written as null), or a dash. */
export const fixed = (value: number | null | undefined, digits = 1) =>
  typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';

export function ms(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
}

export function times(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value >= 100 ? `${Math.round(value).toLocaleString('en-US')}×` : `${value.toFixed(value >= 10 ? 0 : 1)}×`;
}

export const count = (value: number) => value.toLocaleString('en-US');

export function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  return value < 1024 * 1024 ? `${(value / 1024).toFixed(0)} kB` : `${(value / 1024 / 1024).toFixed(1)} MB`;
}

export const seconds = (msValue: number | null | undefined) => (typeof msValue === 'number' ? `${(msValue / 1000).toFixed(1)} s` : '–');
