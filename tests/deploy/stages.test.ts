import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placeholderFor, runSls } from '../../scripts/lib/sls.js';
import { preflight, SECRETS, secretSources, ssmParameterName } from '../../scripts/lib/stages.js';
import { CONFIG_VARIABLES } from '../../shared/config.js';
import { runScript } from '../benchmarks/helpers.js';
import { cleanEnv } from './helpers.js';

/** `sls print` (serverless.yml with params and variables resolved) for a stage, SSM answered locally. */
async function print(stage: string, env: Record<string, string>): Promise<{ config: any; ssmRequested: string[] }> {
  const { code, output, ssmRequested } = await runSls(['print', '--format', 'json', '--stage', stage], {
    env: cleanEnv(env),
    timeoutMs: 60_000,
    fakeSsm: 'dummy credentials',
  });
  expect(code, output).toBe(0);
  return { config: JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)), ssmRequested };
}

/** What a developer's shell (or .env) could hold: none of it may reach prod's non-secret settings. */
const LOCAL_VALUES = {
  DATABASE_PREPARE: 'true',
  DATABASE_POOL_MAX: '9',
  LOG_LEVEL: 'DEBUG',
  AUTH_JWT_SECRET: 'local-development-secret-change-me-0123456789',
  AUTH_ISSUER: 'ecommerce-pipeline-local',
  CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
  CACHE_NAMESPACE: 'ecommerce-pipeline:test',
  MONGODB_DATABASE: 'shop_test',
  CACHE_TIMEOUT_MS: '400',
};

describe('stages (serverless.yml params, resolved by osls)', () => {
  it('prod: secrets from SSM /ecommerce-pipeline/prod/*, every other setting its own, whatever the environment says', async () => {
    const { config, ssmRequested } = await print('prod', LOCAL_VALUES);
    expect(ssmRequested.sort()).toEqual(SECRETS.map((s) => ssmParameterName('prod', s.parameter)).sort());
    expect(config.provider).toMatchObject({
      stage: 'prod',
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      memorySize: 1024,
      logRetentionInDays: 90,
    });
    // What a function that talks to every store gets: the provider's settings and its own secrets.
    const everyStore = { ...config.provider.environment, ...config.functions.getHealth.environment };
    expect(everyStore).toMatchObject({
      STAGE: 'prod',
      DATABASE_URL: placeholderFor('/ecommerce-pipeline/prod/database-url'),
      MONGODB_URI: placeholderFor('/ecommerce-pipeline/prod/mongodb-uri'),
      DATABASE_PREPARE: 'false', // RDS Proxy: transaction pooling
      DATABASE_POOL_MAX: '2',
      LOG_LEVEL: 'INFO',
      AUTH_JWT_SECRET: '',
      CACHE_NAMESPACE: 'ecommerce-pipeline:prod',
      MONGODB_DATABASE: 'shop',
      CACHE_TIMEOUT_MS: '', // the code's default
    });
    expect(config.provider.environment.AUTH_JWKS_URL).toMatch(/^https:\/\/cognito-idp\./);
    expect(config.provider.environment.CORS_ALLOWED_ORIGINS).not.toContain('localhost');
    expect(config.provider.httpApi.cors.allowedOrigins).toEqual(['https://<your-shop-domain>']);
    // Shipped as it is, prod would be refused: its identity provider and origins are still placeholders.
    const problems = preflight({
      Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: everyStore } } } },
    }).problems;
    expect(problems.join('\n')).toMatch(/AUTH_JWKS_URL still contains the placeholder <region>/);
    expect(problems.join('\n')).toMatch(/CORS_ALLOWED_ORIGINS still contains the placeholder <your-shop-domain>/);
    // Nor can a deploy shell turn prod's leaderboard repair or purge off (the test suite's switches for its own emulator).
    const withSwitch = await print('prod', { ...LOCAL_VALUES, RECONCILE_SCHEDULE_ENABLED: 'false', PURGE_SCHEDULE_ENABLED: 'false' });
    expect(withSwitch.config.functions.reconcileTopProducts.events[0].schedule).toMatchObject({ enabled: true });
    expect(withSwitch.config.functions.purgeExpired.events[0].schedule).toMatchObject({ enabled: true });
  }, 60_000);

  it('dev (and serverless-offline): the environment first — no AWS call when it holds the secrets', async () => {
    const secrets = {
      DATABASE_URL: 'postgres://app@db.example.com/shop',
      UPSTASH_REDIS_REST_URL: 'https://eu1-example.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'token',
      MONGODB_URI: 'mongodb+srv://cluster.example.mongodb.net',
      CURSOR_SECRET: 'a-cursor-secret-of-at-least-32-characters',
    };
    const { config, ssmRequested } = await print('dev', { ...secrets, ...LOCAL_VALUES });
    expect(ssmRequested).toEqual([]);
    expect(config.provider).toMatchObject({ memorySize: 512, logRetentionInDays: 14 });
    const { CURSOR_SECRET, ...storeSecrets } = secrets;
    expect({ ...config.provider.environment, ...config.functions.getHealth.environment }).toMatchObject({
      ...storeSecrets,
      ...LOCAL_VALUES,
      STAGE: 'dev',
    });
    expect(config.functions.listProducts.environment).toMatchObject({ CURSOR_SECRET, DATABASE_URL: secrets.DATABASE_URL });
    expect(config.provider.httpApi.cors.allowedOrigins).toEqual(['http://localhost:3000']);
    expect(secretSources('dev', secrets).every((s) => s.source === 'the environment of this deploy')).toBe(true);
    expect(secretSources('dev', {}).map((s) => s.source)).toContain('SSM /ecommerce-pipeline/dev/database-url');
    // `npm run offline` listens where npm start and npm run invoke look: the ports .env sets, 3000/3002 without.
    expect(config.custom['serverless-offline']).toMatchObject({ httpPort: 3000, lambdaPort: 3002 });
    const moved = await print('dev', { ...secrets, ...LOCAL_VALUES, OFFLINE_HTTP_PORT: '3300', OFFLINE_LAMBDA_PORT: '3302' });
    const { httpPort, lambdaPort } = moved.config.custom['serverless-offline'];
    expect([Number(httpPort), Number(lambdaPort)]).toEqual([3300, 3302]);
    // A plain `sls package` / `sls deploy` (not through npm run package / deploy) ships no source maps, and
    // builds in a folder no serverless-offline serves from.
    expect(config.custom.esbuild.sourcemap).toBe(false);
    expect(config.custom.esbuild.outputWorkFolder).not.toBe('.esbuild');
  }, 60_000);

  it('every setting shared/config.ts reads reaches the functions: what the environment (or .env) says is what they get', async () => {
    // A distinct value per variable, so a variable wired to another's param shows up too.
    const values = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, `value-of-${name}`]));
    const { config } = await print('dev', values);
    const perFunction = (name: string) =>
      Object.values<any>(config.functions).every((fn) => (fn.environment?.[name] ?? config.provider.environment[name]) !== undefined);
    const delivered = (name: string) =>
      Object.values<any>(config.functions).some((fn) => (fn.environment?.[name] ?? config.provider.environment[name]) === values[name]);
    // STAGE and SERVICE_NAME are the deploy's own (the stage and service being deployed), not the environment's.
    const fromTheDeploy = ['STAGE', 'SERVICE_NAME'];
    expect(CONFIG_VARIABLES.filter((name) => !fromTheDeploy.includes(name) && !delivered(name))).toEqual([]);
    expect(CONFIG_VARIABLES.filter((name) => fromTheDeploy.includes(name) && !perFunction(name))).toEqual([]);
  }, 60_000);
});

describe('provider.httpApi.cors (scripts/serverless/http-api-cors.cjs)', () => {
  type Resolver = (input: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>;
  const httpApiCors = createRequire(import.meta.url)('../../scripts/serverless/http-api-cors.cjs') as Resolver;
  const resolved = (origins: unknown) =>
    httpApiCors({
      resolveVariable: async (name) => {
        expect(name).toBe('param:corsAllowedOrigins');
        return origins;
      },
    });

  it('no origins: no CORS configuration, so API Gateway lets no other origin in', async () => {
    for (const origins of ['', ' , ', null]) expect(await resolved(origins)).toBe(false);
  });

  it("a comma-separated list: trimmed origins and the functions' CORS policy, never credentials", async () => {
    expect(await resolved(' https://a.example ,https://b.example,')).toEqual({
      allowedOrigins: ['https://a.example', 'https://b.example'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'If-None-Match', 'X-Correlation-Id'],
      allowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
      exposedResponseHeaders: [
        'X-Cache',
        'Idempotent-Replayed',
        'Cart-Emptied',
        'Location',
        'ETag',
        'Retry-After',
        'WWW-Authenticate',
        'X-Correlation-Id',
      ],
      maxAge: 600,
      allowCredentials: false,
    });
  });
});

describe('npm run deploy: pre-flight checks', () => {
  const fn = (variables: Record<string, string>) => ({
    Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: variables } } } },
  });
  const good = {
    DATABASE_URL: 'postgres://app@proxy.proxy-abc.eu-west-1.rds.amazonaws.com/shop?sslmode=verify-full',
    UPSTASH_REDIS_REST_URL: 'https://eu1-example.upstash.io',
    MONGODB_URI: 'mongodb+srv://cluster0.abcde.mongodb.net',
    AUTH_JWKS_URL: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json',
    CORS_ALLOWED_ORIGINS: 'https://shop.example.com',
  };

  it('accepts a complete cloud configuration', () => {
    expect(preflight(fn(good))).toEqual({ problems: [], warnings: [] });
  });

  it('refuses local values: localhost URLs, the public development secret, no way to verify tokens', () => {
    const { problems } = preflight(
      fn({
        ...good,
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/shop',
        AUTH_JWKS_URL: '',
        AUTH_JWT_SECRET: LOCAL_VALUES.AUTH_JWT_SECRET,
      }),
    );
    expect(problems.join('\n')).toMatch(/DATABASE_URL points at this machine/);
    expect(problems.join('\n')).toMatch(/AUTH_JWT_SECRET is the public development secret/);
    expect(preflight(fn({ ...good, AUTH_JWKS_URL: '' })).problems.join('\n')).toMatch(/neither AUTH_JWKS_URL nor AUTH_JWT_SECRET/);
  });

  it('refuses what every cold start would refuse: an empty secret (an unset CI variable wins over SSM), a short cursor secret', () => {
    const { problems } = preflight(fn({ ...good, MONGODB_URI: '', CURSOR_SECRET: 'too-short', DATABASE_POOL_MAX: 'two' }));
    expect(problems.join('\n')).toMatch(/MONGODB_URI is empty/);
    expect(problems.join('\n')).toMatch(/CURSOR_SECRET is invalid: must be at least 32 characters/);
    expect(problems.join('\n')).toMatch(/DATABASE_POOL_MAX is invalid/);
    // An optional setting left empty takes the code's default.
    expect(preflight(fn({ ...good, CACHE_TIMEOUT_MS: '' })).problems).toEqual([]);
  });

  it('refuses a benchmark schedule every run of which would fail: a pooled DATABASE_URL and no BENCHMARK_DATABASE_URL', () => {
    const scheduled = (variables: Record<string, string>, state = 'ENABLED') => ({
      Resources: {
        RunBenchmarksLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: variables } } },
        RunBenchmarksEventsRuleSchedule1: {
          Type: 'AWS::Events::Rule',
          Properties: { State: state, Targets: [{ Arn: { 'Fn::GetAtt': ['RunBenchmarksLambdaFunction', 'Arn'] } }] },
        },
      },
    });
    const pooled = { ...good, DATABASE_PREPARE: 'false', BENCHMARK_DATABASE_URL: '' };
    expect(preflight(scheduled(pooled)).problems.join('\n')).toMatch(
      /runBenchmarks is scheduled.*DATABASE_PREPARE=false.*BENCHMARK_DATABASE_URL.*benchmarkScheduleEnabled/s,
    );
    expect(preflight(scheduled(pooled, 'DISABLED')).problems).toEqual([]);
    expect(
      preflight(scheduled({ ...pooled, BENCHMARK_DATABASE_URL: 'postgres://bench@db.example/shop?sslmode=verify-full' })).problems,
    ).toEqual([]);
    expect(preflight(scheduled({ ...good, DATABASE_PREPARE: 'true', BENCHMARK_DATABASE_URL: '' })).problems).toEqual([]);
  });

  it('warns of a database connection that does not verify the server’s certificate', () => {
    const { problems, warnings } = preflight(fn({ ...good, DATABASE_URL: 'postgres://app@db.example/shop?sslmode=require' }));
    expect(problems).toEqual([]);
    expect(warnings.join('\n')).toMatch(/DATABASE_URL does not verify the server’s certificate.*sslmode=verify-full/);
  });

  it('requires an explicit cloud stage', async () => {
    const noStage = await runScript('scripts/deploy.ts', ['deploy']);
    expect(noStage.code).toBe(2);
    expect(noStage.stderr).toMatch(/--stage is required/);
    const local = await runScript('scripts/deploy.ts', ['deploy', '--stage', 'local']);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/"local" is serverless-offline on this machine/);
  });
});

describe('npm run remove -- --profile p', () => {
  it('reads the stack with that profile’s credentials, as it removes it with them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aws-profiles-'));
    const signedWith: string[] = [];
    // A CloudFormation endpoint that knows no stack, and records whose key signed each request.
    const server = createServer((request, response) => {
      signedWith.push(/Credential=([A-Z0-9]+)\//.exec(request.headers.authorization ?? '')?.[1] ?? 'unsigned');
      request.resume();
      response.writeHead(400, { 'content-type': 'text/xml' });
      response.end(
        '<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ecommerce-pipeline-probe does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      writeFileSync(
        join(dir, 'credentials'),
        '[default]\naws_access_key_id = AKIADEFAULTKEY\naws_secret_access_key = s\n[shop-admin]\naws_access_key_id = AKIASHOPADMIN\naws_secret_access_key = s\n',
      );
      writeFileSync(join(dir, 'config'), '[default]\nregion = eu-west-1\n[profile shop-admin]\nregion = eu-west-1\n');
      const run = await runScript('scripts/deploy.ts', ['remove', '--stage', 'probe', '--profile', 'shop-admin'], {
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
        AWS_CONFIG_FILE: join(dir, 'config'),
        AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        AWS_PROFILE: undefined,
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/nothing to remove/);
      expect(signedWith).toEqual(['AKIASHOPADMIN']);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
