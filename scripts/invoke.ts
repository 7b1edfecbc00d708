/**
 * npm run invoke -- <function> [json | @file.json] [--stage dev] [--region r] [--profile p] [--endpoint URL] [--aws] [--logs]
 *
 * Invokes a function through the Lambda API with @aws-sdk/client-lambda:
 *   - by default serverless-offline's Lambda endpoint (http://127.0.0.1:3002, or $LAMBDA_ENDPOINT), with
 *     local dummy credentials;
 *   - real AWS as soon as --region or --profile is given (or --aws), with the SDK's usual credential chain
 *     (--profile picks a profile from ~/.aws); --logs then prints the last 4 KB of the function's log;
 *   - any other Lambda API with --endpoint (LocalStack: --endpoint http://localhost:4566).
 * A short name (runBenchmarks) is resolved to ecommerce-pipeline-<stage>-<name>; a name that already has
 * the prefix is used as is. `@file.json` is read relative to the directory you ran npm from. Prints the
 * returned payload on stdout (and the function error, if any, on stderr) and exits 1 when the function
 * failed, 2 on a usage error.
 *
 *   npm run invoke -- runBenchmarks '{"scale":"small"}'
 *   npm run invoke -- runBenchmarks '{"suites":["gin"],"sizes":{"ginProducts":[1000,10000]}}'
 *   npm run invoke -- runBenchmarks @payload.json --stage prod --region eu-west-1 --profile shop-prod --logs
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

export const SERVICE = 'ecommerce-pipeline';
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3002';
export const DEFAULT_REGION = 'eu-west-1';

export const USAGE =
  'usage: npm run invoke -- <function> [json | @file.json] [--stage dev] [--region r] [--profile p] [--endpoint URL | --aws] [--logs]';

export function functionName(name: string, stage: string): string {
  return name.startsWith(`${SERVICE}-`) ? name : `${SERVICE}-${stage}-${name}`;
}

/**
 * The payload argument: inline JSON, `@path` to a JSON file (relative to `baseDir`: npm runs scripts from
 * the project root, and says where it was called from in INIT_CWD), or nothing (`{}`).
 */
export function readPayload(argument: string | undefined, baseDir = process.env.INIT_CWD ?? process.cwd()): unknown {
  if (argument === undefined || argument === '') return {};
  let text = argument;
  if (argument.startsWith('@')) {
    const path = resolve(baseDir, argument.slice(1));
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the payload file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`the payload is not valid JSON (${(error as Error).message})`);
  }
}

/** Where an invocation goes. */
export type Target =
  | { kind: 'offline' | 'endpoint'; endpoint: string; region: string }
  | { kind: 'aws'; region: string; profile: string | undefined };

/** --endpoint wins; then --region / --profile / --aws mean real AWS; otherwise serverless-offline. */
export function resolveTarget(
  options: { endpoint?: string | undefined; region?: string | undefined; profile?: string | undefined; aws?: boolean | undefined },
  env: Record<string, string | undefined> = process.env,
): Target {
  if (options.endpoint) return { kind: 'endpoint', endpoint: options.endpoint, region: options.region ?? 'us-east-1' };
  if (options.aws || options.region || options.profile) {
    return { kind: 'aws', region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? DEFAULT_REGION, profile: options.profile };
  }
  return { kind: 'offline', endpoint: env.LAMBDA_ENDPOINT ?? DEFAULT_ENDPOINT, region: 'us-east-1' };
}

export function describeTarget(target: Target): string {
  if (target.kind === 'aws') return `AWS ${target.region}${target.profile ? ` (profile ${target.profile})` : ''}`;
  return target.kind === 'offline' ? `serverless-offline ${target.endpoint}` : target.endpoint;
}

export interface InvokeOptions {
  name: string;
  payload: unknown;
  stage: string;
  /** Real AWS: a region; a Lambda API elsewhere (serverless-offline, LocalStack): its endpoint. */
  region: string;
  /** undefined: real AWS. */
  endpoint: string | undefined;
  profile?: string | undefined;
  /** Ask for the last 4 KB of the function's log (AWS only; serverless-offline ignores it). */
  logs?: boolean;
}

export interface InvokeResult {
  functionName: string;
  statusCode: number | undefined;
  functionError: string | undefined;
  payload: unknown;
  /** The log tail, when asked for and returned. */
  log: string | undefined;
}

export async function invoke(options: InvokeOptions): Promise<InvokeResult> {
  const client = new LambdaClient({
    region: options.region,
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : options.profile
        ? { profile: options.profile }
        : {}),
    // A large benchmark runs for minutes: no retry, no client-side timeout beyond the function's own.
    maxAttempts: 1,
  });
  const name = functionName(options.name, options.stage);
  try {
    const result = await client.send(
      new InvokeCommand({
        FunctionName: name,
        Payload: Buffer.from(JSON.stringify(options.payload)),
        ...(options.logs ? { LogType: 'Tail' as const } : {}),
      }),
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
    return {
      functionName: name,
      statusCode: result.StatusCode,
      functionError: result.FunctionError ?? offlineError,
      payload,
      log: result.LogResult ? Buffer.from(result.LogResult, 'base64').toString() : undefined,
    };
  } finally {
    client.destroy();
  }
}

function parseInvokeArgs() {
  return parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string' },
      profile: { type: 'string' },
      endpoint: { type: 'string' },
      aws: { type: 'boolean', default: false },
      logs: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseInvokeArgs>;
  try {
    parsed = parseInvokeArgs();
  } catch (error) {
    console.error(`invoke: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [name, payloadArgument, ...extra] = positionals;
  if (values.help || !name || extra.length > 0) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  let payload: unknown;
  try {
    payload = readPayload(payloadArgument);
  } catch (error) {
    console.error(`invoke: ${(error as Error).message}`);
    return 2;
  }
  const target = resolveTarget(values);
  const stage = values.stage!;
  const started = performance.now();
  let result: InvokeResult;
  try {
    result = await invoke({
      name,
      payload,
      stage,
      region: target.region,
      endpoint: target.kind === 'aws' ? undefined : target.endpoint,
      profile: target.kind === 'aws' ? target.profile : undefined,
      logs: values.logs,
    });
  } catch (error) {
    console.error(`invoke: could not invoke ${functionName(name, stage)} at ${describeTarget(target)}: ${(error as Error).message}`);
    if (target.kind === 'offline') console.error('invoke: is serverless-offline running? (npm start or npm run offline)');
    return 1;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(JSON.stringify(result.payload, null, 2));
  if (result.log) console.error(`\n--- log tail (${result.functionName}) ---\n${result.log.trimEnd()}`);
  if (result.functionError) {
    const message =
      typeof result.payload === 'object' && result.payload !== null && 'errorMessage' in result.payload
        ? String((result.payload as { errorMessage: unknown }).errorMessage)
        : 'see the payload above';
    console.error(`\n${result.functionName} failed (${result.functionError}) after ${seconds} s: ${message}`);
    return 1;
  }
  console.error(`\n${result.functionName} succeeded in ${seconds} s (${describeTarget(target)})`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
