import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import { IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS } from '../clients/postgres.js';
import { APP_ROLE_NAME_PATTERN } from './rules.js';

/** The login the functions connect as: the shop's data, not its schema (docs/deploy.md). */
export interface AppRole {
  name: string;
  password: string;
  /**
   * Set on the role too (ALTER ROLE … SET): a transaction pooler such as RDS Proxy or PgBouncer drops the
   * startup parameters the functions send it (shared/clients/postgres.ts).
   */
  statementTimeoutMs?: number;
}

/** The migrations' own bookkeeping: the functions may read it (nothing does), never change it. */
const MIGRATION_TABLES = ['migrations', 'migration_checksums'];

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, PostgreSQL's `rolpassword`
 * format), as psql's \password computes it: the server is sent the verifier, never the password, so no
 * statement log can hold it.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates `role` (or sets its password) and gives it what the functions do and nothing more: rows of the
 * shop's tables (select, insert, update, delete), its sequences and functions; no DDL, no TRUNCATE, no
 * ownership, so a request that went wrong cannot drop or alter a table, and cannot rewrite the migrations'
 * record. Tables later migrations create get the same through default privileges of the role that runs
 * the migrations (`sql`'s user, the owner of the schema's objects). Idempotent; run under the migration lock.
 */
export async function ensureAppRole(sql: postgres.Sql | postgres.TransactionSql, role: AppRole): Promise<void> {
  if (!APP_ROLE_NAME_PATTERN.test(role.name)) throw new Error(`app role name ${JSON.stringify(role.name)} is not a plain identifier`);
  const [{ exists }] = await sql<[{ exists: boolean }]>`select exists (select from pg_roles where rolname = ${role.name}) as exists`;
  // format(%I, %L) quotes on the server; what it quotes is the verifier, not the password.
  const verb = exists ? 'alter' : 'create';
  const [{ statement }] = await sql<[{ statement: string }]>`
    select format(${`${verb} role %I with login nosuperuser nocreatedb nocreaterole password %L`}, ${role.name}::text, ${scramVerifier(role.password)}::text) as statement`;
  await sql.unsafe(statement);
  const name = sql(role.name);
  if (role.statementTimeoutMs !== undefined) {
    await sql`alter role ${name} set statement_timeout = ${sql.unsafe(String(Math.trunc(role.statementTimeoutMs)))}`;
  }
  await sql`alter role ${name} set idle_in_transaction_session_timeout = ${sql.unsafe(String(IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS))}`;
  const [{ database }] = await sql<[{ database: string }]>`select current_database() as database`;
  await sql`grant connect on database ${sql(database)} to ${name}`;
  await sql`grant usage on schema public to ${name}`;
  await sql`grant select, insert, update, delete on all tables in schema public to ${name}`;
  await sql`grant usage, select on all sequences in schema public to ${name}`;
  await sql`grant execute on all functions in schema public to ${name}`;
  await sql`alter default privileges in schema public grant select, insert, update, delete on tables to ${name}`;
  await sql`alter default privileges in schema public grant usage, select on sequences to ${name}`;
  await sql`alter default privileges in schema public grant execute on functions to ${name}`;
  for (const table of MIGRATION_TABLES) {
    const [{ present }] = await sql<[{ present: boolean }]>`select to_regclass(${table}) is not null as present`;
    if (present) await sql`revoke insert, update, delete, truncate on ${sql(table)} from ${name}`;
  }
}
