import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';
import { btreeSpec, ginCrossoverSpec, ordersSpec, renderSvg, speedupSpec } from './charts.js';
import {
  btreeTable,
  cacheTable,
  environmentLines,
  ginCrossoverTable,
  ginIndexTable,
  headlineTable,
  isFailure,
  ordersTable,
  requestedSuites,
  runLines,
  SUITE_TITLES,
  suiteResults,
  type Table,
} from './model.js';
import { planText } from './plan-text.js';

/** The self-contained HTML report: inline CSS, inline SVG charts, plans in <details>. No external resource. */

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlTable(table: Table): string {
  const numeric = new Set(table.numeric ?? []);
  const cell = (tag: 'th' | 'td', text: string, i: number) => `<${tag}${numeric.has(i) ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  return [
    '<table>',
    table.caption ? `<caption>${escapeHtml(table.caption)}</caption>` : '',
    `<thead><tr>${table.header.map((text, i) => cell('th', text, i)).join('')}</tr></thead>`,
    `<tbody>${table.rows.map((row) => `<tr>${row.map((text, i) => cell('td', text, i)).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

function definitionList(lines: Array<[string, string]>): string {
  return `<dl>${lines.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

function plansSection(run: StoredRun, prefix: string): string {
  const entries = Object.entries(run.plans ?? {}).filter(([key]) => key.startsWith(prefix));
  if (entries.length === 0) return '';
  return [
    `<details><summary>Representative plans (${entries.length}) — EXPLAIN (ANALYZE, BUFFERS)</summary>`,
    ...entries.map(([key, plan]) => `<h4>${escapeHtml(key)}</h4><pre>${escapeHtml(planText(plan))}</pre>`),
    '</details>',
  ].join('\n');
}

const STYLE = `
  :root { color-scheme: light; }
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; color: #111827; }
  h1 { font-size: 1.6rem; margin-bottom: .25rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #e5e7eb; padding-bottom: .25rem; }
  h4 { margin: 1rem 0 .25rem; font-family: ui-monospace, monospace; font-size: .85rem; }
  table { border-collapse: collapse; margin: .75rem 0; font-size: .85rem; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .6rem; text-align: left; vertical-align: top; }
  th { background: #f9fafb; } .num { text-align: right; font-variant-numeric: tabular-nums; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
  figure { margin: 1rem 0; overflow-x: auto; } pre { background: #f9fafb; padding: .75rem; overflow-x: auto; font-size: .8rem; }
  .status-succeeded { color: #15803d; } .status-failed, .failed { color: #b91c1c; } .verdict { padding: .75rem 1rem; background: #f9fafb; border-left: 4px solid #6b7280; }
  blockquote { margin: .5rem 0; color: #4b5563; font-style: italic; }
`;

export async function renderHtml(run: StoredRun): Promise<string> {
  const results = suiteResults(run);
  const parts: string[] = [];
  parts.push(`<h1>Benchmark run ${run.runId}</h1>`);
  parts.push(
    `<p class="status-${escapeHtml(run.status)}"><strong>${escapeHtml(run.status)}</strong> · scale ${escapeHtml(run.params?.scale ?? '?')} · ${escapeHtml(run.startedAt)}</p>`,
  );
  parts.push(definitionList(runLines(run)));

  parts.push('<h2>Headline</h2>', htmlTable(headlineTable(run)));
  const speedup = speedupSpec(run);
  if (speedup) parts.push(figure(await renderSvg(speedup)));

  for (const suite of requestedSuites(run)) {
    const result = results[suite];
    parts.push(`<h2 id="${suite}">${escapeHtml(SUITE_TITLES[suite])}</h2>`);
    if (!result) {
      parts.push('<p>Not run.</p>');
      continue;
    }
    if (isFailure(result)) {
      parts.push(`<p class="failed"><strong>Failed:</strong> ${escapeHtml(result.error)}</p>`);
      continue;
    }
    switch (suite) {
      case 'btree': {
        const btree = result as BtreeResult;
        parts.push(
          `<p>Query: <code>${escapeHtml(btree.query)}</code>. Median server execution time (EXPLAIN ANALYZE, TIMING OFF) of ${run.params.repetitions} runs after a warm-up; each run looks up a different customer (~10 orders each).</p>`,
        );
        parts.push(htmlTable(btreeTable(btree)), figure(await renderSvg(btreeSpec(btree))), plansSection(run, 'btree/'));
        break;
      }
      case 'gin': {
        const gin = result as GinResult;
        parts.push(
          `<p>Query: <code>${escapeHtml(gin.query)}</code>, probes matching an exact share of the rows. “GIN forced” is the index path with <code>enable_seqscan = off</code>: what the index costs where the planner would not use it.</p>`,
        );
        parts.push(figure(await renderSvg(ginCrossoverSpec(gin))));
        parts.push('<h3>Crossover table</h3>', htmlTable(ginCrossoverTable(gin)));
        parts.push(
          '<ul>' +
            gin.crossover
              .map(
                (row) =>
                  `<li>${row.rows.toLocaleString('en-US')} products: the planner uses the index up to ${
                    row.plannerUsesIndexUpTo === null ? 'no match rate' : `${row.plannerUsesIndexUpTo * 100} %`
                  } match rate; the index path is faster up to ${row.indexFasterUpTo === null ? 'no match rate' : `${row.indexFasterUpTo * 100} %`}.</li>`,
              )
              .join('') +
            '</ul>',
        );
        parts.push('<h3>The lab’s claim</h3>', `<blockquote>${escapeHtml(gin.labClaim.claim)}</blockquote>`);
        parts.push(
          `<p class="verdict"><strong>${gin.labClaim.holds ? 'Holds' : 'Does not hold'}</strong> (${gin.labClaim.agreements} of ${gin.labClaim.cells} cells agree). ${escapeHtml(gin.labClaim.verdict)}</p>`,
        );
        parts.push('<h3>Index size: jsonb_path_ops vs default jsonb_ops</h3>', htmlTable(ginIndexTable(gin)), plansSection(run, 'gin/'));
        break;
      }
      case 'cache': {
        parts.push(
          '<p>Wall clock at the client, median. The hit is one GET through <code>@upstash/redis</code> (the app’s client and protocol); the miss is the top-products aggregate over every order line.</p>',
        );
        parts.push(htmlTable(cacheTable(result as CacheResult)), plansSection(run, 'cache/'));
        break;
      }
      case 'orders': {
        const orders = result as OrdersResult;
        parts.push(
          `<p>The real <code>createOrder</code> placing orders against a copy of the shop’s tables (${escapeHtml(orders.clonedTables.join(', '))}) in the bench schema, on connections with <code>search_path=bench</code>; wall clock per call after ${orders.warmups} warm-up orders.</p>`,
        );
        parts.push(htmlTable(ordersTable(orders)), figure(await renderSvg(ordersSpec(orders))));
        if (orders.firstError) parts.push(`<p class="failed">First error: ${escapeHtml(orders.firstError)}</p>`);
        break;
      }
    }
  }

  parts.push('<h2>Environment</h2>', definitionList(environmentLines(run)));
  if (run.timings) {
    const rows = Object.entries(run.timings)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([phase, value]) => [phase, `${value} ms`]);
    parts.push('<h3>Where the time went</h3>', htmlTable({ header: ['phase', 'time'], numeric: [1], rows }));
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>Benchmark run ${run.runId} — ecommerce-pipeline</title>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<style>${STYLE}</style></head><body>`,
    ...parts,
    '</body></html>',
    '',
  ].join('\n');
}
