import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import shift from 'postgres-shift';
import { type AppRole, ensureAppRole } from './app-role.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/**
 * The migrations' identity: a hash of the .sql files' names and contents, in order. The deploy sends it to
 * the migrate function as the Migrations custom resource's property (infra/fresh-account.cjs computes the
 * same when it packages; tests/deploy/migrate-handler.test.ts keeps the two equal).
 */
export function migrationsHash(dir = MIGRATIONS_DIR): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort())
    hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

/** A migration file's content as recorded (line endings aside, so a Windows checkout reads the same). */
const fileChecksum = (path: string) => createHash('sha256').update(readFileSync(path, 'utf8').replaceAll('\r\n', '\n')).digest('hex');

/**
 * The checksums of `dir`'s migrations, checked against those recorded when they were applied here: an
 * applied migration is never run again, so an edit of its file would silently not reach this database. A
 * migration applied before checksums were recorded gets its file's now. Under the migration lock.
 */
async function checkAppliedMigrations(sql: postgres.Sql, dir: string): Promise<Map<number, { file: string; sha256: string }>> {
  const files = new Map(
    migrationFiles(dir).map((file) => [Number.parseInt(file.slice(0, 5), 10), { file, sha256: fileChecksum(join(dir, file)) }] as const),
  );
  // Created once (a run that only checks issues no DDL, which a role without CREATE could not).
  const [{ table } = { table: null }] = await sql<
    Array<{ table: string | null }>
  >`select to_regclass('migration_checksums')::text as table`;
  if (table === null) await sql`create table if not exists migration_checksums (migration_id int primary key, sha256 text not null)`;
  const applied = await appliedMigrations(sql);
  const recorded = new Map(
    (await sql<Array<{ id: number; sha256: string }>>`select migration_id as id, sha256 from migration_checksums`).map((row) => [
      row.id,
      row.sha256,
    ]),
  );
  // postgres-shift runs the files numbered after the last one applied: a number applied under another name (a
  // migration taken out of sql/ after it ran here, its number reused) would never run on this database.
  for (const { id, name } of applied) {
    const now = files.get(id);
    if (!now || name === null || name === shiftName(now.file)) continue;
    if (recorded.get(id) === now.sha256) {
      throw new Error(`migration ${now.file} was renamed after it was applied to this database (as "${name}"): give it back its name`);
    }
    throw new Error(
      `migration ${now.file}: this database applied migration ${id} as "${name}", so it would never run here: ` +
        `undo what that migration did and delete its record (delete from migrations where migration_id = ${id}), then migrate again`,
    );
  }
  for (const [id, sha256] of recorded) {
    const now = files.get(id);
    if (now && now.sha256 !== sha256) {
      throw new Error(
        `migration ${now.file} was edited after it was applied to this database, where it will not run again: ` +
          'restore it as it was, and make the change in a new migration (the next number)',
      );
    }
  }
  await recordChecksums(
    sql,
    files,
    applied.map((row) => row.id).filter((id) => !recorded.has(id)),
  );
  return files;
}

/** The migration files of `dir` (numbered as postgres-shift reads them), in order. */
function migrationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d{5}_/.test(name))
    .sort();
}

/** The name postgres-shift records for a migration file (its `migrations.name`). */
function shiftName(file: string): string {
  return file.slice(6).replace(/-/g, ' ');
}

async function recordChecksums(
  sql: postgres.Sql | postgres.TransactionSql,
  files: Map<number, { sha256: string }>,
  ids: number[],
): Promise<void> {
  const rows = ids.flatMap((id) => (files.has(id) ? [{ migration_id: id, sha256: files.get(id)!.sha256 }] : []));
  if (rows.length > 0) await sql`insert into migration_checksums ${sql(rows)} on conflict (migration_id) do nothing`;
}

/**
 * The files of `dir` not yet applied to the database `sql` is connected to, in order (all of them before the
 * first run). Reads only: any user that may read the migrations' record can ask, through a pooler too.
 */
export async function pendingMigrations(sql: postgres.Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const applied = new Set((await appliedMigrations(sql)).map((row) => row.id));
  return migrationFiles(dir).filter((file) => !applied.has(Number.parseInt(file.slice(0, 5), 10)));
}

/** postgres-shift's record of the migrations applied here (none before its first run made the table). */
async function appliedMigrations(sql: postgres.Sql): Promise<Array<{ id: number; name: string | null }>> {
  const [{ exists } = { exists: false }] = await sql<Array<{ exists: boolean }>>`select to_regclass('migrations') is not null as exists`;
  return exists ? await sql<Array<{ id: number; name: string | null }>>`select migration_id as id, name from migrations` : [];
}

// Any constant works; it only has to be the same for every process that migrates this database.
export const MIGRATION_LOCK_ID = 727_274_001;

export interface MigrateResult {
  applied: string[];
}

export interface MigrateOptions {
  /** The folder of numbered .sql files (default: this checkout's sql/; the migrate function ships its own copy). */
  dir?: string;
  /** How long a connection may take (default 5 s; the migrate function waits longer for RDS Proxy). */
  connectTimeoutSeconds?: number;
  /** How long a migration may wait for a table lock before its attempt gives up (default 3 s). */
  lockTimeoutMs?: number;
  /** Attempts when a migration could not get its locks in time (default 5, a second more between each). */
  attempts?: number;
  /**
   * Aborted by a caller that gives up (the deploy's deadline): the session is ended, so PostgreSQL rolls the
   * migration back and frees its locks now, not when a frozen Lambda's connection is finally reaped.
   */
  signal?: AbortSignal;
  /**
   * After the migrations, under the same lock: the login the functions connect as, created or updated with
   * the privileges they need and no more (shared/db/app-role.ts). The migrations' own user stays the owner.
   */
  appRole?: AppRole;
}

/** lock_not_available: a statement waited lock_timeout for a lock and gave up. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Creates the target database if it does not exist yet (connects to the `postgres` maintenance db). */
export async function ensureDatabase(databaseUrl: string, connectTimeoutSeconds = 5): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL has no database name');
  url.pathname = '/postgres';
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: connectTimeoutSeconds });
  try {
    const [existing] = await admin`select 1 from pg_database where datname = ${name}`;
    if (existing) return false;
    try {
      await admin`create database ${admin(name)}`;
    } catch (error) {
      // Two processes may race to create it: the loser sees duplicate_database (42P04) or, when both
      // passed the existence check, a unique violation on the catalog's name index.
      const { code, constraint_name } = error as { code?: string; constraint_name?: string };
      const alreadyExists = code === '42P04' || (code === '23505' && constraint_name === 'pg_database_datname_index');
      if (!alreadyExists) throw error;
      return false;
    }
    return true;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Applies pending forward-only migrations from sql/ with postgres-shift (by postgres.js's author):
 * numbered plain-SQL files, applied in order inside one transaction, each recorded in the
 * `migrations` table. We add what it lacks: a session advisory lock, so concurrent runners (parallel
 * test workers, two deploys) apply each migration exactly once.
 */
export async function migrate(
  databaseUrl: string,
  log: (line: string) => void = () => {},
  { dir = MIGRATIONS_DIR, connectTimeoutSeconds = 5, lockTimeoutMs = 3_000, attempts = 5, signal, appRole }: MigrateOptions = {},
): Promise<MigrateResult> {
  signal?.throwIfAborted();
  await ensureDatabase(databaseUrl, connectTimeoutSeconds);
  // One connection, so the advisory lock and the migration transaction share a session (behind RDS Proxy
  // the lock pins the session to one database connection, as it must).
  // Should that session end under the run (a failover, a pooler restart, a terminated backend), postgres.js
  // would carry on in a new one — without the advisory lock, lock_timeout or the idle timeouts: another
  // runner could enter, and a migration could wait on a table without bound. So a lost session stops the run,
  // and no statement of it reaches a new one. Never recycled for age: a runner may wait long for the lock.
  let sessionLost = false;
  let ending = false;
  const sql = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    connect_timeout: connectTimeoutSeconds,
    max_lifetime: 0,
    onclose: () => {
      if (ending || stopping) return;
      sessionLost = true;
      sql.end({ timeout: 0 }).catch(() => {});
    },
  });
  const sessionLostError = () =>
    new Error('the migration session ended under the run (and its advisory lock with it): stopped; run the migrations again');
  // A running statement does not read its connection, so closing it would only be seen once the statement is
  // over: the session is also terminated by the server, from a connection of its own. The run ends only once
  // that is done (a caller answering and then frozen must not leave the kill half-way).
  let backend: number | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const ended = sql.end({ timeout: 0 }); // and no new session for a later statement
      if (backend !== undefined) {
        const killer = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: connectTimeoutSeconds });
        await killer`select pg_terminate_backend(${backend})`.catch(() => {});
        await killer.end({ timeout: 1 });
      }
      await ended;
    })();
  };
  signal?.addEventListener('abort', stop, { once: true });
  const applied: string[] = [];
  try {
    // Should this process stop answering (a Lambda frozen after its deadline), PostgreSQL ends the session
    // itself, rolling back and freeing its locks, after a minute of silence from it (both longer than any
    // pause of ours: a retry waits at most a few seconds). Its pid read in the same statement: a session
    // setting pins the session behind RDS Proxy, so the pid is this session's for the whole run.
    [{ pid: backend } = { pid: undefined }] = await sql<Array<{ pid: number }>>`
      select pg_backend_pid() as pid,
        set_config('idle_in_transaction_session_timeout', '60s', false), set_config('idle_session_timeout', '60s', false)`;
    signal?.throwIfAborted();
    // Another runner may hold this lock for as long as its migrations take: wait for it without a bound.
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    try {
      // A migration that needs a table to itself (ALTER, DROP INDEX …) waits behind every transaction using
      // it, and every later query on that table waits behind the migration: the shop would stand still for
      // as long as the longest of them. Bounded by lock_timeout, an attempt gives up instead (its transaction
      // rolls back whole) and tries again a little later.
      await sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, false)`;
      const files = await checkAppliedMigrations(sql, dir);
      const appliedIds: number[] = [];
      // postgres-shift applies the pending migrations in one transaction (`sql.begin`); their checksums are
      // recorded in it too, so a migration is never applied without its checksum (a failure after the
      // commit would leave the next run to record whatever the file says by then).
      const recordingChecksums = new Proxy(sql, {
        get: (target, property, receiver) =>
          property === 'begin'
            ? (apply: (tx: postgres.TransactionSql) => Promise<unknown>) =>
                target.begin(async (tx) => {
                  await apply(tx);
                  await recordChecksums(tx, files, appliedIds);
                })
            : Reflect.get(target, property, receiver),
      });
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        const before = applied.length;
        try {
          await shift({
            sql: recordingChecksums,
            path: dir,
            before: ({ migration_id, name }: { migration_id: number; name: string }) => log(`applying migration ${migration_id}: ${name}`),
            after: ({ migration_id, name }: { migration_id: number; name: string }) => {
              applied.push(`${String(migration_id).padStart(5, '0')} ${name}`);
              appliedIds.push(migration_id);
            },
          });
          break;
        } catch (error) {
          if (sessionLost) throw sessionLostError();
          applied.length = before; // rolled back with the transaction
          appliedIds.length = before;
          if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE || attempt >= attempts) throw error;
          log(
            `a table the migrations need is in use (lock_timeout ${lockTimeoutMs} ms); attempt ${attempt + 1} of ${attempts} in ${attempt} s`,
          );
          await new Promise((resolve) => setTimeout(resolve, attempt * 1_000));
          if (sessionLost) throw sessionLostError();
        }
      }
      if (appRole) {
        signal?.throwIfAborted();
        // The migrations are committed by now: say so, or the next step would be to look for what they broke.
        await sql
          .begin((tx) => ensureAppRole(tx, appRole))
          .catch((error: Error) => {
            if (sessionLost) throw error;
            throw Object.assign(new Error(`the migrations are applied; the app role ${appRole.name} is not: ${error.message}`), {
              cause: error,
            });
          });
        log(`role ${appRole.name}: rows of the shop's tables, no DDL`);
      }
    } finally {
      if (!signal?.aborted && !sessionLost) await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
    }
  } catch (error) {
    throw sessionLost ? sessionLostError() : error;
  } finally {
    signal?.removeEventListener('abort', stop);
    await stopping;
    ending = true;
    await sql.end({ timeout: 5 });
  }
  return { applied };
}
