import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, describe, expect, inject, it } from 'vitest';

const lambda = new LambdaClient({
  endpoint: inject('offlineLambdaEndpoint'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

afterAll(() => lambda.destroy());

async function invoke(functionName: string, payload: unknown) {
  const result = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
  return { functionError: result.FunctionError, payload: JSON.parse(Buffer.from(result.Payload ?? []).toString() || 'null') };
}

describe('runBenchmarks through the Lambda API (@aws-sdk/client-lambda → serverless-offline :3102)', () => {
  it('runs and returns a benchmark run', async () => {
    // The small scale with tiny explicit row counts (the full small scale is exercised in tests/benchmarks).
    const sizes = {
      btreeOrders: [1000],
      ginProducts: [1000],
      cacheOrderItems: 2000,
      cacheProducts: 100,
      orderProducts: 50,
      orderCustomers: 50,
      orderCalls: 20,
    };
    const { functionError, payload } = await invoke('ecommerce-pipeline-dev-runBenchmarks', { scale: 'small', sizes });
    expect(functionError).toBeUndefined();
    expect(payload).toMatchObject({ status: 'succeeded', params: { scale: 'small' } });
    expect(payload.runId).toBeGreaterThan(0);
    expect(payload.environment.postgres.version).toMatch(/PostgreSQL/);
    expect(payload.results.btree.headline.speedup).toBeGreaterThan(0);
  }, 60_000);

  it('reports a function error for an invalid payload', async () => {
    const { functionError, payload } = await invoke('ecommerce-pipeline-dev-runBenchmarks', { scale: 'galactic' });
    expect(functionError).toBeTruthy();
    expect(JSON.stringify(payload)).toMatch(/Invalid benchmark payload/);
  });
});
