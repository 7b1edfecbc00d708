/**
 * The one report: a Doc (sections of prose, tables, charts and plans, written once) rendered for the
 * terminal, as Markdown and as a self-contained HTML page (inline CSS and SVG, nothing fetched). A stored
 * runBenchmarks run (run.ts) and a bench result file (bench.ts) both become a Doc.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Metric } from '../../shared/benchmarks/metric.js';
import { renderSvg } from './charts.js';
import { escapeHtml, metricsTable, renderTable, type Table } from './table.js';

/** Prose is Markdown-light: `code` and **bold** inline, rendered as such in HTML too. */
export type Part =
  | { text: string }
  | { list: string[] }
  | { quote: string }
  | { heading: string }
  | { facts: Array<[string, string]> }
  | { table: Table }
  | { chart: string; spec: TopLevelSpec }
  | { code: string; title: string }
  /** EXPLAIN plans: HTML only, folded (a stored run keeps dozens). */
  | { plans: Array<[string, string]> };

export interface Section {
  id: string;
  title: string;
  parts: Part[];
}

export interface Doc {
  title: string;
  /** The rows the terminal prints. */
  metrics: Metric[];
  sections: Section[];
}

const inline = (text: string) =>
  escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

export interface MarkdownOptions {
  /** Level of the section headings (the title is one above, unless omitted). */
  level?: number;
  withTitle?: boolean;
  /** Where a chart's SVG file is, for an image link; without it charts are left out. */
  chartLink?: (name: string) => string;
  /** A line under the title (e.g. where the HTML version is). */
  lead?: string;
}

export function markdown(doc: Doc, options: MarkdownOptions = {}): string {
  const level = options.level ?? 2;
  const out: string[] = options.withTitle === false ? [] : [`${'#'.repeat(level - 1)} ${doc.title}`, ''];
  if (options.lead) out.push(options.lead, '');
  for (const section of doc.sections) {
    if (section.title) out.push(`${'#'.repeat(level)} ${section.title}`, '');
    for (const part of section.parts) {
      if ('text' in part) out.push(part.text, '');
      else if ('list' in part) out.push(...part.list.map((item) => `- ${item}`), '');
      else if ('quote' in part) out.push(`> ${part.quote}`, '');
      else if ('heading' in part) out.push(`${'#'.repeat(level + 1)} ${part.heading}`, '');
      else if ('facts' in part) out.push(...part.facts.map(([term, value]) => `- **${term}:** ${value}`), '');
      else if ('table' in part) out.push(renderTable(part.table, 'markdown'), '');
      else if ('chart' in part && options.chartLink) out.push(`![${part.chart}](${options.chartLink(part.chart)})`, '');
      else if ('code' in part) out.push(`${'#'.repeat(level + 1)} ${part.title}`, '', '```', part.code, '```', '');
    }
  }
  return out.join('\n');
}

const STYLE = `
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; color: #111827; }
  h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #e5e7eb; padding-bottom: .25rem; }
  h4 { margin: 1rem 0 .25rem; font-family: ui-monospace, monospace; font-size: .85rem; }
  table { border-collapse: collapse; margin: .75rem 0; font-size: .85rem; } caption { text-align: left; font-weight: 600; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .6rem; text-align: left; vertical-align: top; }
  th { background: #f9fafb; } .num { text-align: right; font-variant-numeric: tabular-nums; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
  figure { margin: 1rem 0; overflow-x: auto; } pre { background: #f9fafb; padding: .75rem; overflow-x: auto; font-size: .8rem; }
  blockquote { margin: .5rem 0; color: #4b5563; font-style: italic; }`;

export async function html(doc: Doc): Promise<string> {
  const out = [`<h1>${escapeHtml(doc.title)}</h1>`];
  for (const section of doc.sections) {
    if (section.title) out.push(`<h2 id="${escapeHtml(section.id)}">${escapeHtml(section.title)}</h2>`);
    for (const part of section.parts) {
      if ('text' in part) out.push(`<p>${inline(part.text)}</p>`);
      else if ('list' in part) out.push(`<ul>${part.list.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`);
      else if ('quote' in part) out.push(`<blockquote>${inline(part.quote)}</blockquote>`);
      else if ('heading' in part) out.push(`<h3>${escapeHtml(part.heading)}</h3>`);
      else if ('facts' in part)
        out.push(`<dl>${part.facts.map(([t, v]) => `<dt>${escapeHtml(t)}</dt><dd>${inline(v)}</dd>`).join('')}</dl>`);
      else if ('table' in part) out.push(renderTable(part.table, 'html'));
      else if ('chart' in part) out.push(`<figure>${await renderSvg(part.spec)}</figure>`);
      else if ('code' in part) out.push(`<h3>${escapeHtml(part.title)}</h3><pre>${escapeHtml(part.code)}</pre>`);
      else if (part.plans.length > 0) {
        out.push(`<details><summary>Representative plans (${part.plans.length}): EXPLAIN (ANALYZE, BUFFERS)</summary>`);
        for (const [title, text] of part.plans) out.push(`<h4>${escapeHtml(title)}</h4><pre>${escapeHtml(text)}</pre>`);
        out.push('</details>');
      }
    }
  }
  const head = `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.title)}</title>`;
  return [
    '<!doctype html>',
    head,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<style>${STYLE}</style></head><body>`,
    ...out,
    '</body></html>',
    '',
  ].join('\n');
}

/** Sections as plain text for the terminal: prose, lists and tables (charts and plans are for the files). */
export function text(sections: Section[]): string {
  const out: string[] = [];
  for (const part of sections.flatMap((s) => [{ heading: s.title }, ...s.parts])) {
    if ('heading' in part && part.heading) out.push(part.heading);
    else if ('text' in part) out.push(part.text);
    else if ('list' in part) out.push(...part.list.map((item) => `  ${item}`));
    else if ('table' in part) out.push(renderTable(part.table), '');
    else if ('code' in part) out.push(part.title, part.code, '');
  }
  return out.join('\n').trim();
}

export const terminal = (doc: Doc) => `${doc.title}\n\n${renderTable(metricsTable(doc.metrics))}`;

/** `<outDir>/<base>.html` and `.md`; returns their paths. */
export async function writeFiles(doc: Doc, outDir: string, base: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files = [path.join(outDir, `${base}.html`), path.join(outDir, `${base}.md`)] as const;
  writeFileSync(files[0], await html(doc));
  writeFileSync(files[1], markdown(doc, { lead: `Charts and plans: [${base}.html](${base}.html)` }));
  return [...files];
}

const START = '<!-- bench:results:start';
const END = '<!-- bench:results:end -->';

/**
 * Replaces what lies between the generated-section markers of a Markdown file with the doc (its charts as
 * SVG files in `chartDir`, linked relative to the file); the prose around the markers is the authors'.
 */
export async function writeSection(doc: Doc, file: string, chartDir: string): Promise<string[]> {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file} has no "${START} …" / "${END}" markers`);
  mkdirSync(chartDir, { recursive: true });
  const written: string[] = [];
  for (const part of doc.sections.flatMap((s) => s.parts)) {
    if (!('chart' in part)) continue;
    written.push(path.join(chartDir, `${part.chart}.svg`));
    writeFileSync(written.at(-1)!, await renderSvg(part.spec));
  }
  const link = (name: string) => path.relative(path.dirname(file), path.join(chartDir, `${name}.svg`));
  const body = markdown(doc, { level: 3, withTitle: false, chartLink: link });
  writeFileSync(file, `${text.slice(0, text.indexOf('\n', start) + 1)}\n${body}\n${text.slice(end)}`);
  return [...written, file];
}

/** A CLI's usage: its file's leading doc comment (one text for --help and the reader). */
export const usage = (moduleUrl: string) =>
  /\/\*\*([\s\S]*?)\*\//
    .exec(readFileSync(new URL(moduleUrl), 'utf8'))![1]!
    .replace(/^ \* ?/gm, '')
    .trim();
