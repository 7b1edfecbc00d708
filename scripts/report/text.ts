import type { StoredRun } from '../../shared/benchmarks/store.js';
import type { BtreeResult } from '../../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../../shared/benchmarks/suites/orders.js';
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

/** The Markdown summary and the terminal's compact table. */

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(table: Table): string {
  const numeric = new Set(table.numeric ?? []);
  const header = `| ${table.header.map(markdownCell).join(' | ')} |`;
  const rule = `|${table.header.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`;
  const rows = table.rows.map((row) => `| ${row.map(markdownCell).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

export function renderMarkdown(run: StoredRun, htmlFileName: string): string {
  const results = suiteResults(run);
  const out: string[] = [];
  out.push(`# Benchmark run ${run.runId} (${run.params?.scale ?? '?'}, ${run.status})`, '');
  out.push(`Charts and plans: [${htmlFileName}](${htmlFileName})`, '');
  for (const [label, value] of runLines(run)) out.push(`- **${label}:** ${value}`);
  out.push('');
  out.push('## Headline', '', markdownTable(headlineTable(run)), '');
  for (const suite of requestedSuites(run)) {
    const result = results[suite];
    out.push(`## ${SUITE_TITLES[suite]}`, '');
    if (!result) {
      out.push('Not run.', '');
      continue;
    }
    if (isFailure(result)) {
      out.push(`**Failed:** ${result.error}`, '');
      continue;
    }
    switch (suite) {
      case 'btree':
        out.push('Median server execution time (EXPLAIN ANALYZE, TIMING OFF); each run looks up a different customer.', '');
        out.push(markdownTable(btreeTable(result as BtreeResult)), '');
        break;
      case 'gin': {
        const gin = result as GinResult;
        out.push(`Query: \`${gin.query}\``, '');
        out.push(markdownTable(ginCrossoverTable(gin)), '');
        out.push('### Where the crossover lies', '');
        for (const row of gin.crossover) {
          out.push(
            `- ${row.rows.toLocaleString('en-US')} products: planner uses the index up to ${row.plannerUsesIndexUpTo === null ? 'never' : `${row.plannerUsesIndexUpTo * 100} %`}; ` +
              `the index path is faster up to ${row.indexFasterUpTo === null ? 'never' : `${row.indexFasterUpTo * 100} %`} match rate.`,
          );
        }
        out.push(
          '',
          '### The lab’s claim',
          '',
          `> ${gin.labClaim.claim}`,
          '',
          `**${gin.labClaim.holds ? 'Holds' : 'Does not hold'}.** ${gin.labClaim.verdict}`,
          '',
        );
        out.push('### Index size: jsonb_path_ops vs default jsonb_ops', '', markdownTable(ginIndexTable(gin)), '');
        break;
      }
      case 'cache':
        out.push('Wall clock at the client, median; Redis through @upstash/redis (REST), the same client the app uses.', '');
        out.push(markdownTable(cacheTable(result as CacheResult)), '');
        break;
      case 'orders':
        out.push('The real createOrder against a copy of the shop schema (search_path=bench), wall clock per call.', '');
        out.push(markdownTable(ordersTable(result as OrdersResult)), '');
        break;
    }
  }
  out.push('## Environment', '');
  for (const [label, value] of environmentLines(run)) out.push(`- **${label}:** ${value}`);
  out.push('');
  return out.join('\n');
}

/** A fixed-width table for the terminal. */
export function terminalTable(table: Table): string {
  const numeric = new Set(table.numeric ?? []);
  const widths = table.header.map((header, i) => Math.max(header.length, ...table.rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(table.header), widths.map((width) => '─'.repeat(width)).join('  '), ...table.rows.map(line)].join('\n');
}
