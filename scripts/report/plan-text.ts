import type { ExplainOutput, PlanNode } from '../../shared/benchmarks/measure.js';

/**
 * EXPLAIN (FORMAT JSON) rendered back into the familiar indented text form (the parts that matter:
 * node, relation, index, condition, estimated vs actual rows, time, buffers), for the report.
 */
function num(node: PlanNode, key: string): number | undefined {
  const value = node[key];
  return typeof value === 'number' ? value : undefined;
}

function str(node: PlanNode, key: string): string | undefined {
  const value = node[key];
  return typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : undefined;
}

function describe(node: PlanNode): string {
  let head = node['Node Type'];
  const relation = str(node, 'Relation Name');
  const index = str(node, 'Index Name');
  if (index && relation) head += ` using ${index} on ${relation}`;
  else if (index) head += ` on ${index}`;
  else if (relation) head += ` on ${relation}`;
  const cost = `cost=${num(node, 'Startup Cost') ?? '?'}..${num(node, 'Total Cost') ?? '?'} rows=${num(node, 'Plan Rows') ?? '?'}`;
  const actualTime = num(node, 'Actual Total Time');
  const actual =
    num(node, 'Actual Rows') !== undefined
      ? ` (actual${actualTime !== undefined ? ` time=${num(node, 'Actual Startup Time')}..${actualTime}` : ''} rows=${num(node, 'Actual Rows')} loops=${num(node, 'Actual Loops')})`
      : '';
  return `${head}  (${cost})${actual}`;
}

const DETAIL_KEYS: Array<[string, string]> = [
  ['Index Cond', 'Index Cond'],
  ['Recheck Cond', 'Recheck Cond'],
  ['Filter', 'Filter'],
  ['Rows Removed by Filter', 'Rows Removed by Filter'],
  ['Hash Cond', 'Hash Cond'],
  ['Sort Key', 'Sort Key'],
  ['Group Key', 'Group Key'],
  ['Workers Launched', 'Workers Launched'],
  ['Heap Blocks', 'Exact Heap Blocks'],
];

function lines(node: PlanNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const arrow = depth === 0 ? '' : '->  ';
  const out = [`${pad}${arrow}${describe(node)}`];
  const detailPad = `${pad}${depth === 0 ? '  ' : '      '}`;
  for (const [label, key] of DETAIL_KEYS) {
    const value = node[key];
    if (value !== undefined && value !== null) out.push(`${detailPad}${label}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  }
  const hit = num(node, 'Shared Hit Blocks');
  const read = num(node, 'Shared Read Blocks');
  if (hit || read) out.push(`${detailPad}Buffers: shared hit=${hit ?? 0}${read ? ` read=${read}` : ''}`);
  for (const child of node.Plans ?? []) out.push(...lines(child, depth + 1));
  return out;
}

export function planText(output: ExplainOutput): string {
  const text = lines(output.Plan, 0);
  if (output['Planning Time'] !== undefined) text.push(`Planning Time: ${output['Planning Time']} ms`);
  if (output['Execution Time'] !== undefined) text.push(`Execution Time: ${output['Execution Time']} ms`);
  return text.join('\n');
}
