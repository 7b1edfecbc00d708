import postgres from 'postgres';
import { withDatabase } from '../../scripts/lib/env.js';

export const SHOP_TABLES = ['customers', 'products', 'orders', 'order_items'] as const;

/** The test database (shop_test, from tests/setup/test-env.ts), never the dev one. */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url || !new URL(url).pathname.endsWith('_test')) throw new Error(`tests need DATABASE_URL on a *_test database, got ${url}`);
  return url;
}

/** A small client for assertions; int8 as JS numbers. */
export function connect(databaseUrl = testDatabaseUrl()): postgres.Sql {
  return postgres(databaseUrl, {
    max: 2,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
    },
  }) as unknown as postgres.Sql;
}

/** Empties the shop tables (and what references them), identities restarted. */
export async function truncateShop(sql: postgres.Sql): Promise<void> {
  await sql`truncate order_items, orders, products, customers restart identity cascade`;
}

/** A throwaway database name next to the test database. */
export function scratchDatabaseUrl(suffix: string): string {
  return withDatabase(testDatabaseUrl(), `shop_test_${suffix}_${process.pid}`);
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const admin = postgres(withDatabase(databaseUrl, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Drops the test database and the scratch databases next to it (`<name>_*`), so a run starts from
 * nothing: a run that was killed (Ctrl-C, a machine restart) can leave rows, scratch databases or a
 * test's temporary constraint behind, and the next run must not inherit them.
 */
export async function dropTestDatabases(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name.endsWith('_test')) throw new Error(`refusing to drop ${name}: not a *_test database`);
  const admin = postgres(withDatabase(databaseUrl, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<Array<{ datname: string }>>`
      select datname from pg_database where datname = ${name} or starts_with(datname, ${`${name}_`})`;
    for (const { datname } of rows) await admin.unsafe(`drop database if exists "${datname.replace(/"/g, '""')}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** md5 over every column of every row of the shop tables, in id order: equal ⇔ identical data. */
export async function shopDigest(sql: postgres.Sql): Promise<Record<string, string>> {
  const [row] = await sql<Array<Record<string, string>>>`
    select
      (select coalesce(md5(string_agg(t::text, E'\\n' order by t.customer_id)), '') from customers t) as customers,
      (select coalesce(md5(string_agg(t::text, E'\\n' order by t.product_id)), '') from products t) as products,
      (select coalesce(md5(string_agg(t::text, E'\\n' order by t.order_id)), '') from orders t) as orders,
      (select coalesce(md5(string_agg(t::text, E'\\n' order by t.item_id)), '') from order_items t) as order_items`;
  return row!;
}

export async function rowCounts(sql: postgres.Sql): Promise<Record<string, number>> {
  const [row] = await sql<Array<Record<string, number>>>`
    select (select count(*) from customers)::int as customers, (select count(*) from products)::int as products,
           (select count(*) from orders)::int as orders, (select count(*) from order_items)::int as order_items`;
  return row!;
}

/**
 * Catalog snapshot (constraints on or referencing the tables, their indexes) used by tests to prove a
 * load leaves the schema exactly as the migrations made it.
 */
export async function schemaFingerprint(sql: postgres.Sql, tables: readonly string[]): Promise<string[]> {
  const rows = await sql<Array<{ line: string }>>`
    select c.conrelid::regclass::text || ' constraint ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
           || case when c.convalidated then '' else ' NOT VALIDATED' end as line
    from pg_constraint c
    where c.conrelid = any(${tables as string[]}::regclass[]) or c.confrelid = any(${tables as string[]}::regclass[])
    union all
    select 'index ' || pg_get_indexdef(i.indexrelid) || case when i.indisvalid then '' else ' INVALID' end
    from pg_index i where i.indrelid = any(${tables as string[]}::regclass[])
    order by 1`;
  return rows.map((row) => row.line);
}
