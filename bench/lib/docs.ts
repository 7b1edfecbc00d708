/**
 * Renders a suite result into docs/performance.md (the part between the generated-section markers)
 * and its charts into docs/performance/*.svg. `npm run bench -- --docs` after a run, or
 * `npm run bench -- --render bench/results/<file>.json` for a stored one.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/env.js';
import { renderSvg } from '../../scripts/report/charts.js';
import type { FunctionCold } from '../cold-start.js';
import type { Step } from '../load.js';
import type { RequestCount } from '../round-trips.js';
import { suiteCharts } from './charts.js';
import { markdownMetricsTable, type SuiteResult } from './result.js';

export const DOC = path.join(ROOT, 'docs/performance.md');
export const CHART_DIR = path.join(ROOT, 'docs/performance');
const START = '<!-- bench:results:start';
const END = '<!-- bench:results:end -->';

const details = <T>(result: SuiteResult, bench: string): T | undefined =>
  result.benches.find((b) => b.name === bench && b.status === 'ok')?.details as T | undefined;

/** A number from a result file (NaN was written as null), or a dash. */
const fx = (v: number | null | undefined, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

function command(result: SuiteResult): string {
  const flags = [result.profile === 'full' ? '' : `--${result.profile}`, result.only ? `--only ${result.only.join(',')}` : '']
    .filter(Boolean)
    .join(' ');
  return `npm run bench${flags ? ` -- ${flags}` : ''}`;
}

export function resultsMarkdown(result: SuiteResult, source: string, charts: string[]): string {
  const m = result.machine;
  const lines: string[] = [];
  lines.push(
    `Run of ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC: \`${command(result)}\`, ${(result.durationMs / 1000).toFixed(0)} s; ` +
      `${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, ${m.postgres ?? 'PostgreSQL'}, ${m.mongo ?? 'Mongo'}; ` +
      `load average ${m.loadBefore[0]} → ${m.loadAfter[0]} (other people's jobs on the same 2 cores). ` +
      `Data set: ${JSON.stringify((result.setup.dataset as { counts?: unknown } | undefined)?.counts ?? {})}. Functions: ${String(result.setup.functions ?? '')}. ` +
      `Source: \`${source}\` (git-ignored).`,
    '',
    markdownMetricsTable(result.metrics),
    '',
  );
  const notRun = result.benches.filter((b) => b.status !== 'ok');
  if (notRun.length) lines.push(...notRun.map((b) => `- **${b.name}: ${b.status}** — ${b.error}`), '');
  for (const chart of charts) lines.push(`![${chart}](performance/${chart}.svg)`, '');

  const load = details<{
    steps: Step[];
    stopReason: string;
    invariants: Record<string, number>;
    pooled: boolean;
    mixes?: Array<{ mix: { name: string }; steps: Step[]; stopReason: string }>;
  }>(result, 'load');
  if (load) {
    const mixes = load.mixes ?? [{ mix: { name: 'shop 70/20/10' }, steps: load.steps, stopReason: load.stopReason }];
    lines.push(
      'Load steps (closed loop, one request in flight per connection; cores = CPU seconds per second of each group of processes):',
      '',
    );
    lines.push(
      '| mix | connections | req/s | p50 ms | p95 ms | p99 ms | p95 top / cart / order ms | errors | 409 out of stock | cores: offline / postgres / pgbouncer / ferretdb / gateway / autocannon / other |',
    );
    lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|---|');
    for (const s of mixes.flatMap((m) => m.steps.map((step) => ({ ...step, mix: m.mix.name })))) {
      const c = s.cpu ?? {};
      const cores = ['serverless-offline', 'postgres', 'pgbouncer', 'ferretdb', 'upstash-gateway', 'load generator', 'other']
        .map((k) => (c[k] ?? 0).toFixed(2))
        .join(' / ');
      lines.push(
        `| ${s.mix} | ${s.concurrency} | ${s.throughput.toFixed(1)} | ${s.latency.p50.toFixed(1)} | ${s.latency.p95.toFixed(1)} | ${s.latency.p99.toFixed(1)} | ` +
          `${fx(s.routes.top.latency.p95)} / ${fx(s.routes.cart.latency.p95)} / ${fx(s.routes.order.latency.p95)} | ${s.errors}${
            s.errors
              ? ` (${Object.entries(s.errorKinds)
                  .map(([k, n]) => `${k} ×${n}`)
                  .join(', ')})`
              : ''
          } | ${s.outOfStock} | ${cores} |`,
      );
    }
    const inv = load.invariants;
    lines.push(
      '',
      `Stopped: ${mixes.map((m) => `${m.mix.name} — ${m.stopReason}`).join('; ')}. Afterwards (SQL): ${inv.ordersPlaced} orders placed, ${inv.unitsSold} units; stock invariant violations **${inv.mismatched}**, ` +
        `oversold products **${inv.oversold}**, negative stock ${inv.negative}, orders without lines ${inv.orphanOrders}.`,
      '',
    );
  }
  const trips = details<{ prepared: RequestCount[]; unprepared: RequestCount[]; minimum: Record<string, { total: number; why: string }> }>(
    result,
    'round-trips',
  );
  if (trips) {
    lines.push('Round trips per warm request (Postgres counted on the wire by a TCP proxy; statements by the postgres.js debug hook):', '');
    lines.push(
      '| request | PG statements | PG round trips (prepared) | PG round trips (prepare: false) | Redis requests | Redis commands (billed) | Mongo commands | minimum round trips |',
    );
    lines.push('|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const [i, p] of trips.prepared.entries()) {
      const u = trips.unprepared[i]!;
      lines.push(
        `| ${p.request} | ${p.pgStatements} | ${p.pgRoundTrips} | ${u.pgRoundTrips} | ${p.redis} | ${p.redisCommands ?? '–'} | ${p.mongo} | ${trips.minimum[p.request]?.total ?? '–'} |`,
      );
    }
    lines.push('');
  }
  const cold = details<{ runs: number; functions: FunctionCold[] }>(result, 'cold-start');
  if (cold) {
    lines.push(`Cold start (median of ${cold.runs} fresh processes; init = \`await import(bundle)\`):`, '');
    lines.push('| function | bundle | zipped | zip from `npm run package` | init CPU ms | init wall ms |');
    lines.push('|---|--:|--:|--:|--:|--:|');
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
    for (const f of cold.functions) {
      lines.push(
        `| ${f.name} | ${kb(f.rawBytes)} | ${kb(f.zippedBytes)} | ${f.packagedZippedBytes === undefined ? '–' : kb(f.packagedZippedBytes)} | ${f.initCpuMs?.median.toFixed(1) ?? '–'} | ${f.initMs?.median.toFixed(1) ?? '–'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Writes the charts and the generated section; returns the files written (relative to the repository). */
export async function renderDocs(
  result: SuiteResult,
  source: string,
  options: { doc?: string; chartDir?: string } = {},
): Promise<string[]> {
  const doc = options.doc ?? DOC;
  const chartDir = options.chartDir ?? CHART_DIR;
  if (!existsSync(doc)) throw new Error(`${doc} does not exist`);
  const text = readFileSync(doc, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${doc} has no "${START} …" / "${END}" markers`);
  mkdirSync(chartDir, { recursive: true });
  const written: string[] = [];
  const charts = suiteCharts(result);
  for (const [name, spec] of Object.entries(charts)) {
    const file = path.join(chartDir, `${name}.svg`);
    writeFileSync(file, await renderSvg(spec));
    written.push(path.relative(ROOT, file));
  }
  const startLineEnd = text.indexOf('\n', start);
  const section = `${text.slice(0, startLineEnd + 1)}\n${resultsMarkdown(result, source, Object.keys(charts))}\n${text.slice(end)}`;
  writeFileSync(doc, section);
  written.push(path.relative(ROOT, doc));
  return written;
}
