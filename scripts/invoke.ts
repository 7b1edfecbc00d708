/**
 * npm run invoke calls a function through the Lambda API: serverless-offline's (http://127.0.0.1:3002, the port
 * OFFLINE_LAMBDA_PORT of the environment or .env, as npm start uses it, or $LAMBDA_ENDPOINT)
 * by default, real AWS with --region, --profile or --aws (the SDK's credential chain; --logs prints the last
 * 4 KB of the function's log), any other Lambda API with --endpoint (LocalStack). A short name is resolved to
 * ecommerce-pipeline-<stage>-<name>; `@file.json` is read relative to where npm was run. Prints the payload;
 * exits 1 when the function failed, 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { exit, localEnv, parseCommandLine } from './lib/env.js';
import { SERVICE } from './lib/stages.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3002';

const USAGE =
  'usage: npm run invoke -- <function> [json | @file.json] [--stage dev] [--region r] [--profile p] [--endpoint URL | --aws] [--logs]';

export function functionName(name: string, stage: string): string {
  return name.startsWith(`${SERVICE}-`) ? name : `${SERVICE}-${stage}-${name}`;
}

/**
 * The payload argument: inline JSON, `@path` to a JSON file (relative to `baseDir`: npm runs scripts from
 * the project root, and says where it was called from in INIT_CWD), or nothing (`{}`).
 */
export function readPayload(argument: string | undefined, baseDir = process.env.INIT_CWD ?? process.cwd()): unknown {
  if (!argument) return {};
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

/** --endpoint wins; then --region / --profile / --aws mean real AWS; otherwise serverless-offline (npm start's Lambda port). */
export function resolveTarget(
  options: { endpoint?: string | undefined; region?: string | undefined; profile?: string | undefined; aws?: boolean | undefined },
  env: Record<string, string | undefined> = process.env,
): Target {
  if (options.endpoint) return { kind: 'endpoint', endpoint: options.endpoint, region: options.region ?? 'us-east-1' };
  if (options.aws || options.region || options.profile)
    return { kind: 'aws', region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'eu-west-1', profile: options.profile };
  const offline = env.OFFLINE_LAMBDA_PORT ? `http://127.0.0.1:${env.OFFLINE_LAMBDA_PORT}` : DEFAULT_ENDPOINT;
  return { kind: 'offline', endpoint: env.LAMBDA_ENDPOINT ?? offline, region: 'us-east-1' };
}

export function describeTarget(target: Target): string {
  if (target.kind === 'aws') return `AWS ${target.region}${target.profile ? ` (profile ${target.profile})` : ''}`;
  return target.kind === 'offline' ? `serverless-offline ${target.endpoint}` : target.endpoint;
}

export interface InvokeResult {
  functionError: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: whatever the function returned, parsed from JSON when it is JSON.
  payload: any;
  /** The log tail, when asked for (AWS only) and returned. */
  log: string | undefined;
}

/** One synchronous invocation of a (full) function name. */
export async function invoke(target: Target, name: string, payload: unknown, logs = false): Promise<InvokeResult> {
  const client = new LambdaClient({
    region: target.region,
    ...(target.kind !== 'aws'
      ? { endpoint: target.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : target.profile && { profile: target.profile }),
    // A large benchmark runs for minutes: no retry, no client-side timeout beyond the function's own.
    maxAttempts: 1,
  });
  try {
    const result = await client.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)), ...(logs && { LogType: 'Tail' as const }) }),
    );
    const text = Buffer.from(result.Payload ?? []).toString();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: shown as it came
    }
    const { errorType, errorMessage } = (parsed ?? {}) as { errorType?: unknown; errorMessage?: unknown };
    return {
      // serverless-offline answers an unhandled error without FunctionError; AWS sets it. Both count.
      functionError: result.FunctionError ?? (errorType && errorMessage ? String(errorType) : undefined),
      payload: parsed,
      log: result.LogResult && Buffer.from(result.LogResult, 'base64').toString(),
    };
  } finally {
    client.destroy();
  }
}

if (import.meta.main) {
  const { positionals, values } = parseCommandLine(USAGE, {
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
  const [name, payloadArgument, ...extra] = positionals;
  if (!name || extra.length > 0) exit(2, USAGE);
  let payload: unknown;
  try {
    payload = readPayload(payloadArgument);
  } catch (error) {
    exit(2, `invoke: ${(error as Error).message}`);
  }
  const target = resolveTarget(values, localEnv());
  const fn = functionName(name!, values.stage);
  const started = performance.now();
  const result = await invoke(target, fn, payload, values.logs).catch((error: Error) =>
    exit(
      1,
      `invoke: could not invoke ${fn} at ${describeTarget(target)}: ${error.message}` +
        (target.kind === 'offline' ? '\ninvoke: is serverless-offline running? (npm start or npm run offline)' : ''),
    ),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(JSON.stringify(result.payload, null, 2));
  if (result.log) console.error(`\n--- log tail (${fn}) ---\n${result.log.trimEnd()}`);
  // An exit code, not process.exit: the payload printed above must reach a pipe in full.
  process.exitCode = result.functionError ? 1 : 0;
  console.error(
    result.functionError
      ? `\n${fn} failed (${result.functionError}) after ${seconds} s: ${result.payload?.errorMessage ?? 'see the payload above'}`
      : `\n${fn} succeeded in ${seconds} s (${describeTarget(target)})`,
  );
}
