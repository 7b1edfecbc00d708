import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import type { HttpEventOptions } from '../../scripts/lib/lambda-events.js';

import { slsPackage } from '../../scripts/lib/sls.js';
import type { Sql } from '../../shared/clients/postgres.js';
import type { Template } from '../deploy/helpers.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { httpEvent } from '../helpers/lambda.js';
import { type ArtifactRun, ensureLambdaRuntime, invokeInRuntime, type LambdaRuntime, storedColdStart, unpack } from './runtime.js';

/**
 * The zips `npm run deploy` uploads, each run cold in the AWS Lambda Runtime Interface Emulator with the
 * Node.js runtime interface client, on the Lambda runtime's Node major, against the local stores: one real
 * event per function, its answer checked. Nothing of serverless-offline or of the test process is in the
 * path: the function sees its zip, its handler string and the environment of the packaged template.
 */
const log = (line: string) => console.log(`[artifacts] ${line}`);
let runtime: LambdaRuntime | undefined;
let unavailable = '';
let dir: string;
let template: Template;
let sql: Sql;
let fixtures: Fixtures;
const runs: ArtifactRun[] = [];

interface Case {
  event: () => unknown;
  /** Checks the answer (an HTTP answer's body arrives parsed as `body`). */
  check: (answer: { statusCode?: number; body: any; result: any }) => void | Promise<void>;
}
const customer = () => String(fixtures.customerIds[0]);
const product = () => String(fixtures.productIds[0]);
let orderId = '';
const http = (method: string, path: string, routePath: string, more: Partial<HttpEventOptions> = {}) =>
  httpEvent({ method, path, routeKey: `${method} ${routePath}`, ...more });
const scheduled = () => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:000000000000:rule/local'],
  detail: {},
});
const status =
  (code: number, shape: (body: any) => void = () => {}) =>
  (answer: { statusCode?: number; body: any }) => {
    expect(answer.statusCode, JSON.stringify(answer.body)).toBe(code);
    shape(answer.body);
  };

/** Every function of serverless.yml, in an order where each finds what the earlier ones wrote. */
const CASES: Record<string, Case> = {
  getHealth: { event: () => http('GET', '/health', '/health'), check: status(200, (b) => expect(b.status).toBe('ok')) },
  createOrder: {
    event: () =>
      http('POST', '/orders', '/orders', {
        body: { customerId: Number(customer()), items: [{ productId: Number(product()), quantity: 2 }] },
      }),
    check: async (answer) => {
      status(201, (b) => expect(b.orderId).toEqual(expect.any(Number)))(answer);
      orderId = String(answer.body.orderId);
      const [row] = await sql`select customer_id, total_amount::text as total from orders where order_id = ${answer.body.orderId}`;
      expect(row).toMatchObject({ customer_id: Number(customer()), total: answer.body.totalAmount });
    },
  },
  getOrder: {
    event: () => http('GET', `/orders/${orderId}`, '/orders/{orderId}', { pathParameters: { orderId } }),
    check: status(200, (b) => expect(String(b.orderId)).toBe(orderId)),
  },
  listCustomerOrders: {
    event: () =>
      http('GET', `/customers/${customer()}/orders`, '/customers/{customerId}/orders', { pathParameters: { customerId: customer() } }),
    check: status(200, (b) => expect(b.orders).toHaveLength(1)),
  },
  getTopProducts: {
    event: () => http('GET', '/products/top', '/products/top'),
    check: status(200, (b) => expect(b.products[0]).toMatchObject({ productId: Number(product()) })),
  },
  listProducts: { event: () => http('GET', '/products', '/products'), check: status(200, (b) => expect(b.products).toHaveLength(5)) },
  getProduct: {
    event: () => http('GET', `/products/${product()}`, '/products/{productId}', { pathParameters: { productId: product() } }),
    check: status(200, (b) => expect(String(b.productId)).toBe(product())),
  },
  reconcileTopProducts: { event: scheduled, check: ({ result }) => expect(result).not.toHaveProperty('errorType') },
  saveCart: {
    event: () =>
      http('PUT', `/carts/${customer()}`, '/carts/{customerId}', {
        pathParameters: { customerId: customer() },
        body: { items: [{ productId: Number(product()), quantity: 1 }] },
      }),
    check: status(200, (b) => expect(b.items).toHaveLength(1)),
  },
  getCart: {
    event: () => http('GET', `/carts/${customer()}`, '/carts/{customerId}', { pathParameters: { customerId: customer() } }),
    check: status(200, (b) => expect(b.items).toHaveLength(1)),
  },
  checkoutCart: {
    event: () =>
      http('POST', `/carts/${customer()}/checkout`, '/carts/{customerId}/checkout', {
        pathParameters: { customerId: customer() },
        headers: { 'idempotency-key': 'artifacts-checkout' },
      }),
    check: status(201, (b) => expect(b.orderId).toEqual(expect.any(Number))),
  },
  purgeExpired: {
    event: scheduled,
    check: ({ result }) =>
      expect(result).toMatchObject({ idempotencyKeys: expect.any(Number), cartVersions: expect.any(Number), complete: true }),
  },
  deleteCart: {
    event: () => http('DELETE', `/carts/${customer()}`, '/carts/{customerId}', { pathParameters: { customerId: customer() } }),
    check: (answer) => expect(answer.statusCode).toBe(204),
  },
  runBenchmarks: {
    event: () => JSON.parse(readFileSync(`${ROOT}events/runBenchmarks-tiny.json`, 'utf8')),
    check: ({ result }) => expect(result).toMatchObject({ runId: expect.anything() }),
  },
  getLatestBenchmark: {
    event: () => http('GET', '/benchmarks/latest', '/benchmarks/latest'),
    check: status(200, (b) => expect(b).toHaveProperty('runId')),
  },
  listBenchmarks: {
    event: () => http('GET', '/benchmarks', '/benchmarks'),
    check: status(200, (b) => expect(b.runs.length).toBeGreaterThan(0)),
  },
  getAnalyticsSummary: {
    event: () => http('GET', '/analytics/summary', '/analytics/summary'),
    check: status(200, (b) => expect(b.window).toMatchObject({ timeZone: 'UTC' })),
  },
  getOpenApi: { event: () => http('GET', '/openapi.json', '/openapi.json'), check: status(200, (b) => expect(b.openapi).toMatch(/^3\./)) },
  getApiDocs: { event: () => http('GET', '/docs', '/docs'), check: status(200, (b) => expect(b).toContain('swagger-ui')) },
  getApiDocsAsset: {
    event: () => http('GET', '/docs/init.js', '/docs/{asset}', { pathParameters: { asset: 'init.js' } }),
    check: status(200, (b) => expect(b).toContain('SwaggerUIBundle')),
  },
  getConsole: { event: () => http('GET', '/console', '/console'), check: status(200, (b) => expect(b).toContain('<html')) },
  getConsoleAsset: {
    event: () => http('GET', '/console/icon.svg', '/console/{asset}', { pathParameters: { asset: 'icon.svg' } }),
    check: status(200, (b) => expect(b).toContain('<svg')),
  },
  // The catch-all: API Gateway's $default route key.
  notFound: {
    event: () => httpEvent({ method: 'PATCH', path: '/orders', routeKey: '$default' }),
    check: status(405, (b) => expect(b.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { allow: ['POST'] } })),
  },
};

const lambdaOf = (name: string) =>
  Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.FunctionName).endsWith(`-${name}`),
  )?.Properties;

/** Runs one packaged function's zip in the emulator, configured as its template entry says. */
async function runArtifact(name: string, zipFile: string, event: unknown): Promise<ArtifactRun> {
  const fn = lambdaOf(name)!;
  const taskRoot = join(dir, 'task', name);
  rmSync(taskRoot, { recursive: true, force: true });
  await unpack(zipFile, taskRoot);
  const variables: Record<string, unknown> = fn.Environment?.Variables ?? {};
  const env = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : '']));
  env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(fn.MemorySize);
  env.AWS_LAMBDA_FUNCTION_TIMEOUT = String(fn.Timeout);
  return invokeInRuntime(runtime!, { name, taskRoot, handler: fn.Handler, env, event, timeoutMs: 120_000 });
}

/** The answer as a client sees it: an HTTP answer's JSON body parsed. */
function answerOf(run: ArtifactRun) {
  const { result } = run;
  if (typeof result?.statusCode !== 'number') return { body: undefined, result };
  const json = /json/.test(String(result.headers?.['content-type'] ?? result.headers?.['Content-Type'] ?? ''));
  return { statusCode: result.statusCode, body: json && result.body ? JSON.parse(result.body) : result.body, result };
}

/** The table the run prints: each function's outcome and its init, next to the cold-start benchmark's. */
function formatRuns(all: ArtifactRun[]): string {
  const stored = storedColdStart(`${ROOT}bench/results`);
  const rows = all.map((run) => {
    const bench = stored?.initMs[run.name];
    const outcome = run.ok ? `ok${run.result?.statusCode ? ` ${run.result.statusCode}` : ''}` : `FAILED ${run.error}`.slice(0, 120);
    return `  ${run.name.padEnd(22)} ${(run.initMs?.toFixed(0) ?? '?').padStart(7)} ms  ${(bench === undefined ? '—' : `${bench.toFixed(0)} ms`).padStart(9)}  ${outcome}`;
  });
  const source = stored
    ? `cold-start benchmark: module init, median, bench/results/${stored.file}`
    : 'no stored cold-start benchmark run (npm run bench -- --only cold-start): emulator figures only';
  return [`  ${'function'.padEnd(22)} ${'init (RIE)'.padStart(10)}  ${'cold-start'.padStart(9)}  result`, ...rows, `  (${source})`].join(
    '\n',
  );
}

beforeAll(async () => {
  const ready = await ensureLambdaRuntime(log);
  if (typeof ready === 'string') {
    unavailable = ready;
    log(`skipping the artifact tests on this machine: ${ready}`);
    return;
  }
  runtime = ready;
  dir = mkdtempSync(join(tmpdir(), 'ecommerce-artifacts-'));
  log('packaging every function (sls package --stage dev) with the local stores as its configuration');
  const run = await slsPackage({ stage: 'dev', outDir: join(dir, 'package'), env: process.env, fakeSsm: true });
  if (run.code !== 0) throw new Error(`sls package failed:\n${run.output}`);
  template = JSON.parse(readFileSync(join(dir, 'package', 'cloudformation-template-update-stack.json'), 'utf8'));
  sql = testSql();
  await resetShop(sql);
  fixtures = await insertFixtures(sql);
}, 900_000);

afterAll(async () => {
  if (runs.length > 0) console.log(`\nThe packaged zips in the Lambda Runtime Interface Emulator:\n${formatRuns(runs)}\n`);
  await sql?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('every packaged zip, cold in the Lambda Runtime Interface Emulator', () => {
  it('has a case for every function of the template', (context) => {
    if (!runtime) return context.skip(unavailable);
    const names = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => String(r.Properties.FunctionName).replace(/^ecommerce-pipeline-dev-/, ''));
    expect(names.filter((name) => !CASES[name])).toEqual([]);
  });

  it.for(Object.keys(CASES))('%s answers its event', { timeout: 180_000 }, async (name, context) => {
    if (!runtime) return context.skip(unavailable);
    if (!lambdaOf(name)) return context.skip(`${name} is not in this package`);
    const run = await runArtifact(name, join(dir, 'package', `${name}.zip`), CASES[name]!.event());
    runs.push(run);
    expect(run.ok, `${name}: ${run.error}\n${run.log.slice(-3000)}`).toBe(true);
    expect(run.initMs, 'the emulator reports the init duration').toBeGreaterThan(0);
    await CASES[name]!.check(answerOf(run));
  });

  it('reports a zip whose handler does not resolve as that function failing', { timeout: 60_000 }, async (context) => {
    if (!runtime) return context.skip(unavailable);
    const zip = await JSZip.loadAsync(readFileSync(join(dir, 'package', 'getHealth.zip')));
    zip.remove('functions/getHealth.mjs');
    const broken = join(dir, 'broken-getHealth.zip');
    writeFileSync(broken, await zip.generateAsync({ type: 'nodebuffer' }));
    const run = await runArtifact('getHealth', broken, http('GET', '/health', '/health'));
    expect(run.ok).toBe(false);
    expect(run.error, run.log).toMatch(/Runtime\.ImportModuleError/);
    expect(formatRuns([run])).toMatch(/getHealth .* FAILED Runtime\.ImportModuleError/);
  });
});
