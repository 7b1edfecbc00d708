/**
 * npm run invoke -- <function> [json | @file.json] [--stage dev] [--region eu-west-1] [--endpoint URL | --aws]
 *
 * Invokes a function through the Lambda API with @aws-sdk/client-lambda: by default serverless-offline's
 * Lambda endpoint (http://127.0.0.1:3002, local dummy credentials), or real AWS with --aws (the SDK's
 * usual credential chain). A short name (runBenchmarks) is resolved to ecommerce-pipeline-<stage>-<name>;
 * a name that already has the prefix is used as is. Prints the returned payload (and the function
 * error, if any) and exits non-zero when the function failed.
 *
 *   npm run invoke -- runBenchmarks '{"scale":"small"}'
 *   npm run invoke -- runBenchmarks '{"suites":["gin"],"sizes":{"ginProducts":[1000,10000]}}'
 *   npm run invoke -- runBenchmarks @payload.json --stage prod --aws
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

export const SERVICE = 'ecommerce-pipeline';
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3002';

export function functionName(name: string, stage: string): string {
  return name.startsWith(`${SERVICE}-`) ? name : `${SERVICE}-${stage}-${name}`;
}

/** The payload argument: inline JSON, `@path` to a JSON file, or nothing (`{}`). */
export function readPayload(argument: string | undefined): unknown {
  if (argument === undefined || argument === '') return {};
  const text = argument.startsWith('@') ? readFileSync(argument.slice(1), 'utf8') : argument;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`the payload is not valid JSON (${(error as Error).message})`);
  }
}

export interface InvokeOptions {
  name: string;
  payload: unknown;
  stage: string;
  region: string;
  /** undefined: real AWS. */
  endpoint: string | undefined;
}

export interface InvokeResult {
  functionName: string;
  statusCode: number | undefined;
  functionError: string | undefined;
  payload: unknown;
}

export async function invoke(options: InvokeOptions): Promise<InvokeResult> {
  const client = new LambdaClient({
    region: options.region,
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    // A large benchmark runs for minutes: no client-side timeout beyond the function's own.
    maxAttempts: 1,
  });
  const name = functionName(options.name, options.stage);
  try {
    const result = await client.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(options.payload)) }),
    );
    const text = Buffer.from(result.Payload ?? []).toString();
    let payload: unknown = text;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: print it as it came
    }
    // serverless-offline answers an unhandled error without FunctionError; AWS sets it. Both count.
    const offlineError =
      typeof payload === 'object' && payload !== null && 'errorMessage' in payload && 'errorType' in payload
        ? String((payload as { errorType: unknown }).errorType)
        : undefined;
    return { functionName: name, statusCode: result.StatusCode, functionError: result.FunctionError ?? offlineError, payload };
  } finally {
    client.destroy();
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string', default: process.env.AWS_REGION ?? 'eu-west-1' },
      endpoint: { type: 'string', default: process.env.LAMBDA_ENDPOINT ?? DEFAULT_ENDPOINT },
      aws: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [name, payloadArgument, ...extra] = positionals;
  if (values.help || !name || extra.length > 0) {
    console.error('usage: npm run invoke -- <function> [json | @file.json] [--stage dev] [--region eu-west-1] [--endpoint URL | --aws]');
    return values.help ? 0 : 2;
  }
  let payload: unknown;
  try {
    payload = readPayload(payloadArgument);
  } catch (error) {
    console.error(`invoke: ${(error as Error).message}`);
    return 2;
  }
  const endpoint = values.aws ? undefined : values.endpoint;
  const started = performance.now();
  let result: InvokeResult;
  try {
    result = await invoke({ name, payload, stage: values.stage!, region: values.region!, endpoint });
  } catch (error) {
    const where = endpoint ?? `AWS (${values.region})`;
    console.error(`invoke: could not invoke ${functionName(name, values.stage!)} at ${where}: ${(error as Error).message}`);
    if (endpoint === DEFAULT_ENDPOINT) console.error('invoke: is serverless-offline running? (npm start or npm run offline)');
    return 1;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(JSON.stringify(result.payload, null, 2));
  if (result.functionError) {
    const message =
      typeof result.payload === 'object' && result.payload !== null && 'errorMessage' in result.payload
        ? String((result.payload as { errorMessage: unknown }).errorMessage)
        : 'see the payload above';
    console.error(`\n${result.functionName} failed (${result.functionError}) after ${seconds} s: ${message}`);
    return 1;
  }
  console.error(`\n${result.functionName} succeeded in ${seconds} s`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
