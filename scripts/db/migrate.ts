/** npm run db:migrate — creates the database if missing and applies pending migrations from sql/. */
import { migrate } from '../../shared/db/migrate.js';
import { localEnv } from '../lib/env.js';

const env = localEnv();
const databaseUrl = env.DATABASE_URL;
if (!databaseUrl) {
  console.error('error: DATABASE_URL is not set (see .env.example)');
  process.exit(1);
}
try {
  const { applied } = await migrate(databaseUrl, (line) => console.log(line));
  console.log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  console.error(`error: migration failed: ${(error as Error).message}`);
  process.exit(1);
}
