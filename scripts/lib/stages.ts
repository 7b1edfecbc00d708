import postgres from 'postgres';
import { configValueProblem } from '../../shared/config.js';
import { pendingMigrations } from '../../shared/db/migrate.js';
import { readEnvFile } from './env.js';
import { placeholderFor } from './sls.js';

export const SERVICE = 'ecommerce-pipeline';

/**
 * The secrets serverless.yml reads: from the deploy's environment when set, else from SSM Parameter Store
 * at /ecommerce-pipeline/<stage>/<parameter> (SecureString; osls decrypts it at deploy time).
 */
export const SECRETS = [
  { variable: 'DATABASE_URL', parameter: 'database-url', what: 'PostgreSQL URL, through RDS Proxy or your provider’s pooler' },
  { variable: 'UPSTASH_REDIS_REST_URL', parameter: 'upstash-redis-rest-url', what: 'Upstash Redis REST URL (https://…upstash.io)' },
  { variable: 'UPSTASH_REDIS_REST_TOKEN', parameter: 'upstash-redis-rest-token', what: 'Upstash Redis REST token' },
  { variable: 'MONGODB_URI', parameter: 'mongodb-uri', what: 'MongoDB Atlas connection string (mongodb+srv://…)' },
  {
    variable: 'CURSOR_SECRET',
    parameter: 'cursor-secret',
    what: 'a random string of 32+ characters that signs list cursors (openssl rand -base64 32)',
  },
] as const;

export function ssmParameterName(stage: string, parameter: string): string {
  return `/${SERVICE}/${stage}/${parameter}`;
}

/** Where each secret will come from for a deploy run with this environment. */
export function secretSources(stage: string, env: Record<string, string | undefined>): Array<{ variable: string; source: string }> {
  return SECRETS.map(({ variable, parameter }) => ({
    variable,
    source: env[variable] == null ? `SSM ${ssmParameterName(stage, parameter)}` : 'the environment of this deploy',
  }));
}

interface TemplateResource {
  Type: string;
  Properties?: {
    FunctionName?: string;
    Environment?: { Variables?: Record<string, string> };
    /** An EventBridge rule's. */
    State?: string;
    Targets?: Array<{ Arn?: unknown }>;
  };
}

/** The functions an enabled schedule (EventBridge rule) invokes, by logical id. */
function scheduledFunctions(resources: Record<string, TemplateResource>): Set<string> {
  const ids = new Set<string>();
  for (const rule of Object.values(resources)) {
    if (rule.Type !== 'AWS::Events::Rule' || rule.Properties?.State !== 'ENABLED') continue;
    for (const { Arn } of rule.Properties.Targets ?? []) {
      const [id] = ((Arn as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'] ?? []) as string[];
      if (id) ids.add(id);
    }
  }
  return ids;
}

function isLocalHost(value: string): boolean {
  try {
    return ['localhost', '127.0.0.1', '[::1]', '0.0.0.0'].includes(new URL(value).hostname);
  } catch {
    return false;
  }
}

/**
 * The migrations a bring-your-own stage's database lacks, looked up before its deploy: that database gets
 * them from `npm run db:migrate`, not from the deploy, and code that needs a missing one fails its requests.
 * A problem when some are missing, a warning when the database cannot be reached from here (a private
 * network); nothing for a stage whose stack creates its database (DATABASE_URL is the stack's, which
 * applies the migrations itself before any function is updated). Never prints the URL.
 */
export async function migrationCheck(
  template: { Resources: Record<string, TemplateResource> },
  { connectTimeoutSeconds = 5 } = {},
): Promise<{ problems: string[]; warnings: string[] }> {
  const urls = Object.values(template.Resources).flatMap((resource) => {
    const url = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.Environment?.Variables?.DATABASE_URL : undefined;
    return typeof url === 'string' && /^postgres(ql)?:\/\//.test(url) ? [url] : [];
  });
  // None: the stack creates the database, or the URL is a placeholder (which preflight refuses).
  if (urls.length === 0) return { problems: [], warnings: [] };
  let sql: postgres.Sql | undefined;
  try {
    // No named prepared statements: the stage's URL may go through a transaction pooler.
    sql = postgres(urls[0]!, { max: 1, prepare: false, connect_timeout: connectTimeoutSeconds, idle_timeout: 1, onnotice: () => {} });
    const pending = await pendingMigrations(sql);
    if (pending.length === 0) return { problems: [], warnings: [] };
    return {
      problems: [
        `the stage's database lacks migrations this version needs (${pending.join(', ')}): apply them first, through its direct ` +
          'endpoint rather than a pooler — DATABASE_URL=postgres://…direct-endpoint…/shop npm run db:migrate — then deploy again ' +
          '(the version running now works on the migrated schema: migrations only add)',
      ],
      warnings: [],
    };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      problems: [],
      warnings: [
        `could not check the stage's database for pending migrations (${String(code ?? message)}): if sql/ has migrations it lacks, ` +
          'run npm run db:migrate against it before this version serves requests',
      ],
    };
  } finally {
    await sql?.end({ timeout: 1 });
  }
}

/**
 * Checks a packaged CloudFormation template before it is deployed: problems stop the deploy, warnings
 * are printed. Looks at every function's environment.
 */
export function preflight(template: { Resources: Record<string, TemplateResource> }): { problems: string[]; warnings: string[] } {
  const problems = new Set<string>();
  const warnings = new Set<string>();
  // The public development values: they must never sign anything in a cloud stage.
  const development = readEnvFile('.env.example');
  const scheduled = scheduledFunctions(template.Resources);
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const env = resource.Properties?.Environment?.Variables ?? {};
    // runBenchmarks (the function given BENCHMARK_DATABASE_URL) needs a session, which a pooler does not give.
    if (
      scheduled.has(id) &&
      'BENCHMARK_DATABASE_URL' in env &&
      ['false', '0'].includes(env.DATABASE_PREPARE ?? '') &&
      !env.BENCHMARK_DATABASE_URL
    )
      problems.add(
        'runBenchmarks is scheduled, but DATABASE_URL goes through a pooler (DATABASE_PREPARE=false) and BENCHMARK_DATABASE_URL is empty: ' +
          'every run would fail (BENCHMARK_NEEDS_SESSION) and raise its alarm. Set benchmarkDatabaseUrl (a direct connection) or benchmarkScheduleEnabled: false',
      );
    if (typeof env.DATABASE_URL === 'string' && env.DATABASE_URL && !isLocalHost(env.DATABASE_URL)) {
      const query = env.DATABASE_URL.includes('?')
        ? new URLSearchParams(env.DATABASE_URL.slice(env.DATABASE_URL.indexOf('?') + 1))
        : undefined;
      if (query?.get('sslmode') !== 'verify-full')
        warnings.add(
          'DATABASE_URL does not verify the server’s certificate: postgres.js reads sslmode=require as "accept any certificate". ' +
            'sslmode=verify-full checks it against the roots Node trusts: enough for RDS Proxy (ACM) and most hosted PostgreSQL; ' +
            'RDS or Aurora reached directly also needs NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem (the RDS roots Lambda ships) in the functions’ environment',
        );
    }
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== 'string') continue;
      if (value.startsWith(placeholderFor(''))) {
        problems.add(`${name} is a rehearsal placeholder (${value}): package with real SSM (npm run deploy does)`);
        continue;
      }
      const placeholder = /<[a-z][a-z0-9-]*>/.exec(value);
      if (placeholder) {
        problems.add(`${name} still contains the placeholder ${placeholder[0]}: set it in serverless.yml (params) or pass --param`);
      }
      // As the functions will read it: an empty variable (an unset CI secret) wins over SSM in osls.
      const problem = configValueProblem(name, value);
      if (problem) problems.add(`${name} is ${problem}: every cold start would refuse this configuration`);
    }
    for (const name of ['DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'MONGODB_URI']) {
      if (env[name] && isLocalHost(env[name]))
        problems.add(`${name} points at this machine (${new URL(env[name]).host}), which Lambda cannot reach`);
    }
    if (development.AUTH_JWT_SECRET && env.AUTH_JWT_SECRET === development.AUTH_JWT_SECRET) {
      problems.add('AUTH_JWT_SECRET is the public development secret from .env.example: anyone could sign tokens');
    }
    if (development.CURSOR_SECRET && env.CURSOR_SECRET === development.CURSOR_SECRET) {
      problems.add('CURSOR_SECRET is the public development secret from .env.example: anyone could forge list cursors and cart ETags');
    }
    if (!env.AUTH_JWKS_URL && !env.AUTH_JWT_SECRET) {
      problems.add('neither AUTH_JWKS_URL nor AUTH_JWT_SECRET is set: every cold start would fail its configuration check');
    }
    if (env.UPSTASH_REDIS_REST_URL?.startsWith('http://')) warnings.add('UPSTASH_REDIS_REST_URL is plain http://');
    if (/localhost|127\.0\.0\.1/.test(env.CORS_ALLOWED_ORIGINS ?? '')) warnings.add('CORS_ALLOWED_ORIGINS allows a localhost origin');
  }
  return { problems: [...problems], warnings: [...warnings] };
}
