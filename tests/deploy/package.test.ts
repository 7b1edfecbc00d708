import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployPackage } from '../../scripts/deploy-localstack.js';
import { ROOT } from '../../scripts/lib/env.js';
import {
  BUDGET_BYTES,
  BUDGET_EXCEPTIONS,
  formatPackageReport,
  MONGO_FUNCTIONS,
  type PackageReport,
  packageReport,
} from '../../scripts/lib/package-report.js';
import { placeholderFor, type SlsRun, slsPackage } from '../../scripts/lib/sls.js';
import { preflight, SECRETS, ssmParameterName } from '../../scripts/lib/stages.js';
import { PER_FUNCTION_SECRETS } from '../../shared/config.js';
import corsPolicy from '../../shared/http/cors-policy.json' with { type: 'json' };
import { runScript } from '../benchmarks/helpers.js';
import { cleanEnv, type Resource, secretsReadBy, type Template } from './helpers.js';

/**
 * `sls package --stage dev` once, offline, into a temporary directory, with a bare environment (no
 * DATABASE_URL …) so every secret goes through the SSM reference, answered by a local stand-in. Then the
 * CloudFormation template and the zips are checked against serverless.yml as osls resolved it.
 */
let dir: string;
let run: SlsRun;
let template: Template;
let functions: Record<string, { name: string; handler: string; events: Array<Record<string, any>> }>;
let report: PackageReport;
/** A shop on two origins: the one setting that is not a secret and not left at its default here. */
const SHOP_ORIGINS = 'https://shop.example.com, https://admin.shop.example.com';

const resources = (type: string): Array<[string, Resource]> =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

function lambdaOf(name: string): Resource {
  const found = resources('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === `ecommerce-pipeline-dev-${name}`);
  if (!found) throw new Error(`no AWS::Lambda::Function for ${name}`);
  return found[1];
}

function logicalIdOf(name: string): string {
  return resources('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === `ecommerce-pipeline-dev-${name}`)![0];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecommerce-package-'));
  // A local .env (or the test environment) must not matter: osls reads no .env, and we pass a bare env.
  run = await slsPackage({ stage: 'dev', outDir: dir, env: cleanEnv({ CORS_ALLOWED_ORIGINS: SHOP_ORIGINS }), fakeSsm: true });
  if (run.code !== 0) throw new Error(`sls package failed:\n${run.output}`);
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  functions = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')).service.functions;
  report = await packageReport(dir);
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sls package --stage dev (offline, CloudFormation template)', () => {
  it('has one Lambda function per function in serverless.yml, on nodejs24.x and arm64', () => {
    const names = Object.keys(functions).sort();
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(resources('AWS::Lambda::Function')).toHaveLength(names.length);
    for (const name of names) {
      const fn = lambdaOf(name);
      expect(fn.Properties.Runtime, name).toBe('nodejs24.x');
      expect(fn.Properties.Architectures, name).toEqual(['arm64']);
      expect(fn.Properties.Handler, name).toBe(functions[name]!.handler);
      expect(fn.Properties.Handler, name).toMatch(/^functions\/\w+\.handler$/);
    }
  });

  it('gives HTTP functions a timeout under the HTTP API’s 30 s, background ones more, runBenchmarks the most', () => {
    const timeouts = Object.fromEntries(Object.keys(functions).map((name) => [name, lambdaOf(name).Properties.Timeout as number]));
    const memory = Object.fromEntries(Object.keys(functions).map((name) => [name, lambdaOf(name).Properties.MemorySize as number]));
    for (const [name, fn] of Object.entries(functions)) {
      expect(memory[name], name).toBeGreaterThanOrEqual(512);
      expect(memory[name], name).toBeLessThanOrEqual(1769); // one full vCPU; more is waste for I/O-bound code
      if (fn.events.some((event) => event.httpApi)) {
        expect(timeouts[name], name).toBeGreaterThanOrEqual(5);
        expect(timeouts[name], name).toBeLessThan(30);
      }
    }
    expect(timeouts.runBenchmarks).toBe(900);
    expect(Math.max(...Object.values(timeouts))).toBe(timeouts.runBenchmarks);
    expect(memory.runBenchmarks).toBeGreaterThan(memory.createOrder!);
    expect(timeouts.reconcileTopProducts).toBeGreaterThan(timeouts.createOrder!);
    expect(timeouts.reconcileTopProducts).toBeLessThanOrEqual(300);
  });

  it('routes every httpApi event of serverless.yml to its function, and nothing else', () => {
    const expected = Object.entries(functions).flatMap(([name, fn]) =>
      fn.events
        .filter((event) => event.httpApi)
        // The catch-all ('*') is API Gateway's $default route: whatever no other route matches.
        .map((event) => ({
          name,
          routeKey: event.httpApi === '*' ? '$default' : `${event.httpApi.method.toUpperCase()} ${event.httpApi.path}`,
        })),
    );
    expect(expected.filter((route) => route.routeKey === '$default')).toEqual([{ name: 'notFound', routeKey: '$default' }]);
    expect(expected.length).toBeGreaterThanOrEqual(8);
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(expected.map((route) => route.routeKey).sort());
    for (const { name, routeKey } of expected) {
      const route = routes.find((r) => r.RouteKey === routeKey)!;
      const integrationId = route.Target['Fn::Join'][1][1].Ref as string;
      const integration = template.Resources[integrationId]!.Properties;
      expect(integration.IntegrationUri, routeKey).toEqual({ 'Fn::GetAtt': [logicalIdOf(name), 'Arn'] });
      expect(integration.PayloadFormatVersion).toBe('2.0');
    }
  });

  it('has no development sign-in: devSignIn and /dev/* exist only under serverless-offline', () => {
    expect(Object.keys(functions)).not.toContain('devSignIn');
    const keys = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.filter((key) => key.includes(' /dev/'))).toEqual([]);
    expect(JSON.stringify(template)).not.toMatch(/devSignIn|\/dev\/tokens|\/dev\/customers/);
  });

  it('answers CORS preflights at API Gateway with the allow-list and headers the functions use', () => {
    // No route answers OPTIONS: without a CorsConfiguration, a browser's preflight would get a 404.
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(routes.filter((key) => key.startsWith('OPTIONS'))).toEqual([]);
    const cors = resources('AWS::ApiGatewayV2::Api')[0]![1].Properties.CorsConfiguration;
    expect(cors).toEqual({
      AllowOrigins: ['https://shop.example.com', 'https://admin.shop.example.com'],
      AllowHeaders: corsPolicy.allowedHeaders,
      AllowMethods: corsPolicy.allowedMethods,
      ExposeHeaders: corsPolicy.exposedResponseHeaders,
      MaxAge: corsPolicy.maxAge,
      // AllowCredentials absent = false: bearer tokens need no cookies.
    });
    // Every method a route uses is allowed (a new PATCH route would fail its preflight otherwise).
    const methods = new Set(routes.filter((key) => key !== '$default').map((key) => key.split(' ')[0]));
    for (const method of methods) expect(corsPolicy.allowedMethods, method).toContain(method);
    // The functions get the same list (they answer the actual requests' CORS headers locally).
    expect(lambdaOf('createOrder').Properties.Environment.Variables.CORS_ALLOWED_ORIGINS).toBe(SHOP_ORIGINS);
  });

  it('schedules reconcileTopProducts, purgeExpired and runBenchmarks with EventBridge rules (runBenchmarks with its input)', () => {
    const rules = resources('AWS::Events::Rule').map(([, r]) => r.Properties);
    const scheduled = Object.entries(functions).flatMap(([name, fn]) =>
      fn.events.filter((e) => e.schedule).map((e) => ({ name, schedule: e.schedule })),
    );
    expect(scheduled.map((s) => s.name).sort()).toEqual(['purgeExpired', 'reconcileTopProducts', 'runBenchmarks']);
    expect(rules).toHaveLength(scheduled.length);
    for (const { name, schedule } of scheduled) {
      const rule = rules.find((r) => r.Targets[0].Arn['Fn::GetAtt'][0] === logicalIdOf(name))!;
      expect(rule, name).toBeDefined();
      expect(rule.ScheduleExpression).toBe([schedule.rate].flat()[0]);
      expect(rule.State).toBe('ENABLED');
    }
    const benchmarks = rules.find((r) => r.Targets[0].Arn['Fn::GetAtt'][0] === logicalIdOf('runBenchmarks'))!;
    expect(benchmarks.ScheduleExpression).toBe('rate(1 day)');
    expect(JSON.parse(benchmarks.Targets[0].Input)).toEqual({ scale: 'small', trigger: 'schedule' });
    expect(rules.find((r) => r.Targets[0].Arn['Fn::GetAtt'][0] === logicalIdOf('reconcileTopProducts'))!.ScheduleExpression).toBe(
      'rate(1 minute)',
    );
    expect(rules.find((r) => r.Targets[0].Arn['Fn::GetAtt'][0] === logicalIdOf('purgeExpired'))!.ScheduleExpression).toBe('rate(1 hour)');
    // EventBridge may invoke exactly the scheduled functions.
    const eventPermissions = resources('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com');
    expect(eventPermissions).toHaveLength(scheduled.length);
  });

  it('creates every function’s log group with the stage’s retention (14 days in dev)', () => {
    const groups = resources('AWS::Logs::LogGroup').map(([, r]) => r.Properties);
    for (const name of Object.keys(functions)) {
      const group = groups.find((g) => g.LogGroupName === `/aws/lambda/ecommerce-pipeline-dev-${name}`);
      expect(group, name).toBeDefined();
      expect(group!.RetentionInDays, name).toBe(14);
    }
    expect(groups).toHaveLength(Object.keys(functions).length);
  });

  it('gives each function only the secrets it reads: the connections of the stores it talks to, the cursor key if it signs', () => {
    const secretNames = SECRETS.map((s) => s.variable as string);
    for (const name of Object.keys(functions)) {
      const env = lambdaOf(name).Properties.Environment.Variables as Record<string, string>;
      const given = Object.keys(env).filter((variable) => secretNames.includes(variable));
      expect(given.sort(), name).toEqual(secretsReadBy(functions[name]!.handler));
    }
    // serverless.yml's secrets are the configuration's per-function ones, and the deploy's SSM parameters.
    expect([...secretNames].sort()).toEqual([...PER_FUNCTION_SECRETS].sort());
    // The static pages read none, the health check every store's.
    expect(secretsReadBy(functions.getConsole!.handler)).toEqual([]);
    expect(secretsReadBy(functions.getHealth!.handler)).toEqual([
      'DATABASE_URL',
      'MONGODB_URI',
      'UPSTASH_REDIS_REST_TOKEN',
      'UPSTASH_REDIS_REST_URL',
    ]);
  });

  it('takes the environment from the stage config: secrets from SSM /ecommerce-pipeline/dev/*, no local .env value', () => {
    expect([...run.ssmRequested].sort()).toEqual(SECRETS.map((s) => ssmParameterName('dev', s.parameter)).sort());
    for (const name of Object.keys(functions)) {
      const env = lambdaOf(name).Properties.Environment.Variables as Record<string, string>;
      // Each secret the function is given (only those it reads: the test above).
      for (const { variable, parameter } of SECRETS) {
        if (variable in env) expect(env[variable], `${name} ${variable}`).toBe(placeholderFor(ssmParameterName('dev', parameter)));
      }
      expect(env, name).toMatchObject({
        STAGE: 'dev',
        SERVICE_NAME: 'ecommerce-pipeline',
        DATABASE_POOL_MAX: '2',
        DATABASE_PREPARE: 'true',
        CACHE_NAMESPACE: 'ecommerce-pipeline:dev',
        MONGODB_DATABASE: 'shop',
        LOG_LEVEL: 'INFO',
        AUTH_JWT_SECRET: '',
      });
    }
    const text = JSON.stringify(template);
    expect(text).not.toContain('local-development-secret');
    expect(text).not.toContain('127.0.0.1');
    // The rehearsal's placeholders are exactly what `npm run deploy` refuses to ship.
    expect(preflight(template).problems.join('\n')).toMatch(/DATABASE_URL is a rehearsal placeholder/);
  });

  it('grants the functions their own logs, tracing and the dead-letter queue, nothing else (least privilege, no wildcard action)', () => {
    const roles = resources('AWS::IAM::Role');
    expect(roles.map(([id]) => id)).toEqual(['LambdaExecutionRole']);
    expect(resources('AWS::IAM::Policy')).toEqual([]);
    expect(resources('AWS::IAM::ManagedPolicy')).toEqual([]);
    const role = roles[0]![1].Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
    const statements = role.Policies.flatMap((policy: any) => policy.PolicyDocument.Statement);
    const actions = statements.flatMap((statement: any) => [statement.Action].flat());
    expect(actions.sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      const actions = [statement.Action].flat() as string[];
      for (const resource of [statement.Resource].flat()) {
        if (actions[0]!.startsWith('xray:')) {
          // X-Ray has no resource-level permissions: "*" is the only resource these actions take.
          expect(resource).toBe('*');
        } else if (actions[0]!.startsWith('sqs:')) {
          expect(resource).toEqual({ 'Fn::GetAtt': ['ScheduledFailuresQueue', 'Arn'] });
        } else {
          const arn = resource['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : '{ref}')).join('');
          expect(arn).toBe('arn:{ref}:logs:{ref}:{ref}:log-group:/aws/lambda/ecommerce-pipeline-dev-*:*');
        }
      }
    }
    for (const name of Object.keys(functions)) {
      expect(lambdaOf(name).Properties.Role, name).toEqual({ 'Fn::GetAtt': ['LambdaExecutionRole', 'Arn'] });
    }
  });
});

describe('sls package --stage dev (zips)', () => {
  it('zips each function as its one minified .mjs bundle: no source map, no node_modules', () => {
    expect(report.functions.map((fn) => fn.name).sort()).toEqual(Object.keys(functions).sort());
    for (const fn of report.functions) {
      expect(fn.files, fn.name).toEqual([`functions/${fn.name}.mjs`]);
      expect(lambdaOf(fn.name).Properties.Code.S3Key, fn.name).toMatch(new RegExp(`/${fn.name}\\.zip$`));
    }
  });

  it(`keeps every zip within ${BUDGET_BYTES / 1024} KB, except the documented MongoDB functions within their ceilings`, () => {
    const table = formatPackageReport(report);
    console.log(table);
    for (const fn of report.functions) {
      const exception = BUDGET_EXCEPTIONS[fn.name];
      expect(fn.zippedBytes, `${fn.name}: ${fn.zippedBytes} bytes`).toBeLessThanOrEqual(exception?.ceilingBytes ?? BUDGET_BYTES);
      expect(table).toContain(fn.name);
    }
    // The exceptions are the functions that talk to MongoDB (the health check and the purge included) and the API reference's files.
    expect(Object.keys(BUDGET_EXCEPTIONS).sort()).toEqual([
      'checkoutCart',
      'deleteCart',
      'getApiDocsAsset',
      'getCart',
      'getHealth',
      'purgeExpired',
      'saveCart',
    ]);
    expect(report.ok).toBe(true);
  });

  it('imports zod as a namespace everywhere it is bundled (`{ z }` drags ~360 KB of locales into a bundle)', () => {
    const offenders = ['functions', 'shared']
      .flatMap((folder) => readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }).map((file) => join(folder, file)))
      .filter((file) => file.endsWith('.ts') && /^import \{ z \} from 'zod'/m.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('keeps the AWS SDK out of the bundles, and the MongoDB driver out of the functions that do not use it', async () => {
    for (const fn of report.functions) {
      const bundle = await (await JSZip.loadAsync(readFileSync(fn.zipPath))).file(`functions/${fn.name}.mjs`)!.async('nodebuffer');
      expect(bundle.length, fn.name).toBe(fn.rawBytes);
      const code = bundle.toString();
      expect(code, fn.name).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code, fn.name).not.toMatch(/^\/\/# sourceMappingURL=/m); // no map of ours (a string that mentions one is not a map)
      const hasMongo = code.includes('BSONError'); // the bson package, part of the MongoDB driver
      expect(hasMongo, fn.name).toBe(MONGO_FUNCTIONS.has(fn.name));
    }
  });
});

describe('npm run deploy:localstack -- --dry-run (on the same package)', () => {
  it('prints every call it would make, in order, and makes none', async () => {
    // Nothing listens on port 1: a call that really went out would fail the run.
    const { code, stdout, stderr } = await runScript('scripts/deploy-localstack.ts', [
      '--dry-run',
      '--package',
      dir,
      '--endpoint',
      'http://127.0.0.1:1',
      '--architecture',
      'x86_64',
    ]);
    expect(code, stderr).toBe(0);
    const calls = stdout.split('\n').filter((line) => line.startsWith('[dry-run] ') && !line.includes(' calls, none made'));
    const operations = calls.map((line) => line.split(' ')[1]);
    const zips = report.functions.length;
    expect(operations).toEqual([
      'CloudFormation.DescribeStacks',
      'CloudFormation.CreateStack',
      'CloudFormation.DescribeStacks',
      'CloudFormation.DescribeStackResource',
      ...Array(zips + 1).fill('S3.PutObject'),
      'CloudFormation.UpdateStack',
      'CloudFormation.DescribeStacks',
    ]);
    expect(stdout).toContain(`[dry-run] ${operations.length} calls, none made`);
    expect(calls[1]).toMatch(
      /StackName="ecommerce-pipeline-dev" TemplateBody=<\d+ characters> Capabilities=\["CAPABILITY_IAM","CAPABILITY_NAMED_IAM","CAPABILITY_AUTO_EXPAND"\]/,
    );
    for (const fn of report.functions) {
      expect(stdout).toMatch(
        new RegExp(
          `S3\\.PutObject Bucket="<deployment-bucket>" Key="serverless/ecommerce-pipeline/dev/[^"]+/${fn.name}\\.zip" Body=<[\\d.]+ KB from `,
        ),
      );
    }
    expect(stdout).toMatch(
      /CloudFormation\.UpdateStack StackName="ecommerce-pipeline-dev" TemplateURL="http:\/\/127\.0\.0\.1:1\/<deployment-bucket>\/serverless\/ecommerce-pipeline\/dev\/[^"]+\/compiled-cloudformation-template\.json"/,
    );
  });

  it('updates an existing stack without creating it, and accepts "no updates"', async () => {
    const seen: string[] = [];
    const client = {
      async send(command: object): Promise<any> {
        const operation = command.constructor.name.replace(/Command$/, '');
        seen.push(operation);
        if (operation === 'DescribeStacks')
          return { Stacks: [{ StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'HttpApiUrl', OutputValue: 'http://api' }] }] };
        if (operation === 'DescribeStackResource') return { StackResourceDetail: { PhysicalResourceId: 'bucket-1' } };
        if (operation === 'UpdateStack') throw new Error('No updates are to be performed.');
        return {};
      },
    };
    const outputs = await deployPackage(
      { cloudFormation: client, s3: client },
      { packageDir: dir, endpoint: 'http://localstack:4566', region: 'us-east-1', architecture: 'arm64', log: () => {} },
    );
    expect(outputs).toEqual({ HttpApiUrl: 'http://api' });
    expect(seen).not.toContain('CreateStack');
    expect(seen.filter((op) => op === 'PutObject')).toHaveLength(report.functions.length + 1);
  });
});

describe('npm run package -- --package <folder>', () => {
  it('refuses a folder that holds anything but an earlier package (it would be emptied first), and the checkout itself', async () => {
    const mine = mkdtempSync(join(tmpdir(), 'not-a-package-'));
    try {
      writeFileSync(join(mine, 'notes.txt'), 'keep me');
      for (const target of [mine, '.', '..']) {
        const run = await runScript('scripts/package.ts', ['--package', target]);
        expect(run.code, `${target}: ${run.stdout}${run.stderr}`).toBe(1);
        expect(run.stderr).toMatch(/not a package folder|the checkout/);
      }
      expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
      expect(readdirSync(ROOT)).toContain('package.json');
    } finally {
      rmSync(mine, { recursive: true, force: true });
    }
  });

  it('reads a relative folder from where `npm run` was typed (INIT_CWD), as the other scripts do', async () => {
    // `.` typed in a folder of notes is that folder, refused for its notes; taken from the project root it
    // would be the checkout.
    const mine = mkdtempSync(join(tmpdir(), 'typed-here-'));
    try {
      writeFileSync(join(mine, 'notes.txt'), 'keep me');
      const run = await runScript('scripts/package.ts', ['--package', '.'], { INIT_CWD: mine });
      expect(run.code, `${run.stdout}${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`${mine} is not a package folder`);
    } finally {
      rmSync(mine, { recursive: true, force: true });
    }
  });
});
