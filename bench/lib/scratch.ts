/**
 * Scratch databases for benchmarks. Every benchmark database is named shop_bench or shop_bench_<x>;
 * anything else (the dev database `shop`, the tests' `shop_test`, …) is refused before a statement
 * runs, so no benchmark can ever drop or fill a database someone uses.
 */
import postgres from 'postgres';
import { withDatabase } from '../../scripts/lib/env.js';

const SCRATCH = /^shop_bench(_[a-z0-9_]+)?$/;

export function assertScratchName(database: string): void {
  if (!SCRATCH.test(database)) {
    throw new Error(`refusing to use database "${database}" for a benchmark: scratch databases are named shop_bench or shop_bench_<name>`);
  }
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The URL of scratch database `database` on the same server as `baseUrl`. */
export function scratchUrl(baseUrl: string, database: string): string {
  assertScratchName(database);
  return withDatabase(baseUrl, database);
}

/** Retries `fn` while the server answers "too many clients" (53300): a shared machine, others benchmark too. */
export async function whenConnectionFree<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if ((error as { code?: string }).code !== '53300' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

export async function withAdmin<T>(baseUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  return whenConnectionFree(async () => {
    const sql = postgres(withDatabase(baseUrl, 'postgres'), { max: 1, onnotice: () => {} });
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
}

export async function dropScratch(baseUrl: string, database: string): Promise<void> {
  assertScratchName(database);
  await withAdmin(baseUrl, (sql) => sql.unsafe(`drop database if exists "${database}" with (force)`));
}

export async function createScratch(baseUrl: string, database: string, options: { recreate?: boolean } = {}): Promise<void> {
  assertScratchName(database);
  await withAdmin(baseUrl, async (sql) => {
    if (options.recreate) await sql.unsafe(`drop database if exists "${database}" with (force)`);
    const [exists] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!exists) await sql.unsafe(`create database "${database}"`);
  });
}

/** Connections still free for ordinary roles on the server. */
export async function freeConnections(baseUrl: string): Promise<number> {
  return withAdmin(baseUrl, async (sql) => {
    const [row] = await sql<Array<{ free: number }>>`
      select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
             - (select count(*) from pg_stat_activity)::int as free`;
    return row!.free;
  });
}
