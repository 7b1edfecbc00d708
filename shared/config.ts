import * as z from 'zod';
import { DEFAULT_MAX_TOKEN_AGE_SECONDS, LOOPBACK_HOST } from './auth/rules.js';
import type { AuthConfig } from './auth/tokens.js';
import { DEFAULT_CART_TTL_SECONDS, MAX_CART_TTL_SECONDS } from './carts/rules.js';

/** DATABASE_STATEMENT_TIMEOUT_MS: the functions' statement timeout (also what `db:migrate --app-role` sets on their role). */
export const statementTimeoutMsSchema = z.coerce.number().int().min(100).max(900_000).default(5_000);

/**
 * Typed configuration, read from the environment once per container and validated at cold start.
 * A missing or malformed variable fails the container's init with the variable's name, instead of
 * surfacing later as a confusing driver error on the first request.
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

  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
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

/** Every environment variable the configuration reads (serverless.yml must pass each one to the functions). */
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

/** Parses an environment (process.env by default). Throws ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" (serverless.yml's `${env:X, ''}` fallbacks produce empty strings).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = EnvSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = result.data;
  if (!e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    throw new ConfigError('Invalid configuration: AUTH_JWKS_URL (cloud) or AUTH_JWT_SECRET (local) must be set');
  }
  return {
    stage: e.STAGE,
    serviceName: e.SERVICE_NAME,
    database: {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      prepare: e.DATABASE_PREPARE,
      connectTimeoutSeconds: e.DATABASE_CONNECT_TIMEOUT_SECONDS,
      idleTimeoutSeconds: e.DATABASE_IDLE_TIMEOUT_SECONDS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    benchmarks: e.BENCHMARK_DATABASE_URL === undefined ? {} : { databaseUrl: e.BENCHMARK_DATABASE_URL },
    redis: {
      url: e.UPSTASH_REDIS_REST_URL,
      token: e.UPSTASH_REDIS_REST_TOKEN,
      namespace: e.CACHE_NAMESPACE ?? `${e.SERVICE_NAME}:${e.STAGE}`,
      timeoutMs: e.CACHE_TIMEOUT_MS,
    },
    mongo: {
      uri: e.MONGODB_URI,
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
    pagination: { cursorSecret: e.CURSOR_SECRET },
  };
}

let cached: Config | undefined;

/** The container's configuration, parsed on first use and reused while the container is warm. */
export function getConfig(): Config {
  cached ??= parseConfig();
  return cached;
}
