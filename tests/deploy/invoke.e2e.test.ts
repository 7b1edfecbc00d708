import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_ENDPOINT, functionName, readPayload, resolveTarget } from '../../scripts/invoke.js';
import { runScript } from '../benchmarks/helpers.js';
import { httpEvent } from '../helpers/lambda.js';

const dir = mkdtempSync(join(tmpdir(), 'ecommerce-invoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run invoke: where it goes', () => {
  it('defaults to serverless-offline; --region or --profile (or --aws) mean AWS; --endpoint wins', () => {
    expect(resolveTarget({}, {})).toEqual({ kind: 'offline', endpoint: DEFAULT_ENDPOINT, region: 'us-east-1' });
    expect(resolveTarget({}, { LAMBDA_ENDPOINT: 'http://127.0.0.1:3102' })).toMatchObject({
      kind: 'offline',
      endpoint: 'http://127.0.0.1:3102',
    });
    // npm start's Lambda port moved in .env (OFFLINE_LAMBDA_PORT) is where its functions are.
    expect(resolveTarget({}, { OFFLINE_LAMBDA_PORT: '4002' })).toMatchObject({ kind: 'offline', endpoint: 'http://127.0.0.1:4002' });
    expect(resolveTarget({}, { OFFLINE_LAMBDA_PORT: '4002', LAMBDA_ENDPOINT: 'http://127.0.0.1:3102' })).toMatchObject({
      endpoint: 'http://127.0.0.1:3102',
    });
    expect(resolveTarget({ region: 'us-west-2' }, {})).toEqual({ kind: 'aws', region: 'us-west-2', profile: undefined });
    expect(resolveTarget({ profile: 'shop-prod' }, { AWS_REGION: 'eu-central-1' })).toEqual({
      kind: 'aws',
      region: 'eu-central-1',
      profile: 'shop-prod',
    });
    expect(resolveTarget({ aws: true }, {})).toEqual({ kind: 'aws', region: 'eu-west-1', profile: undefined });
    expect(resolveTarget({ endpoint: 'http://localhost:4566', region: 'eu-west-1' }, {})).toEqual({
      kind: 'endpoint',
      endpoint: 'http://localhost:4566',
      region: 'eu-west-1',
    });
  });

  it('resolves short names per stage and keeps full names', () => {
    expect(functionName('runBenchmarks', 'dev')).toBe('ecommerce-pipeline-dev-runBenchmarks');
    expect(functionName('runBenchmarks', 'prod')).toBe('ecommerce-pipeline-prod-runBenchmarks');
    expect(functionName('ecommerce-pipeline-prod-getCart', 'dev')).toBe('ecommerce-pipeline-prod-getCart');
  });

  it('reads @file payloads relative to where npm was run from', () => {
    writeFileSync(join(dir, 'payload.json'), '{"scale":"small"}');
    expect(readPayload('@payload.json', dir)).toEqual({ scale: 'small' });
    expect(readPayload(undefined)).toEqual({});
    expect(() => readPayload('@missing.json', dir)).toThrow(/cannot read the payload file .*missing\.json \(ENOENT\)/);
  });
});

describe('npm run invoke against serverless-offline', () => {
  const endpoint = inject('offlineLambdaEndpoint');
  // The default target (no --endpoint), pointed at the tests' serverless-offline as $LAMBDA_ENDPOINT.
  const env = { LAMBDA_ENDPOINT: endpoint, INIT_CWD: dir };

  it('invokes an HTTP function with an API Gateway event from an @file and prints its response', async () => {
    writeFileSync(join(dir, 'top.json'), JSON.stringify(httpEvent({ method: 'GET', path: '/products/top', query: { limit: '1' } })));
    const { code, stdout, stderr } = await runScript('scripts/invoke.ts', ['getTopProducts', '@top.json'], env);
    expect(code, stderr).toBe(0);
    const response = JSON.parse(stdout);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toHaveProperty('products');
    expect(stderr).toMatch(new RegExp(`ecommerce-pipeline-dev-getTopProducts succeeded in [\\d.]+ s \\(serverless-offline ${endpoint}\\)`));
  });

  it('prints the function error and exits 1', async () => {
    const { code, stdout, stderr } = await runScript('scripts/invoke.ts', ['runBenchmarks', '{"scale":"galactic"}'], env);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).errorMessage).toMatch(/Invalid benchmark payload/);
    expect(stderr).toMatch(/ecommerce-pipeline-dev-runBenchmarks failed \(.+\) after [\d.]+ s: Invalid benchmark payload/);
  });

  it('exits 1 naming the function and the target when the function does not exist', async () => {
    const { code, stderr } = await runScript('scripts/invoke.ts', ['noSuchFunction'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/ecommerce-pipeline-dev-noSuchFunction/);
  });

  it('goes to AWS with --profile (here: no such profile, no network) and says so', async () => {
    const { code, stderr } = await runScript(
      'scripts/invoke.ts',
      ['runBenchmarks', '--stage', 'prod', '--region', 'eu-west-1', '--profile', 'no-such-profile'],
      {
        ...env,
        AWS_CONFIG_FILE: join(dir, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/could not invoke ecommerce-pipeline-prod-runBenchmarks at AWS eu-west-1 \(profile no-such-profile\)/);
  });

  it('rejects usage errors with exit 2', async () => {
    expect((await runScript('scripts/invoke.ts', [], env)).code).toBe(2);
    expect((await runScript('scripts/invoke.ts', ['runBenchmarks', '--bogus'], env)).code).toBe(2);
    const missing = await runScript('scripts/invoke.ts', ['runBenchmarks', '@nope.json'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the payload file/);
  });
});
