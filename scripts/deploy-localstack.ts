/**
 * npm run deploy:localstack -- [--dry-run] [--package dir] [--stage localstack] [--endpoint http://localhost:4566]
 *                              [--region us-east-1] [--architecture arm64|x86_64]
 *
 * Deploys the packaged stack to LocalStack with the AWS SDK v3, the way `sls deploy` does it against AWS
 * (serverless-localstack 1.4 does not work with osls 4: `provider.getCredentials() is no longer available`):
 *   1. `sls package` (unless --package names a packaged directory), with the secrets pointing at the
 *      compose services as LocalStack's Lambda containers see them (postgres, srh, mongo);
 *   2. CloudFormation CreateStack with osls' create template (the deployment bucket only), when the stack
 *      does not exist yet, and wait;
 *   3. S3 PutObject of every function zip (at the S3 key the template names) and of the template;
 *   4. CloudFormation UpdateStack with the full template (TemplateURL: it is over the 51 KB inline limit), and wait.
 * Needs Docker and a LocalStack auth token: `LOCALSTACK_AUTH_TOKEN=… docker compose --profile localstack up -d`
 * (and `docker compose up -d postgres redis srh mongo` for the stores). `--dry-run` prints every call it
 * would make, with its input, and makes none (no network). Invoke afterwards with
 * `npm run invoke -- <function> --stage localstack --endpoint http://localhost:4566`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/env.js';
import { kb } from './lib/package-report.js';
import { slsPackage } from './lib/sls.js';

export const DEFAULT_ENDPOINT = 'http://localhost:4566';

/** One AWS API call: what the dry run prints and the real run sends. */
export interface Call {
  service: 'CloudFormation' | 'S3';
  operation: string;
  input: Record<string, unknown>;
}

/** A file body, read only when the call is really made. */
export interface FileBody {
  file: string;
  bytes: number;
}

export interface AwsApi {
  // biome-ignore lint/suspicious/noExplicitAny: each operation answers its own shape; callers read what they asked for.
  call(call: Call): Promise<any>;
}

export interface LocalStackOptions {
  packageDir: string;
  endpoint: string;
  region: string;
  /** Lambda architecture in LocalStack (its Lambda containers run on your Docker host's architecture). */
  architecture: 'arm64' | 'x86_64';
  log: (line: string) => void;
  /** Poll interval and limit while a stack operation runs. */
  pollMs?: number;
  timeoutMs?: number;
}

interface Template {
  // biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read property by property.
  Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  Outputs?: Record<string, unknown>;
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

function describe(key: string, value: unknown): string {
  if (typeof value === 'object' && value !== null && 'file' in value && 'bytes' in value) {
    const body = value as FileBody;
    return `<${kb(body.bytes)} from ${relative(ROOT, body.file) || body.file}>`;
  }
  if ((key === 'Body' || key === 'TemplateBody') && typeof value === 'string') return `<${value.length} characters>`;
  return JSON.stringify(value);
}

/** `CloudFormation.CreateStack StackName="…" TemplateBody=<2077 characters> …` */
export function formatCall(call: Call): string {
  const fields = Object.entries(call.input).map(([key, value]) => `${key}=${describe(key, value)}`);
  return `${call.service}.${call.operation} ${fields.join(' ')}`;
}

function templateOf(packageDir: string, name: 'create' | 'update'): { text: string; template: Template } {
  const text = readFileSync(join(packageDir, `cloudformation-template-${name}-stack.json`), 'utf8');
  return { text, template: JSON.parse(text) as Template };
}

/** The stack name osls uses (service-stage), from the packaged state. */
export function stackNameOf(packageDir: string): { stackName: string; stage: string } {
  const state = JSON.parse(readFileSync(join(packageDir, 'serverless-state.json'), 'utf8')) as {
    service: { service: string; provider: { stage: string } };
  };
  return { stackName: `${state.service.service}-${state.service.provider.stage}`, stage: state.service.provider.stage };
}

async function waitForStack(api: AwsApi, stackName: string, options: LocalStackOptions, verb: 'CREATE' | 'UPDATE') {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    const { Stacks } = await api.call({ service: 'CloudFormation', operation: 'DescribeStacks', input: { StackName: stackName } });
    const stack = Stacks?.[0];
    const status: string = stack?.StackStatus ?? 'UNKNOWN';
    if (status === `${verb}_COMPLETE`) return stack;
    if (!status.endsWith('_IN_PROGRESS')) {
      throw new Error(`${stackName}: ${status}${stack?.StackStatusReason ? ` (${stack.StackStatusReason})` : ''}`);
    }
    if (Date.now() > deadline) throw new Error(`${stackName}: still ${status} after ${(options.timeoutMs ?? 600_000) / 1000} s`);
    await new Promise((done) => setTimeout(done, options.pollMs ?? 2_000));
  }
}

function isMissingStack(error: unknown): boolean {
  return /does not exist/i.test((error as Error)?.message ?? '');
}

/** Deploys a packaged directory through `api` (the real SDK, or the dry run's printer). */
export async function deployPackage(api: AwsApi, options: LocalStackOptions): Promise<Record<string, string>> {
  const { stackName, stage } = stackNameOf(options.packageDir);
  const update = templateOf(options.packageDir, 'update');
  const capabilities = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];
  const tags = [{ Key: 'STAGE', Value: stage }];
  options.log(`stack ${stackName} (stage ${stage}) at ${options.endpoint}, region ${options.region}`);

  // 1. The stack, with its deployment bucket, unless it exists.
  let exists = true;
  try {
    await api.call({ service: 'CloudFormation', operation: 'DescribeStacks', input: { StackName: stackName } });
  } catch (error) {
    if (!isMissingStack(error)) throw error;
    exists = false;
  }
  if (!exists) {
    const create = templateOf(options.packageDir, 'create');
    await api.call({
      service: 'CloudFormation',
      operation: 'CreateStack',
      input: { StackName: stackName, TemplateBody: create.text, Capabilities: capabilities, Tags: tags, OnFailure: 'DELETE' },
    });
    await waitForStack(api, stackName, options, 'CREATE');
  }
  const { StackResourceDetail } = await api.call({
    service: 'CloudFormation',
    operation: 'DescribeStackResource',
    input: { StackName: stackName, LogicalResourceId: 'ServerlessDeploymentBucket' },
  });
  const bucket: string = StackResourceDetail.PhysicalResourceId;

  // 2. The artifacts, where the template expects them; the template itself next to them.
  const template = update.template;
  let prefix = '';
  let rewritten = 0;
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const key: string = resource.Properties.Code.S3Key;
    prefix = key.slice(0, key.lastIndexOf('/'));
    const file = join(options.packageDir, key.slice(key.lastIndexOf('/') + 1));
    await api.call({
      service: 'S3',
      operation: 'PutObject',
      input: { Bucket: bucket, Key: key, Body: { file, bytes: statSync(file).size } satisfies FileBody },
    });
    if (resource.Properties.Architectures?.[0] !== options.architecture) {
      resource.Properties.Architectures = [options.architecture];
      rewritten += 1;
    }
  }
  if (rewritten > 0)
    options.log(`template: Architectures → ${options.architecture} for ${rewritten} functions (LocalStack runs them on this Docker host)`);
  const templateText = JSON.stringify(template);
  const templateKey = `${prefix}/compiled-cloudformation-template.json`;
  await api.call({
    service: 'S3',
    operation: 'PutObject',
    input: { Bucket: bucket, Key: templateKey, Body: templateText, ContentType: 'application/json' },
  });

  // 3. The whole stack.
  try {
    await api.call({
      service: 'CloudFormation',
      operation: 'UpdateStack',
      input: { StackName: stackName, TemplateURL: `${options.endpoint}/${bucket}/${templateKey}`, Capabilities: capabilities, Tags: tags },
    });
  } catch (error) {
    if (!/No updates are to be performed/i.test((error as Error).message)) throw error;
    options.log('no changes');
  }
  const stack = await waitForStack(api, stackName, options, 'UPDATE');
  return Object.fromEntries(
    ((stack?.Outputs ?? []) as Array<{ OutputKey: string; OutputValue: string }>).map((o) => [o.OutputKey, o.OutputValue]),
  );
}

/** Prints each call and answers as a fresh LocalStack would: no stack yet, then every operation succeeds. */
export function dryRunApi(log: (line: string) => void): AwsApi & { calls: Call[] } {
  const calls: Call[] = [];
  let described = 0;
  return {
    calls,
    async call(call) {
      calls.push(call);
      log(`[dry-run] ${formatCall(call)}`);
      switch (call.operation) {
        case 'DescribeStacks':
          described += 1;
          if (described === 1)
            throw new Error(`Stack with id ${String(call.input.StackName)} does not exist (dry run: assuming a fresh LocalStack)`);
          return {
            Stacks: [
              {
                StackStatus: described === 2 ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE',
                Outputs: [{ OutputKey: 'HttpApiUrl', OutputValue: '<the HTTP API URL LocalStack assigns>' }],
              },
            ],
          };
        case 'DescribeStackResource':
          return { StackResourceDetail: { PhysicalResourceId: '<deployment-bucket>' } };
        default:
          return {};
      }
    },
  };
}

/** The real thing: AWS SDK v3 clients pointed at LocalStack. */
export async function localStackApi(endpoint: string, region: string): Promise<AwsApi> {
  const cloudformation = await import('@aws-sdk/client-cloudformation');
  const s3 = await import('@aws-sdk/client-s3');
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const cf = new cloudformation.CloudFormationClient({ endpoint, region, credentials });
  const storage = new s3.S3Client({ endpoint, region, credentials, forcePathStyle: true });
  return {
    async call({ service, operation, input }) {
      if (service === 'S3' && operation === 'PutObject') {
        const body = input.Body as FileBody | string;
        return storage.send(
          new s3.PutObjectCommand({
            ...(input as unknown as import('@aws-sdk/client-s3').PutObjectCommandInput),
            Body: typeof body === 'string' ? body : readFileSync(body.file),
          }),
        );
      }
      // biome-ignore lint/suspicious/noExplicitAny: the SDK's command classes, each with its own input type.
      const commands: Record<string, new (input: any) => any> = {
        DescribeStacks: cloudformation.DescribeStacksCommand,
        CreateStack: cloudformation.CreateStackCommand,
        UpdateStack: cloudformation.UpdateStackCommand,
        DescribeStackResource: cloudformation.DescribeStackResourceCommand,
      };
      const Command = commands[operation];
      if (service !== 'CloudFormation' || !Command) throw new Error(`unsupported call ${service}.${operation}`);
      return cf.send(new Command(input));
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      package: { type: 'string' },
      stage: { type: 'string', default: 'localstack' },
      endpoint: { type: 'string', default: process.env.LOCALSTACK_ENDPOINT ?? DEFAULT_ENDPOINT },
      region: { type: 'string', default: 'us-east-1' },
      architecture: { type: 'string', default: process.arch === 'arm64' ? 'arm64' : 'x86_64' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
    return 0;
  }
  if (values.architecture !== 'arm64' && values.architecture !== 'x86_64') {
    console.error('deploy:localstack: --architecture must be arm64 or x86_64');
    return 2;
  }
  const dryRun = values['dry-run']!;
  const log = (line: string) => console.log(line);
  let packageDir = values.package ? resolve(process.env.INIT_CWD ?? process.cwd(), values.package) : join(ROOT, '.serverless-localstack');
  if (values.package) {
    if (!existsSync(join(packageDir, 'cloudformation-template-update-stack.json'))) {
      console.error(`deploy:localstack: ${packageDir} is not a packaged directory (npm run package -- --package <dir>)`);
      return 2;
    }
  } else {
    const env = { ...process.env, ...localStackEnv(process.env) };
    log(
      `${dryRun ? '[dry-run] (local, no network) ' : ''}sls package --stage ${values.stage} --region ${values.region} --package ${relative(ROOT, packageDir)}`,
    );
    log(
      `  secrets for LocalStack's Lambda containers (compose network; override with LOCALSTACK_<NAME>): ${Object.keys(localStackEnv({})).join(', ')}`,
    );
    const run = await slsPackage({ stage: values.stage!, region: values.region!, outDir: packageDir, env, fakeSsm: true });
    if (run.code !== 0) {
      console.error(run.output);
      return 1;
    }
    packageDir = resolve(packageDir);
  }
  const options: LocalStackOptions = {
    packageDir,
    endpoint: values.endpoint!,
    region: values.region!,
    architecture: values.architecture,
    log,
  };
  try {
    const api = dryRun ? dryRunApi(log) : await localStackApi(options.endpoint, options.region);
    const outputs = await deployPackage(api, options);
    for (const [key, value] of Object.entries(outputs)) log(`  ${key}: ${value}`);
    const { stage } = stackNameOf(packageDir);
    log(
      dryRun
        ? `[dry-run] ${(api as ReturnType<typeof dryRunApi>).calls.length} calls, none made`
        : `deployed. Try: npm run invoke -- getLatestBenchmark --stage ${stage} --endpoint ${options.endpoint}`,
    );
    return 0;
  } catch (error) {
    console.error(`deploy:localstack: ${(error as Error).message}`);
    if (!dryRun)
      console.error(
        `deploy:localstack: is LocalStack running at ${options.endpoint}? (LOCALSTACK_AUTH_TOKEN=… docker compose --profile localstack up -d)`,
      );
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
