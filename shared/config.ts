import * as z from 'zod';
import { DEFAULT_MAX_TOKEN_AGE_SECONDS, LOOPBACK_HOST } from './auth/rules.js';
import type { AuthConfig } from './auth/tokens.js';
import { DEFAULT_CART_TTL_SECONDS, MAX_CART_TTL_SECONDS } from './carts/rules.js';

/** DATABASE_STATEMENT_TIMEOUT_MS: the functions' statement timeout (also what `db:migrate --app-role` sets on their role). */
export const statementTimeoutMsSchema = z.coerce.number().int().min(100).max(900_000).default(5_000);

/**
 * Typed configuration, read from the environment once per container and validated at cold start.
 * A missing or malformed variable fails the container's init with the variable's name, instead of
 * surfacing later as a confusing driver error on the first request. The exception: a per-function secret
 * (PER_FUNCTION_SECRETS) that a function was not given fails, with its name, where the code reads it.
 */
const booleanString = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const EnvSchema = z.object({
  STAGE: z.string().min(1).default('dev'),
  SERVICE_NAME: z.string().min(1).default('ecommerce-pipeline'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(50).default(2),
  DATABASE_PREPARE: booleanString.default(true),
  DATABASE_CONNECT_TIMEOUT_SECONDS: z.coerce.number().positive().max(30).default(3),
  DATABASE_IDLE_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(20),
  DATABASE_STATEMENT_TIMEOUT_MS: statementTimeoutMsSchema,
  /**
   * runBenchmarks' own session connection (direct, never through a transaction pooler): its fixtures,
   * session settings and advisory lock need a session. Unset: DATABASE_URL, unless that goes through a
   * pooler (DATABASE_PREPARE=false), in which case runBenchmarks refuses to run.
   */
  BENCHMARK_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),

  // Both are refused here rather than by fetch, whose error message would quote the URL or the header, secret
  // included, into the cache's warnings.
  UPSTASH_REDIS_REST_URL: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) => !URL.canParse(url) || (!new URL(url).username && !new URL(url).password),
      'must not hold credentials (the token is UPSTASH_REDIS_REST_TOKEN)',
    ),
  // Trimmed as fetch trims a header value (a token saved from a file with its newline works).
  UPSTASH_REDIS_REST_TOKEN: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters (it is sent in an HTTP header)'),
  CACHE_NAMESPACE: z.string().min(1).optional(),
  CACHE_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(150),

  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://'),
  MONGODB_DATABASE: z.string().min(1).default('shop'),
  MONGODB_POOL_MAX: z.coerce.number().int().min(1).max(50).default(2),
  MONGODB_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2_000),
  /** Inactivity period after which a cart expires (every write moves expiresAt to now + this). */
  CART_TTL_SECONDS: z.coerce.number().int().min(1).max(MAX_CART_TTL_SECONDS).default(DEFAULT_CART_TTL_SECONDS),

  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** HTTPS: whoever could answer a plain-HTTP fetch of the keys on the way would sign any token. Plain HTTP on
   *  this machine only (a test's own key server). */
  AUTH_JWKS_URL: z
    .url({ protocol: /^https?$/ })
    .refine((url) => {
      // Not a URL: the check above says so (zod runs this one too).
      if (!URL.canParse(url)) return true;
      const { protocol, host } = new URL(url);
      return protocol === 'https:' || LOOPBACK_HOST.test(host);
    }, 'must be https:// (plain http:// only for this machine)')
    .optional(),
  AUTH_ISSUER: z.string().min(1).default('ecommerce-pipeline-local'),
  AUTH_AUDIENCE: z.string().min(1).default('ecommerce-pipeline'),
  AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  AUTH_ADMIN_SCOPE: z.string().min(1).default('admin'),
  AUTH_CUSTOMER_CLAIM: z.string().min(1).default('sub'),
  AUTH_MAX_TOKEN_AGE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(DEFAULT_MAX_TOKEN_AGE_SECONDS),

  /** Signs list cursors and cart ETags (shared/signing.ts): anyone who has it can forge one. */
  CURSOR_SECRET: z.string().min(32, 'must be at least 32 characters'),

  CORS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
});

export type Env = z.infer<typeof EnvSchema>;

/**
 * The secrets serverless.yml gives only to the functions that read them (custom.secrets): a store's
 * connection to the functions that talk to it, the cursor key to those that sign. Whoever can read a
 * function's configuration, or run code inside it, gets its secrets and no others.
 */
const SECRET_FIELDS = {
  DATABASE_URL: ['database', 'url'],
  UPSTASH_REDIS_REST_URL: ['redis', 'url'],
  UPSTASH_REDIS_REST_TOKEN: ['redis', 'token'],
  MONGODB_URI: ['mongo', 'uri'],
  CURSOR_SECRET: ['pagination', 'cursorSecret'],
} as const satisfies Record<string, readonly [keyof Config, string]>;
type PerFunctionSecret = keyof typeof SECRET_FIELDS;
export const PER_FUNCTION_SECRETS = Object.keys(SECRET_FIELDS) as PerFunctionSecret[];

/** Every environment variable the configuration reads (serverless.yml passes each one to the functions that read it). */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape) as Array<keyof Env>;

/**
 * Why the functions would refuse one variable's value at a cold start (empty counts as unset, as in
 * parseConfig), or null when they take it; null too for a variable the configuration does not read.
 */
export function configValueProblem(name: string, value: string): string | null {
  const schema = (EnvSchema.shape as Record<string, z.ZodType>)[name];
  if (!schema) return null;
  const result = schema.safeParse(value === '' ? undefined : value);
  return result.success ? null : `${value === '' ? 'empty' : 'invalid'}: ${result.error.issues[0]?.message ?? 'refused'}`;
}

export interface Config {
  stage: string;
  serviceName: string;
  database: {
    url: string;
    poolMax: number;
    prepare: boolean;
    connectTimeoutSeconds: number;
    idleTimeoutSeconds: number;
    statementTimeoutMs: number;
  };
  benchmarks: { databaseUrl?: string };
  redis: { url: string; token: string; namespace: string; timeoutMs: number };
  mongo: { uri: string; database: string; poolMax: number; timeoutMs: number };
  carts: { ttlSeconds: number };
  auth: AuthConfig & { customerClaim: string };
  cors: { allowedOrigins: string[] };
  pagination: { cursorSecret: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ParseOptions {
  /**
   * A function's view: a secret of PER_FUNCTION_SECRETS that the function was not given fails when the code
   * first reads it (the function does not use that store), not here. One it was given is checked here like
   * every other variable, empty included (an unset deploy variable).
   */
  secretsWhenRead?: boolean;
}

/** Makes `section[field]` throw a ConfigError naming `variable` when read, because that variable is not set. */
function failWhenRead(section: object, field: string, variable: PerFunctionSecret): void {
  Object.defineProperty(section, field, {
    enumerable: true,
    get() {
      throw new ConfigError(
        `Invalid configuration: ${variable} is not set for this function, yet its code reads it (serverless.yml gives each function the secrets of custom.secrets it uses)`,
      );
    },
  });
}

/**
 * Parses an environment (process.env by default). Throws ConfigError naming every bad variable; with
 * `secretsWhenRead`, a missing per-function secret only when it is read.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env, { secretsWhenRead = false }: ParseOptions = {}): Config {
  // An empty variable means "not set" (serverless.yml's `${env:X, ''}` fallbacks produce empty strings).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const notGiven = secretsWhenRead ? PER_FUNCTION_SECRETS.filter((name) => env[name] === undefined) : [];
  const schema = EnvSchema.partial(Object.fromEntries(notGiven.map((name) => [name, true])) as Partial<Record<PerFunctionSecret, true>>);
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = result.data;
  if (!e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    throw new ConfigError('Invalid configuration: AUTH_JWKS_URL (cloud) or AUTH_JWT_SECRET (local) must be set');
  }
  const config: Config = {
    stage: e.STAGE,
    serviceName: e.SERVICE_NAME,
    database: {
      url: e.DATABASE_URL as string,
      poolMax: e.DATABASE_POOL_MAX,
      prepare: e.DATABASE_PREPARE,
      connectTimeoutSeconds: e.DATABASE_CONNECT_TIMEOUT_SECONDS,
      idleTimeoutSeconds: e.DATABASE_IDLE_TIMEOUT_SECONDS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    benchmarks: e.BENCHMARK_DATABASE_URL === undefined ? {} : { databaseUrl: e.BENCHMARK_DATABASE_URL },
    redis: {
      url: e.UPSTASH_REDIS_REST_URL as string,
      token: e.UPSTASH_REDIS_REST_TOKEN as string,
      namespace: e.CACHE_NAMESPACE ?? `${e.SERVICE_NAME}:${e.STAGE}`,
      timeoutMs: e.CACHE_TIMEOUT_MS,
    },
    mongo: {
      uri: e.MONGODB_URI as string,
      database: e.MONGODB_DATABASE,
      poolMax: e.MONGODB_POOL_MAX,
      timeoutMs: e.MONGODB_TIMEOUT_MS,
    },
    carts: { ttlSeconds: e.CART_TTL_SECONDS },
    auth: {
      ...(e.AUTH_JWT_SECRET === undefined ? {} : { secret: e.AUTH_JWT_SECRET }),
      ...(e.AUTH_JWKS_URL === undefined ? {} : { jwksUrl: e.AUTH_JWKS_URL }),
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
      adminScope: e.AUTH_ADMIN_SCOPE,
      customerClaim: e.AUTH_CUSTOMER_CLAIM,
      maxTokenAgeSeconds: e.AUTH_MAX_TOKEN_AGE_SECONDS,
    },
    cors: { allowedOrigins: e.CORS_ALLOWED_ORIGINS },
    pagination: { cursorSecret: e.CURSOR_SECRET as string },
  };
  for (const name of notGiven) {
    const [section, field] = SECRET_FIELDS[name];
    failWhenRead(config[section], field, name);
  }
  return config;
}

let cached: Config | undefined;

/**
 * The container's configuration, parsed on first use and reused while the container is warm. A function
 * has only the secrets it uses: one it lacks fails where it is read.
 */
export function getConfig(): Config {
  cached ??= parseConfig(process.env, { secretsWhenRead: true });
  return cached;
}
