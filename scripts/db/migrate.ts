/**
 * npm run db:migrate — creates the database if missing and applies pending migrations from sql/. With
 * `--app-role NAME` it then creates or updates the login the functions should connect as (rows of the shop's
 * tables, no DDL: shared/db/app-role.ts), its password read from APP_DATABASE_PASSWORD (the environment or
 * .env), never from the command line.
 */

import { DEFAULT_STATEMENT_TIMEOUT_MS } from '../../shared/config.js';
import { migrate } from '../../shared/db/migrate.js';
import { APP_ROLE_NAME_PATTERN } from '../../shared/db/rules.js';
import { exit, localEnv, parseCommandLine } from '../lib/env.js';

const USAGE =
  'usage: npm run db:migrate [-- --app-role NAME]   (DATABASE_URL, and APP_DATABASE_PASSWORD with --app-role, from the environment or .env)';
const { values } = parseCommandLine(USAGE, {
  options: { 'app-role': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
});
try {
  const env = localEnv();
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (see .env.example)');
  const name = values['app-role'];
  if (name !== undefined && !APP_ROLE_NAME_PATTERN.test(name)) exit(2, `error: --app-role must be a lowercase identifier\n${USAGE}`);
  const password = env.APP_DATABASE_PASSWORD ?? '';
  if (name !== undefined && password.length < 16)
    exit(2, `error: --app-role needs APP_DATABASE_PASSWORD (16 characters or more)\n${USAGE}`);
  // The functions' statement timeout, set on the role: a pooler drops the one they send at connect.
  const statementTimeoutMs = Number(env.DATABASE_STATEMENT_TIMEOUT_MS || DEFAULT_STATEMENT_TIMEOUT_MS);
  const appRole = name === undefined ? undefined : { name, password, statementTimeoutMs };
  const { applied } = await migrate(databaseUrl, (line) => console.log(line), appRole ? { appRole } : {});
  console.log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  exit(1, `error: migration failed: ${(error as Error).message}`);
}
