import type { ExplainOutput, PlanNode } from './measure.js';

/** Keys shown under a node, as EXPLAIN's text format names them (JSON key in brackets when it differs). */
const DETAILS = [
  'Index Cond',
  'Recheck Cond',
  'Filter',
  'Rows Removed by Filter',
  'Hash Cond',
  'Sort Key',
  'Group Key',
  'Workers Launched',
  'Heap Blocks [Exact Heap Blocks]',
];

/**
 * EXPLAIN (FORMAT JSON), as the runs store it, back in the familiar indented text form: node, relation,
 * index, condition, estimated vs actual rows, time, buffers.
 */
function lines(node: PlanNode, depth: number): string[] {
  const v = (key: string) => node[key] as string | number | string[] | undefined;
  const head = [node['Node Type'], v('Index Name') && `using ${v('Index Name')}`, v('Relation Name') && `on ${v('Relation Name')}`]
    .filter(Boolean)
    .join(' ');
  const actual =
    v('Actual Rows') === undefined
      ? ''
      : ` (actual time=${v('Actual Startup Time')}..${v('Actual Total Time')} rows=${v('Actual Rows')} loops=${v('Actual Loops')})`;
  const pad = '  '.repeat(depth) + (depth ? '      ' : '  ');
  const out = [
    `${'  '.repeat(depth)}${depth ? '->  ' : ''}${head}  (cost=${v('Startup Cost')}..${v('Total Cost')} rows=${v('Plan Rows')})${actual}`,
  ];
  for (const detail of DETAILS) {
    const [label = '', key = label] = detail.split(/ \[|\]/);
    const value = v(key);
    if (value !== undefined && value !== null) out.push(`${pad}${label}: ${Array.isArray(value) ? value.join(', ') : value}`);
  }
  if (v('Shared Hit Blocks') || v('Shared Read Blocks'))
    out.push(`${pad}Buffers: shared hit=${v('Shared Hit Blocks') ?? 0} read=${v('Shared Read Blocks') ?? 0}`);
  return [...out, ...(node.Plans ?? []).flatMap((child) => lines(child, depth + 1))];
}

export function planText(output: ExplainOutput): string {
  const times = (['Planning Time', 'Execution Time'] as const)
    .filter((key) => output[key] !== undefined)
    .map((key) => `${key}: ${output[key]} ms`);
  return [...lines(output.Plan, 0), ...times].join('\n');
}
