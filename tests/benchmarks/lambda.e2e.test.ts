import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BENCHMARK_LOCK_ID } from '../../shared/benchmarks/run-benchmarks.js';
import { getRun } from '../../shared/benchmarks/store.js';
import { testSql } from '../helpers/db.js';
import { api } from '../helpers/http.js';
import { invokeLambda, lambdaClient, RUN_BENCHMARKS, runScript, TINY_SIZES } from './helpers.js';

/**
 * runBenchmarks end to end through the Lambda API (@aws-sdk/client-lambda → serverless-offline's
 * Lambda port), then the stored run read back from the table and through GET /benchmarks/latest, the
 * report rendered from it by `npm run report`, and the refusals as function errors.
 */
const sql = testSql();
const lambda = lambdaClient(inject('offlineLambdaEndpoint'));
const outDir = mkdtempSync(join(tmpdir(), 'benchmark-report-'));

beforeAll(async () => {
  await sql`truncate benchmark_runs restart identity`;
});

afterAll(async () => {
  lambda.destroy();
  await sql.end({ timeout: 5 });
  rmSync(outDir, { recursive: true, force: true });
});

describe('runBenchmarks through the Lambda API', () => {
  let runId: number;

  it('answers 404 on GET /benchmarks/latest before any run is stored', async () => {
    const response = await api('GET', '/benchmarks/latest');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('BENCHMARK_NOT_FOUND');
  });

  it('runs every suite at a small explicit scale and returns the stored run', async () => {
    const { functionError, payload } = await invokeLambda(lambda, RUN_BENCHMARKS, { sizes: TINY_SIZES, repetitions: 5 });
    expect(functionError).toBeUndefined();
    expect(payload).toMatchObject({ status: 'succeeded', trigger: 'invoke', error: null, params: { scale: 'small', repetitions: 5 } });
    expect(Object.keys(payload.results)).toEqual(expect.arrayContaining(['btree', 'gin', 'cache', 'orders']));
    for (const suite of ['btree', 'gin', 'cache', 'orders']) expect(payload.results[suite].error).toBeUndefined();
    expect(payload.environment.postgres.version).toMatch(/PostgreSQL/);
    expect(payload.environment.lambda.functionName).toBe(RUN_BENCHMARKS);
    expect(payload.plansStored).toBeGreaterThan(10);
    expect(payload.durationMs).toBeGreaterThan(0);
    expect(payload.estimatedMs).toBeGreaterThan(0);
    runId = payload.runId;
  }, 60_000);

  it('stored the run with its results, timings and plans', async () => {
    const stored = await getRun(sql, runId);
    expect(stored).toMatchObject({ runId, status: 'succeeded', trigger: 'invoke' });
    expect(stored?.results?.btree).toBeDefined();
    expect(stored?.timings?.['suite.gin']).toBeGreaterThanOrEqual(0);
    expect(Object.keys(stored?.plans ?? {})).toEqual(
      expect.arrayContaining(['btree/1000/none', 'gin/1000/0.001/planner', 'cache/postgres']),
    );
  });

  it('serves the run on GET /benchmarks/latest, with or without the plans', async () => {
    const full = await api('GET', '/benchmarks/latest');
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ runId, status: 'succeeded' });
    expect(full.body.plans['cache/postgres'].Plan).toBeDefined();
    const light = await api('GET', '/benchmarks/latest?plans=false');
    expect(light.status).toBe(200);
    expect(light.body.runId).toBe(runId);
    expect(light.body.plans).toBeNull();
    const bad = await api('GET', '/benchmarks/latest?status=bogus');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('renders the stored run as an HTML page and a Markdown summary with every suite (npm run report)', async () => {
    const { code, stdout, stderr } = await runScript('scripts/report.ts', ['--run', String(runId), '--out', outDir]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`Benchmark run ${runId} — succeeded`));
    expect(stdout).toMatch(/btree\s+1K orders, \(customer_id\)/);
    for (const suite of ['btree', 'gin', 'cache', 'orders']) expect(stdout).toMatch(new RegExp(`^${suite}\\s`, 'm'));

    const htmlPath = join(outDir, `benchmark-${runId}.html`);
    const markdownPath = join(outDir, `benchmark-${runId}.md`);
    expect(existsSync(htmlPath)).toBe(true);
    expect(existsSync(markdownPath)).toBe(true);
    const html = readFileSync(htmlPath, 'utf8');
    for (const suite of ['btree', 'gin', 'cache', 'orders']) expect(html).toContain(`<h2 id="${suite}">`);
    // Charts inline (speedups, B-tree, GIN crossover, orders), nothing fetched from elsewhere.
    expect(html.match(/<svg[\s>]/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('GIN crossover');
    expect(html).not.toMatch(/<script|<link|src="http/);
    const markdown = readFileSync(markdownPath, 'utf8');
    for (const title of ['## B-tree', '## GIN', '## Cache', '## Orders', '### The lab’s claim', 'jsonb_path_ops'])
      expect(markdown).toContain(title);
  }, 60_000);

  it('is refused with a clear function error while another run holds the lock', async () => {
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(${BENCHMARK_LOCK_ID})`;
      const { functionError, payload } = await invokeLambda(lambda, RUN_BENCHMARKS, { sizes: TINY_SIZES });
      expect(functionError).toBeTruthy();
      expect(payload.errorMessage).toMatch(/A benchmark run is already running/);
    } finally {
      await holder`select pg_advisory_unlock(${BENCHMARK_LOCK_ID})`;
      holder.release();
    }
    const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from benchmark_runs`;
    expect(row!.count).toBe(1);
  });

  it('refuses up front a run estimated not to fit in the Lambda’s 15 minutes', async () => {
    const { functionError, payload } = await invokeLambda(lambda, RUN_BENCHMARKS, {
      sizes: { ginProducts: [1_000_000, 999_999, 999_998], btreeOrders: [5_000_000, 4_999_999] },
      repetitions: 50,
    });
    expect(functionError).toBeTruthy();
    expect(payload.errorMessage).toMatch(/^Benchmark refused: it is estimated to take [\d.]+ s, but this invocation has [\d.]+ s left/);
  });

  it('reports an invalid payload as a function error naming the field', async () => {
    const { functionError, payload } = await invokeLambda(lambda, RUN_BENCHMARKS, { scale: 'galactic', repetitions: 2 });
    expect(functionError).toBeTruthy();
    expect(payload.errorMessage).toMatch(/^Invalid benchmark payload: /);
    expect(payload.errorMessage).toContain('payload.scale');
    expect(payload.errorMessage).toContain('payload.repetitions');
  });
});

describe('npm run invoke', () => {
  const endpoint = inject('offlineLambdaEndpoint');

  it('resolves the short name, prints the payload and exits 0 on success', async () => {
    const payload = JSON.stringify({ suites: ['btree'], sizes: { btreeOrders: [1_000] } });
    const { code, stdout, stderr } = await runScript('scripts/invoke.ts', ['runBenchmarks', payload, '--endpoint', endpoint]);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'succeeded', params: { suites: ['btree'] } });
    expect(stderr).toMatch(/ecommerce-pipeline-dev-runBenchmarks succeeded in [\d.]+ s/);
  }, 60_000);

  it('prints the function error and exits non-zero when the function fails', async () => {
    const { code, stdout, stderr } = await runScript('scripts/invoke.ts', ['runBenchmarks', '{"repetitions":1}', '--endpoint', endpoint]);
    expect(code, stderr).toBe(1);
    expect(JSON.parse(stdout).errorMessage).toMatch(/payload\.repetitions/);
    expect(stderr).toMatch(/ecommerce-pipeline-dev-runBenchmarks failed \(.+\) after [\d.]+ s: Invalid benchmark payload/);
  });

  it('rejects a payload that is not JSON before calling anything', async () => {
    const { code, stderr } = await runScript('scripts/invoke.ts', ['runBenchmarks', '{scale:', '--endpoint', endpoint]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the payload is not valid JSON/);
  });
});
