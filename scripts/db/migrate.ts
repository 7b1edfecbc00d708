/** npm run db:migrate — creates the database if missing and applies pending migrations from sql/. */
import { migrate } from '../../shared/db/migrate.js';
import { exit, localEnv, parseCommandLine } from '../lib/env.js';

parseCommandLine('usage: npm run db:migrate   (DATABASE_URL from .env / .env.example)', { options: {} });
try {
  const databaseUrl = localEnv().DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (see .env.example)');
  const { applied } = await migrate(databaseUrl, (line) => console.log(line));
  console.log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  exit(1, `error: migration failed: ${(error as Error).message}`);
}
