import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as listBenchmarks } from '../../functions/listBenchmarks.js';
import { parseBenchmarkEvent } from '../../shared/benchmarks/request.js';
import { finishRun, insertRun } from '../../shared/benchmarks/store.js';
import { closeSql } from '../../shared/clients/postgres.js';
import { testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import { TINY_SIZES } from './helpers.js';

/** GET /benchmarks in process: every stored run can be reached, a page at a time, newest first. */
const sql = testSql();
let ids: number[] = [];

async function get(query: Record<string, string>) {
  const response = await listBenchmarks(httpEvent({ method: 'GET', path: '/benchmarks', query }), lambdaContext('listBenchmarks'));
  return { status: response.statusCode, body: JSON.parse(String(response.body)) };
}

beforeAll(async () => {
  await sql`truncate benchmark_runs restart identity`;
  const request = parseBenchmarkEvent({ sizes: TINY_SIZES });
  for (let n = 0; n < 25; n++) {
    const { runId } = await insertRun(sql, { trigger: request.trigger, params: request, estimatedMs: 1, environment: {} as never });
    await finishRun(sql, runId, { status: 'succeeded', results: {}, plans: {}, timings: {}, error: null });
    ids.push(runId);
  }
  ids = ids.reverse();
});

afterAll(async () => {
  await sql`truncate benchmark_runs restart identity`;
  await sql.end();
  await closeSql();
});

describe('GET /benchmarks', () => {
  it('reaches every run, a page at a time, newest first, through nextCursor', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await get({ limit: '10', ...(cursor ? { cursor } : {}) });
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      seen.push(...page.body.runs.map((run: { runId: number }) => run.runId));
      cursor = page.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(ids);
  });

  it('refuses a cursor that was edited, with a 400 naming it', async () => {
    const first = await get({ limit: '10' });
    const edited = `${String(first.body.nextCursor).slice(0, -1)}${String(first.body.nextCursor).endsWith('A') ? 'B' : 'A'}`;
    const refused = await get({ limit: '10', cursor: edited });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ field: 'query.cursor', message: expect.any(String) }]);
  });
});
