/**
 * npm run --silent token -- --sub 42 [--admin] [--ttl 1h] [--stage dev]
 * Prints a local HS256 bearer token for serverless-offline. Refuses when the stage authenticates with an
 * identity provider's JWKS (a cloud stage: its tokens come from the provider, never from a developer's
 * secret), and a lifetime longer than the verifier accepts (AUTH_MAX_TOKEN_AGE_SECONDS).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { signLocalToken } from '../shared/auth/tokens.js';
import { parseConfig } from '../shared/config.js';
import { localEnv, ROOT } from './lib/env.js';

/** The stages that run on this machine (serverless-offline, the tests). */
const LOCAL_STAGES = new Set(['dev', 'local', 'test']);

function fail(message: string): never {
  console.error(`token: ${message}`);
  process.exit(1);
}

function parseTtl(text: string): number {
  const match = /^([1-9][0-9]*)([smhd]?)$/.exec(text);
  if (!match) fail(`--ttl must look like 900, 30m, 1h or 7d (got "${text}")`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The JWKS URL serverless.yml gives the stage (its own param, else the default's), unresolved. */
function stageJwksParam(stage: string): string {
  const { params } = parseYaml(readFileSync(`${ROOT}serverless.yml`, 'utf8')) as { params?: Record<string, Record<string, unknown>> };
  return String(params?.[stage]?.authJwksUrl ?? params?.default?.authJwksUrl ?? '');
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        sub: { type: 'string' },
        admin: { type: 'boolean', default: false },
        ttl: { type: 'string', default: '1h' },
        stage: { type: 'string', default: 'dev' },
      },
      strict: true,
    });
  } catch (error) {
    fail((error as Error).message);
  }
})();
if (!values.sub) fail('--sub <customerId or name> is required');
const jwksParam = stageJwksParam(values.stage);
if (jwksParam && !jwksParam.startsWith('${env:')) {
  fail(
    `refusing to sign a token for stage "${values.stage}": it authenticates with an identity provider (authJwksUrl in serverless.yml), whose tokens this secret cannot replace`,
  );
}
if (!LOCAL_STAGES.has(values.stage)) {
  fail(`refusing to sign a token for stage "${values.stage}": only local stages (${[...LOCAL_STAGES].join(', ')}) use the local secret`);
}
const env = localEnv();
if (env.AUTH_JWKS_URL) fail('AUTH_JWKS_URL is set: this environment verifies tokens from an identity provider, not a local secret');
const config = (() => {
  try {
    return parseConfig(env);
  } catch (error) {
    fail((error as Error).message);
  }
})();
try {
  const token = await signLocalToken(config.auth, { sub: values.sub, admin: values.admin, ttlSeconds: parseTtl(values.ttl) });
  process.stdout.write(`${token}\n`);
} catch (error) {
  fail((error as Error).message);
}
