/**
 * npm run --silent token -- --sub 42 [--admin] [--ttl 1h] [--stage dev]
 * Prints a local HS256 bearer token for serverless-offline. Refuses when the stage authenticates with an
 * identity provider's JWKS (a cloud stage: its tokens come from the provider, never from a developer's
 * secret), and a lifetime longer than the verifier accepts (AUTH_MAX_TOKEN_AGE_SECONDS).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { signLocalToken } from '../shared/auth/tokens.js';
import { parseConfig } from '../shared/config.js';
import { exit, localEnv, parseCommandLine, ROOT } from './lib/env.js';

/** The stages that run on this machine (serverless-offline, the tests). */
const LOCAL_STAGES = ['dev', 'local', 'test'];

const { values } = parseCommandLine('usage: npm run --silent token -- --sub <customerId or name> [--admin] [--ttl 1h] [--stage dev]', {
  options: {
    sub: { type: 'string' },
    admin: { type: 'boolean', default: false },
    ttl: { type: 'string', default: '1h' },
    stage: { type: 'string', default: 'dev' },
  },
});

try {
  if (!values.sub) throw new Error('--sub <customerId or name> is required');
  const ttl = /^([1-9][0-9]*)([smhd]?)$/.exec(values.ttl);
  if (!ttl) throw new Error(`--ttl must look like 900, 30m, 1h or 1d (got "${values.ttl}")`);
  // The JWKS URL serverless.yml gives the stage (its own param, else the default's), unresolved.
  const { params } = parseYaml(readFileSync(`${ROOT}serverless.yml`, 'utf8')) as { params?: Record<string, Record<string, unknown>> };
  const jwks = String(params?.[values.stage]?.authJwksUrl ?? params?.default?.authJwksUrl ?? '');
  if (jwks && !jwks.startsWith('${env:'))
    throw new Error(
      `refusing to sign a token for stage "${values.stage}": it authenticates with an identity provider (authJwksUrl in serverless.yml), whose tokens this secret cannot replace`,
    );
  if (!LOCAL_STAGES.includes(values.stage))
    throw new Error(
      `refusing to sign a token for stage "${values.stage}": only local stages (${LOCAL_STAGES.join(', ')}) use the local secret`,
    );
  const env = localEnv();
  if (env.AUTH_JWKS_URL)
    throw new Error('AUTH_JWKS_URL is set: this environment verifies tokens from an identity provider, not a local secret');
  const ttlSeconds = Number(ttl[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[ttl[2] as '' | 's' | 'm' | 'h' | 'd'];
  process.stdout.write(`${await signLocalToken(parseConfig(env).auth, { sub: values.sub, admin: values.admin, ttlSeconds })}\n`);
} catch (error) {
  exit(1, `token: ${(error as Error).message}`);
}
