/**
 * npm run db:migrate — creates the database if missing and applies pending migrations from sql/. With
 * `--app-role NAME` it then creates or updates the login the functions should connect as (rows of the shop's
 * tables, no DDL: shared/db/app-role.ts), with the functions' statement timeout as a role setting. Its
 * password comes from APP_DATABASE_PASSWORD in this shell's environment only (`read -rs APP_DATABASE_PASSWORD;
 * export APP_DATABASE_PASSWORD`): not the command line (shell history, `ps`), and not .env, whose variables
 * every local function and test would get. The timeout is DATABASE_STATEMENT_TIMEOUT_MS of this environment or
 * .env (the stage's own value, if it sets one).
 */
import { statementTimeoutMsSchema } from '../../shared/config.js';
import { migrate } from '../../shared/db/migrate.js';
import { APP_ROLE_NAME_PATTERN, APP_ROLE_NAME_RULE, APP_ROLE_PASSWORD_PATTERN, APP_ROLE_PASSWORD_RULE } from '../../shared/db/rules.js';
import { exit, localEnv, parseCommandLine } from '../lib/env.js';

const USAGE =
  'usage: npm run db:migrate [-- --app-role NAME]   (DATABASE_URL from the environment or .env; with --app-role, APP_DATABASE_PASSWORD exported in this shell)';
const { values } = parseCommandLine(USAGE, {
  options: { 'app-role': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
});
const env = localEnv();
const name = values['app-role'];
const password = process.env.APP_DATABASE_PASSWORD ?? '';
const statementTimeout = statementTimeoutMsSchema.safeParse(env.DATABASE_STATEMENT_TIMEOUT_MS || undefined);
if (name !== undefined) {
  if (!APP_ROLE_NAME_PATTERN.test(name)) exit(2, `error: --app-role must be ${APP_ROLE_NAME_RULE}\n${USAGE}`);
  if (!APP_ROLE_PASSWORD_PATTERN.test(password))
    exit(2, `error: --app-role needs APP_DATABASE_PASSWORD in the environment: ${APP_ROLE_PASSWORD_RULE}\n${USAGE}`);
  if (!statementTimeout.success)
    exit(2, `error: DATABASE_STATEMENT_TIMEOUT_MS: ${statementTimeout.error.issues.map((issue) => issue.message).join('; ')}\n${USAGE}`);
}
try {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (see .env.example)');
  const appRole = name === undefined ? undefined : { name, password, statementTimeoutMs: statementTimeout.data! };
  const { applied } = await migrate(databaseUrl, (line) => console.log(line), appRole ? { appRole } : {});
  console.log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  exit(1, `error: migration failed: ${(error as Error).message}`);
}
