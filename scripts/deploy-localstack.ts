/**
 * npm run deploy:localstack deploys the packaged stack to LocalStack with the AWS SDK, the way `sls deploy` does it against AWS
 * (serverless-localstack does not work with osls 4): `sls package` unless --package names a packaged
 * directory (secrets pointing at the compose services as LocalStack's Lambda containers see them); the
 * stack with its deployment bucket unless it exists; every zip and the template into that bucket; then
 * the whole stack (TemplateURL: it is over the 51 KB inline limit). Needs Docker and a LocalStack auth
 * token: `LOCALSTACK_AUTH_TOKEN=… docker compose --profile localstack up -d`, plus the stores
 * (`docker compose up -d postgres redis srh mongo`). `--dry-run` prints every call with its input and makes none.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import {
  type Capability,
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { exit, parseCommandLine, pathFromCommandLine, ROOT } from './lib/env.js';
import { kb } from './lib/package-report.js';
import { slsPackage } from './lib/sls.js';

const USAGE = `usage: npm run deploy:localstack -- [--dry-run] [--package dir] [--stage localstack] [--endpoint http://localhost:4566]
                                    [--region us-east-1] [--architecture arm64|x86_64]`;

export interface LocalStackOptions {
  packageDir: string;
  endpoint: string;
  region: string;
  /** Lambda architecture in LocalStack (its Lambda containers run on your Docker host's architecture). */
  architecture: string;
  log: (line: string) => void;
}

/** The two SDK clients, or stand-ins with the same `send` (the dry run's printer, a test's fake). */
export interface Clients {
  cloudFormation: Pick<CloudFormationClient, 'send'>;
  s3: Pick<S3Client, 'send'>;
}

/** Where LocalStack's Lambda containers find the compose services (LAMBDA_DOCKER_NETWORK in docker-compose.yml). */
export function localStackEnv(env: Record<string, string | undefined>): Record<string, string> {
  const pick = (name: string, fallback: string) => env[`LOCALSTACK_${name}`] ?? fallback;
  return {
    DATABASE_URL: pick('DATABASE_URL', 'postgres://postgres@postgres:5432/shop'),
    UPSTASH_REDIS_REST_URL: pick('UPSTASH_REDIS_REST_URL', 'http://srh:80'),
    UPSTASH_REDIS_REST_TOKEN: pick('UPSTASH_REDIS_REST_TOKEN', 'local-dev-token-not-a-secret'),
    MONGODB_URI: pick('MONGODB_URI', 'mongodb://mongo:27017'),
    AUTH_JWT_SECRET: pick('AUTH_JWT_SECRET', 'local-development-secret-change-me-0123456789'),
  };
}

/** Deploys a packaged directory; the stack's outputs. */
export async function deployPackage(clients: Clients, options: LocalStackOptions): Promise<Record<string, string>> {
  const { cloudFormation, s3 } = clients;
  const state = JSON.parse(readFileSync(join(options.packageDir, 'serverless-state.json'), 'utf8'));
  const stage: string = state.service.provider.stage;
  const StackName = `${state.service.service}-${stage}`;
  const template = (name: string) => readFileSync(join(options.packageDir, `cloudformation-template-${name}-stack.json`), 'utf8');
  const stack = {
    Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as Capability[],
    Tags: [{ Key: 'STAGE', Value: stage }],
  };
  // Polls as often as LocalStack can answer, not every 30 s as against AWS.
  const waiter = { client: cloudFormation as CloudFormationClient, minDelay: 1, maxDelay: 5, maxWaitTime: 600 };
  options.log(`stack ${StackName} (stage ${stage}) at ${options.endpoint}, region ${options.region}`);

  const exists = await cloudFormation.send(new DescribeStacksCommand({ StackName })).then(
    () => true,
    (error: Error) => (/does not exist/i.test(error.message) ? false : Promise.reject(error)),
  );
  if (!exists) {
    await cloudFormation.send(new CreateStackCommand({ StackName, TemplateBody: template('create'), ...stack, OnFailure: 'DELETE' }));
    await waitUntilStackCreateComplete(waiter, { StackName });
  }
  const { StackResourceDetail } = await cloudFormation.send(
    new DescribeStackResourceCommand({ StackName, LogicalResourceId: 'ServerlessDeploymentBucket' }),
  );
  const Bucket = StackResourceDetail!.PhysicalResourceId!;

  // The artifacts where the template expects them, and the template next to them.
  const update = JSON.parse(template('update'));
  let prefix = '';
  type Resource = { Type: string; Properties: { Code: { S3Key: string }; Architectures?: string[] } };
  const functions = Object.values(update.Resources as Record<string, Resource>).filter(
    (resource) => resource.Type === 'AWS::Lambda::Function',
  );
  for (const { Properties } of functions) {
    const key: string = Properties.Code.S3Key;
    prefix = key.slice(0, key.lastIndexOf('/'));
    await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: readFileSync(join(options.packageDir, basename(key))) }));
    Properties.Architectures = [options.architecture];
  }
  options.log(`template: Architectures → ${options.architecture} (LocalStack runs the functions on this Docker host)`);
  const Key = `${prefix}/compiled-cloudformation-template.json`;
  await s3.send(new PutObjectCommand({ Bucket, Key, Body: JSON.stringify(update), ContentType: 'application/json' }));

  const TemplateURL = `${options.endpoint}/${Bucket}/${Key}`;
  await cloudFormation.send(new UpdateStackCommand({ StackName, TemplateURL, ...stack })).catch((error: Error) => {
    if (!/No updates are to be performed/i.test(error.message)) throw error;
    options.log('no changes');
  });
  const { reason } = await waitUntilStackUpdateComplete(waiter, { StackName });
  return Object.fromEntries(
    (reason?.Stacks?.[0]?.Outputs ?? []).map((o: { OutputKey: string; OutputValue: string }) => [o.OutputKey, o.OutputValue]),
  );
}

/** `CloudFormation.CreateStack StackName="…" TemplateBody=<2077 characters> …`: bodies by size, the rest as JSON. */
function describeInput(input: Record<string, unknown>): string {
  const describe = (key: string, value: unknown) => {
    if (value instanceof Uint8Array) return `<${kb(value.length)} from ${basename(String(input.Key))}>`;
    return typeof value === 'string' && key.endsWith('Body') ? `<${value.length} characters>` : JSON.stringify(value);
  };
  return Object.entries(input)
    .map(([key, value]) => `${key}=${describe(key, value)}`)
    .join(' ');
}

/** Clients that print each call and answer as a fresh LocalStack would: no stack yet, then every call succeeds. */
function dryRunClients(log: (line: string) => void): Clients & { calls: () => number } {
  let calls = 0;
  let described = 0;
  const client = (service: string) => ({
    // biome-ignore lint/suspicious/noExplicitAny: each command answers its own shape; the caller reads what it asked for.
    async send(command: { input: any }): Promise<any> {
      const operation = command.constructor.name.replace(/Command$/, '');
      calls += 1;
      log(`[dry-run] ${service}.${operation} ${describeInput(command.input)}`);
      if (operation === 'DescribeStackResource') return { StackResourceDetail: { PhysicalResourceId: '<deployment-bucket>' } };
      if (operation !== 'DescribeStacks') return {};
      described += 1;
      if (described === 1)
        throw new Error(`Stack with id ${command.input.StackName} does not exist (dry run: assuming a fresh LocalStack)`);
      const Outputs = [{ OutputKey: 'HttpApiUrl', OutputValue: '<the HTTP API URL LocalStack assigns>' }];
      return { Stacks: [{ StackStatus: described === 2 ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE', Outputs }] };
    },
  });
  return { cloudFormation: client('CloudFormation'), s3: client('S3'), calls: () => calls };
}

if (import.meta.main) {
  const { values } = parseCommandLine(USAGE, {
    options: {
      'dry-run': { type: 'boolean', default: false },
      package: { type: 'string' },
      stage: { type: 'string', default: 'localstack' },
      endpoint: { type: 'string', default: process.env.LOCALSTACK_ENDPOINT ?? 'http://localhost:4566' },
      region: { type: 'string', default: 'us-east-1' },
      architecture: { type: 'string', default: process.arch === 'arm64' ? 'arm64' : 'x86_64' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const { endpoint, region, stage, architecture } = values;
  const dryRun = values['dry-run'];
  const log = (line: string) => console.log(line);
  if (architecture !== 'arm64' && architecture !== 'x86_64') exit(2, 'deploy:localstack: --architecture must be arm64 or x86_64');
  const packageDir = values.package ? pathFromCommandLine(values.package) : join(ROOT, '.serverless-localstack');
  if (values.package && !existsSync(join(packageDir, 'cloudformation-template-update-stack.json')))
    exit(2, `deploy:localstack: ${packageDir} is not a packaged directory (npm run package -- --package <dir>)`);
  if (!values.package) {
    log(
      `${dryRun ? '[dry-run] (local, no network) ' : ''}sls package --stage ${stage} --region ${region} --package ${relative(ROOT, packageDir)}`,
    );
    log(
      `  secrets for LocalStack's Lambda containers (compose network; override with LOCALSTACK_<NAME>): ${Object.keys(localStackEnv({})).join(', ')}`,
    );
    const run = await slsPackage({
      stage,
      region,
      outDir: packageDir,
      env: { ...process.env, ...localStackEnv(process.env) },
      fakeSsm: true,
    });
    if (run.code !== 0) exit(1, run.output);
  }
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const clients = dryRun
    ? dryRunClients(log)
    : {
        cloudFormation: new CloudFormationClient({ endpoint, region, credentials }),
        s3: new S3Client({ endpoint, region, credentials, forcePathStyle: true }),
      };
  try {
    const outputs = await deployPackage(clients, { packageDir, endpoint, region, architecture, log });
    for (const [key, value] of Object.entries(outputs)) log(`  ${key}: ${value}`);
    log(
      'calls' in clients
        ? `[dry-run] ${clients.calls()} calls, none made`
        : `deployed. Try: npm run invoke -- getHealth --stage ${stage} --endpoint ${endpoint}`,
    );
  } catch (error) {
    const hint = dryRun
      ? ''
      : `\ndeploy:localstack: is LocalStack running at ${endpoint}? (LOCALSTACK_AUTH_TOKEN=… docker compose --profile localstack up -d)`;
    exit(1, `deploy:localstack: ${(error as Error).message}${hint}`);
  }
}
