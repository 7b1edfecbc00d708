/**
 * npm run --silent token -- --sub 42 [--admin] [--ttl 1h] [--stage dev]
 * Prints a local HS256 bearer token for serverless-offline. Refuses to sign for a non-local stage:
 * cloud stages verify tokens from the identity provider's JWKS, never a secret from a developer's .env.
 */
import { parseArgs } from 'node:util';
import { signLocalToken } from '../shared/auth/tokens.js';
import { parseConfig } from '../shared/config.js';
import { localEnv } from './lib/env.js';

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

let values;
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '1h' },
      stage: { type: 'string', default: 'dev' },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (!values.sub) fail('--sub <customerId or name> is required');
if (!LOCAL_STAGES.has(values.stage)) {
  fail(`refusing to sign a token for stage "${values.stage}": only local stages (${[...LOCAL_STAGES].join(', ')}) use the local secret`);
}
const env = localEnv();
if (env.AUTH_JWKS_URL) fail('AUTH_JWKS_URL is set: this environment verifies tokens from an identity provider, not a local secret');
let config;
try {
  config = parseConfig(env);
} catch (error) {
  fail((error as Error).message);
}
const token = await signLocalToken(config.auth, { sub: values.sub, admin: values.admin, ttlSeconds: parseTtl(values.ttl) });
process.stdout.write(`${token}\n`);
