/**
 * npm run report [-- --run <id>] [--out reports/] [--list]
 *
 * Renders a stored benchmark run (the latest that succeeded, or --run <id> whatever its status) from
 * the database in DATABASE_URL (.env / .env.example, see scripts/lib/env.ts):
 *   <out>/benchmark-<id>.html  self-contained page with inline SVG charts and the plans
 *   <out>/benchmark-<id>.md    Markdown summary
 * and prints a compact table to the terminal. --list prints the most recent runs instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { getLatestRun, getRun, listRuns, type StoredRun } from '../shared/benchmarks/store.js';
import type { Sql } from '../shared/clients/postgres.js';
import { localEnv, ROOT } from './lib/env.js';
import { renderHtml } from './report/html.js';
import { headlineTable } from './report/model.js';
import { renderMarkdown, terminalTable } from './report/text.js';

export interface ReportFiles {
  run: StoredRun;
  html: string;
  markdown: string;
}

/** Writes the HTML and Markdown files of a run into `outDir` and returns their paths. */
export async function writeReport(run: StoredRun, outDir: string): Promise<ReportFiles> {
  mkdirSync(outDir, { recursive: true });
  const base = `benchmark-${run.runId}`;
  const html = join(outDir, `${base}.html`);
  const markdown = join(outDir, `${base}.md`);
  writeFileSync(html, await renderHtml(run));
  writeFileSync(markdown, renderMarkdown(run, `${base}.html`));
  return { run, html, markdown };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      run: { type: 'string' },
      out: { type: 'string', default: 'reports' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run report [-- --run <id>] [--out reports/] [--list]');
    return 0;
  }
  const runId = values.run === undefined ? undefined : Number(values.run);
  if (runId !== undefined && !(Number.isInteger(runId) && runId > 0)) {
    console.error(`report: --run must be a positive integer (got "${values.run}")`);
    return 2;
  }
  const env = localEnv();
  if (!env.DATABASE_URL) {
    console.error('report: DATABASE_URL is not set (.env, .env.example or the environment)');
    return 2;
  }
  const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 }) as unknown as Sql;
  try {
    if (values.list) {
      const runs = await listRuns(sql, 20);
      console.log(
        terminalTable({
          header: ['run', 'status', 'trigger', 'scale', 'started', 'duration'],
          numeric: [0, 5],
          rows: runs.map((run) => [
            String(run.runId),
            run.status,
            run.trigger,
            run.scale,
            run.startedAt,
            run.durationMs === null ? '–' : `${(run.durationMs / 1000).toFixed(1)} s`,
          ]),
        }),
      );
      return 0;
    }
    const run = runId === undefined ? await getLatestRun(sql) : await getRun(sql, runId);
    if (!run) {
      console.error(
        runId === undefined
          ? 'report: no successful benchmark run is stored yet — run one: npm run invoke -- runBenchmarks \'{"scale":"small"}\''
          : `report: there is no benchmark run ${runId} (npm run report -- --list shows the recent ones)`,
      );
      return 1;
    }
    const outDir = resolve(values.out!);
    const files = await writeReport(run, outDir);
    const where = (path: string) => (path.startsWith(ROOT) ? relative(process.cwd(), path) : path);
    console.log(`Benchmark run ${run.runId} — ${run.status}, scale ${run.params?.scale}, ${run.startedAt}\n`);
    console.log(terminalTable(headlineTable(run)));
    console.log(`\nHTML:     ${where(files.html)}\nMarkdown: ${where(files.markdown)}`);
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    console.error(
      code === '42P01' ? 'report: the benchmark_runs table does not exist — run npm run db:migrate' : `report: ${(error as Error).message}`,
    );
    return 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
