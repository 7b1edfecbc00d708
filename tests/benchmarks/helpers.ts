import { spawn } from 'node:child_process';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ROOT } from '../../scripts/lib/env.js';

/** Row counts small enough for a whole run (every suite) to take a second or two. */
export const TINY_SIZES = {
  btreeOrders: [1_000, 2_000],
  ginProducts: [1_000],
  cacheOrderItems: 2_000,
  cacheProducts: 100,
  orderProducts: 50,
  orderCustomers: 50,
  orderCalls: 20,
};

export const RUN_BENCHMARKS = 'ecommerce-pipeline-dev-runBenchmarks';

export function lambdaClient(endpoint: string): LambdaClient {
  return new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

export async function invokeLambda(client: LambdaClient, functionName: string, payload: unknown) {
  const result = await client.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
  const text = Buffer.from(result.Payload ?? []).toString();
  return { functionError: result.FunctionError, payload: text ? JSON.parse(text) : null };
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script of the repo (TypeScript through tsx, as `npm run …` does) with the test environment. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const command = script.endsWith('.ts') ? [`${ROOT}node_modules/tsx/dist/cli.mjs`, script] : [script];
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
