/**
 * npm run report [-- --run <id> | --file bench/results/<x>.json] [--out reports/] [--list] [--docs]
 *
 * Renders a benchmark run as a self-contained HTML page (inline SVG charts, plans) and a Markdown summary,
 * and prints its metrics table:
 *   (default)    the latest runBenchmarks run that succeeded, from benchmark_runs in DATABASE_URL's
 *                database (.env / .env.example); --run <id> picks one whatever its status
 *                → <out>/benchmark-<id>.html and .md
 *   --file F     a result file of `npm run bench` → <out>/<its name>.html and .md; with --docs, also
 *                docs/performance.md's results section and docs/performance/*.svg
 *   --list       the most recent stored runs instead
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { SuiteResult } from '../bench/lib/result.js';
import { getLatestRun, getRun, listRuns } from '../shared/benchmarks/store.js';
import { ISO_DATE_STYLE, type Sql } from '../shared/clients/postgres.js';
import { localEnv, parseCommandLine, pathFromCommandLine, ROOT } from './lib/env.js';
import { benchDoc, DOCS } from './report/bench.js';
import { type Doc, terminal, usage, writeFiles, writeSection } from './report/document.js';
import { runDoc } from './report/run.js';
import { renderTable, seconds } from './report/table.js';

/** A stored run's Doc and file name, or (--list) the table of recent runs. */
async function storedRun(values: { run?: string; list: boolean }): Promise<[Doc, string] | string> {
  const runId = values.run === undefined ? undefined : Number(values.run);
  if (runId !== undefined && !(Number.isInteger(runId) && runId > 0))
    throw new Error(`--run must be a positive integer (got "${values.run}")`);
  const url = localEnv().DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (.env, .env.example or the environment)');
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, connection: ISO_DATE_STYLE }) as unknown as Sql;
  try {
    if (values.list) {
      const rows = (await listRuns(sql, 20)).map((r) => [
        String(r.runId),
        r.status,
        r.trigger,
        r.scale,
        r.startedAt,
        seconds(r.durationMs),
      ]);
      return renderTable({ header: ['run', 'status', 'trigger', 'scale', 'started', 'duration'], numeric: [0, 5], rows });
    }
    const run = runId === undefined ? await getLatestRun(sql) : await getRun(sql, runId);
    if (run) return [runDoc(run), `benchmark-${run.runId}`];
    throw new Error(
      runId === undefined
        ? 'no successful benchmark run is stored yet — run one: npm run invoke -- runBenchmarks \'{"scale":"small"}\''
        : `there is no benchmark run ${runId} (npm run report -- --list shows the recent ones)`,
    );
  } catch (error) {
    throw (error as { code?: string }).code === '42P01'
      ? new Error('the benchmark_runs table does not exist — run npm run db:migrate')
      : error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(usage(import.meta.url), {
    options: {
      run: { type: 'string' },
      file: { type: 'string' },
      out: { type: 'string', default: path.join(ROOT, 'reports') },
      list: { type: 'boolean', default: false },
      docs: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.file && (values.run || values.list)) throw new Error('--file reads a bench result file; --run and --list read stored runs');
  if (values.docs && !values.file) throw new Error('--docs renders a bench result file (--file) into docs/performance.md');
  const where = (file: string) => (file.startsWith(ROOT) ? path.relative(process.cwd(), file) : file);
  const stored = values.file ? undefined : await storedRun(values);
  if (typeof stored === 'string') {
    console.log(stored);
    return 0;
  }
  const file = values.file === undefined ? undefined : pathFromCommandLine(values.file);
  const [doc, base] = stored ?? [
    benchDoc(JSON.parse(readFileSync(file!, 'utf8')) as SuiteResult, path.relative(ROOT, file!)),
    path.basename(file!, '.json'),
  ];
  const files = await writeFiles(doc, pathFromCommandLine(values.out), base);
  if (values.docs) files.push(...(await writeSection(doc, DOCS.file, DOCS.charts)));
  console.log(`${terminal(doc)}\n\n${files.map(where).join('\n')}`);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main().catch((error: unknown) => {
    console.error(`report: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  });
}
