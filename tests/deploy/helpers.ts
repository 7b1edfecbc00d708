import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/env.js';

/** A CloudFormation resource as osls writes it (loosely typed: tests read deep into it). */
export interface Resource {
  Type: string;
  Properties: Record<string, any>;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

/**
 * A bare environment for osls: what a fresh shell on a CI machine has, without any of the project's
 * variables (the test process itself runs with the whole local test environment).
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

/** A store's client module (shared/clients/) and the secrets that connect to it. */
const clientImport = (store: string) => new RegExp(`^import (?!type )[^;]*from '\\.\\./shared/clients/${store}\\.js'`, 'm');
const STORE_SECRETS: Array<[RegExp, string[]]> = [
  [clientImport('postgres'), ['DATABASE_URL']],
  [clientImport('redis'), ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN']],
  [clientImport('mongo'), ['MONGODB_URI']],
  // The configuration's `pagination` section: the key that signs list cursors and cart ETags.
  [/\bpagination\b/, ['CURSOR_SECRET']],
];

/**
 * The secrets a function reads, as its own file shows them: the store clients it imports (domain code takes
 * its clients as arguments, so a function file is where a store is reached from) and the cursor secret.
 */
export function secretsReadBy(handler: string): string[] {
  const source = readFileSync(join(ROOT, `${handler.replace(/\.handler$/, '')}.ts`), 'utf8');
  return STORE_SECRETS.filter(([pattern]) => pattern.test(source))
    .flatMap(([, names]) => names)
    .sort();
}
