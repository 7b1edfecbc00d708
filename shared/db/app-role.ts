import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import {
  APP_ROLE_NAME_PATTERN,
  APP_ROLE_PASSWORD_PATTERN,
  APP_ROLE_PASSWORD_RULE,
  IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS,
} from './rules.js';

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
 * Why `name` cannot be made the functions' role, or null: it is the user running this, it has an attribute
 * beyond LOGIN (a role with those would keep them: only a superuser may take SUPERUSER away), it is a member
 * of another role (it has that role's rights too), or it owns something here (an owner may always alter and
 * drop what it owns, whatever is granted or revoked).
 */
async function unsuitable(sql: postgres.Sql | postgres.TransactionSql, name: string): Promise<string | null> {
  const [row] = await sql<Array<{ self: boolean; elevated: boolean; member: boolean; owns: boolean }>>`
    select r.rolname = current_user as self,
           r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolbypassrls or r.rolreplication as elevated,
           exists (select from pg_auth_members where member = r.oid) as member,
           exists (select from pg_class where relowner = r.oid) or exists (select from pg_namespace where nspowner = r.oid)
             or exists (select from pg_proc where proowner = r.oid) or exists (select from pg_database where datdba = r.oid) as owns
    from pg_roles r where r.rolname = ${name}`;
  if (!row) return null;
  if (row.self) return 'it is the user running the migrations';
  if (row.elevated) return 'it has SUPERUSER, CREATEDB, CREATEROLE, BYPASSRLS or REPLICATION';
  if (row.member) return 'it is a member of another role, whose rights it has';
  if (row.owns) return 'it owns a database, schema, table or function here';
  return null;
}

/**
 * Creates `role` (or sets its password) and gives it what the functions do and nothing more: rows of the
 * shop's tables (SELECT, INSERT, UPDATE, DELETE), USAGE and SELECT on its sequences, EXECUTE on its functions; no DDL,
 * no TRUNCATE, no ownership, so a request that went wrong cannot drop or alter a table, and cannot rewrite the
 * migrations' record. Tables later migrations create get the same through default privileges of the role
 * that runs the migrations (`sql`'s user, the owner of the schema's objects). Its settings are for this
 * database only. Idempotent; run under the migration lock. Refuses an existing role that could do more
 * (`unsuitable`): a role name is the whole server's, so it must be one made for this.
 */
export async function ensureAppRole(sql: postgres.Sql | postgres.TransactionSql, role: AppRole): Promise<void> {
  if (!APP_ROLE_NAME_PATTERN.test(role.name)) throw new Error(`app role name ${JSON.stringify(role.name)} is not a plain identifier`);
  if (!APP_ROLE_PASSWORD_PATTERN.test(role.password)) throw new Error(`the app role's password must be ${APP_ROLE_PASSWORD_RULE}`);
  const [{ exists }] = await sql<[{ exists: boolean }]>`select exists (select from pg_roles where rolname = ${role.name}) as exists`;
  const reason = exists ? await unsuitable(sql, role.name) : null;
  if (reason) throw new Error(`role ${role.name} cannot be the functions' login: ${reason}; name a role of its own`);
  // format(%I, %L) quotes on the server; what it quotes is the verifier, not the password. Attributes only at
  // creation: only a superuser may even restate NOSUPERUSER (Aurora's and RDS's master user is not one).
  const [{ statement }] = await sql<[{ statement: string }]>`
    select format(${exists ? 'alter role %I with login password %L' : 'create role %I with login nosuperuser nocreatedb nocreaterole password %L'},
                  ${role.name}::text, ${scramVerifier(role.password)}::text) as statement`;
  await sql.unsafe(statement);
  const roleId = sql(role.name);
  const [{ database }] = await sql<[{ database: string }]>`select current_database() as database`;
  const databaseId = sql(database);
  if (role.statementTimeoutMs !== undefined) {
    await sql`alter role ${roleId} in database ${databaseId} set statement_timeout = ${sql.unsafe(String(Math.trunc(role.statementTimeoutMs)))}`;
  }
  await sql`alter role ${roleId} in database ${databaseId} set idle_in_transaction_session_timeout = ${sql.unsafe(String(IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS))}`;
  // What an existing role was given before goes first (TRUNCATE, TRIGGER, CREATE…): it gets exactly this.
  await sql`revoke all on all tables in schema public from ${roleId}`;
  await sql`revoke all on all sequences in schema public from ${roleId}`;
  await sql`revoke all on all functions in schema public from ${roleId}`;
  await sql`revoke all on schema public from ${roleId}`;
  await sql`revoke all on database ${databaseId} from ${roleId}`;
  await sql`alter default privileges in schema public revoke all on tables from ${roleId}`;
  await sql`alter default privileges in schema public revoke all on sequences from ${roleId}`;
  await sql`alter default privileges in schema public revoke all on functions from ${roleId}`;
  await sql`grant connect on database ${databaseId} to ${roleId}`;
  await sql`grant usage on schema public to ${roleId}`;
  await sql`grant select, insert, update, delete on all tables in schema public to ${roleId}`;
  await sql`grant usage, select on all sequences in schema public to ${roleId}`;
  await sql`grant execute on all functions in schema public to ${roleId}`;
  await sql`alter default privileges in schema public grant select, insert, update, delete on tables to ${roleId}`;
  await sql`alter default privileges in schema public grant usage, select on sequences to ${roleId}`;
  await sql`alter default privileges in schema public grant execute on functions to ${roleId}`;
  for (const table of MIGRATION_TABLES) {
    const [{ present }] = await sql<[{ present: boolean }]>`select to_regclass(${table}) is not null as present`;
    if (present) await sql`revoke insert, update, delete, truncate on ${sql(table)} from ${roleId}`;
  }
}
