import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../scripts/lib/env.js';
import { ensureDatabase, MIGRATION_LOCK_ID, MIGRATIONS_DIR, migrate } from '../../shared/db/migrate.js';
import { dropDatabase, SHOP_TABLES, schemaFingerprint, scratchDatabaseUrl } from './helpers.js';

/** Migrations on a database of their own, created (by migrate) and dropped here. */
const url = scratchDatabaseUrl('migrations');
const migrationFiles = readdirSync(MIGRATIONS_DIR).filter((name) => /^\d{5}_.+\.sql$/.test(name));
let sql: postgres.Sql;

/** A folder holding this checkout's migrations and one more, the next number, `name` holding `text`. */
function migrationsAndOneMore(name: string, text: string): { dir: string; next: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const file of migrationFiles) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
  const next = String(migrationFiles.length + 1).padStart(5, '0');
  const file = join(dir, `${next}_${name}`);
  writeFileSync(file, text);
  return { dir, next, file };
}

/**
 * ACCESS SHARE on orders, taken by a transaction of its own before the migration starts and kept until
 * `release` (no fixed times: a slow machine must not let the migration through by outlasting the holder).
 */
async function holdingOrders(databaseUrl: string): Promise<{ held: Promise<unknown>; release: () => void; end: () => Promise<void> }> {
  const holder = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let release = () => {};
  let locked = () => {};
  const lockTaken = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const held = holder.begin(async (tx) => {
    await tx`select count(*) from orders`;
    locked();
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  held.catch(() => {}); // awaited by the test; a failure here must not leave it unhandled
  await Promise.race([lockTaken, held]); // a holder that failed says why
  return {
    held,
    release: () => release(),
    end: async () => {
      release();
      await holder.end({ timeout: 5 });
    },
  };
}

beforeAll(async () => {
  await dropDatabase(url);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await dropDatabase(url);
});

describe('migrations', () => {
  it('create the missing database and apply every migration in order', async () => {
    const { applied } = await migrate(url);
    expect(applied).toHaveLength(migrationFiles.length);
    expect(applied.map((line) => line.slice(0, 5))).toEqual(migrationFiles.map((name) => name.slice(0, 5)));
    sql = postgres(url, { max: 1, onnotice: () => {} });
    const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from migrations`;
    expect(row?.count).toBe(migrationFiles.length);
  });

  it('create the shop tables with their columns, keys and money/time types', async () => {
    const columns = await sql<Array<{ table: string; column: string; type: string; nullable: string }>>`
      select table_name as table, column_name as column, data_type as type, is_nullable as nullable
      from information_schema.columns
      where table_schema = 'public' and table_name in ('customers', 'products', 'orders', 'order_items')`;
    const type = (table: string, column: string) => columns.find((c) => c.table === table && c.column === column);
    for (const [table, column] of [
      ['products', 'price'],
      ['orders', 'total_amount'],
      ['order_items', 'unit_price'],
    ] as const) {
      expect(type(table, column)).toMatchObject({ type: 'numeric', nullable: 'NO' });
    }
    expect(type('orders', 'order_date')).toMatchObject({ type: 'timestamp with time zone', nullable: 'NO' });
    expect(type('products', 'metadata')).toMatchObject({ type: 'jsonb', nullable: 'NO' });
    expect(type('order_items', 'quantity')).toMatchObject({ nullable: 'NO' });
    const [precision] = await sql<Array<{ precision: number; scale: number }>>`
      select numeric_precision as precision, numeric_scale as scale from information_schema.columns
      where table_name = 'products' and column_name = 'price'`;
    expect(precision).toEqual({ precision: 12, scale: 2 });
  });

  it('create the indexes the queries rely on', async () => {
    const indexes = await sql<Array<{ name: string; definition: string }>>`
      select indexname as name, indexdef as definition from pg_indexes where schemaname = 'public'`;
    const def = (name: string) => indexes.find((i) => i.name === name)?.definition ?? `missing index ${name}`;
    expect(def('customers_email_key')).toMatch(/UNIQUE INDEX .* \(lower\(email\)\)/);
    expect(def('products_metadata_idx')).toMatch(/USING gin \(metadata jsonb_path_ops\)/);
    expect(def('orders_customer_id_idx')).toMatch(/btree \(customer_id, order_date DESC, order_id DESC\)/);
    expect(def('orders_order_date_idx')).toMatch(/btree \(order_date\)/);
    expect(def('order_items_order_product_key')).toMatch(/UNIQUE INDEX .* \(order_id, product_id\)/);
    expect(def('order_items_product_id_idx')).toMatch(/btree \(product_id\)/);
  });

  it('create the foreign keys and CHECK constraints', async () => {
    const constraints = await sql<Array<{ table: string; definition: string }>>`
      select conrelid::regclass::text as table, pg_get_constraintdef(oid) as definition
      from pg_constraint where conrelid = any(${SHOP_TABLES as unknown as string[]}::regclass[])`;
    const defs = (table: string) => constraints.filter((c) => c.table === table).map((c) => c.definition);
    expect(defs('orders')).toContain('FOREIGN KEY (customer_id) REFERENCES customers(customer_id)');
    expect(defs('order_items')).toEqual(
      expect.arrayContaining([
        'FOREIGN KEY (order_id) REFERENCES orders(order_id) ON DELETE CASCADE',
        'FOREIGN KEY (product_id) REFERENCES products(product_id)',
        'CHECK ((quantity > 0))',
        'CHECK ((unit_price >= (0)::numeric))',
      ]),
    );
    expect(defs('products')).toEqual(expect.arrayContaining(['CHECK ((price >= (0)::numeric))', 'CHECK ((stock_quantity >= 0))']));
  });

  it('are a no-op on a migrated database (nothing applied, schema unchanged)', async () => {
    const before = await schemaFingerprint(sql, SHOP_TABLES);
    const { applied } = await migrate(url);
    expect(applied).toEqual([]);
    expect(await schemaFingerprint(sql, SHOP_TABLES)).toEqual(before);
    const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from migrations`;
    expect(row?.count).toBe(migrationFiles.length);
  });

  it('apply each migration once when several runners start together (advisory lock)', async () => {
    await sql.end({ timeout: 5 });
    await dropDatabase(url);
    await ensureDatabase(url);
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, migrationFiles.length]);
    sql = postgres(url, { max: 1, onnotice: () => {} });
    const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from migrations`;
    expect(row?.count).toBe(migrationFiles.length);
  });

  it('create the database once when several runners start together on a fresh server', async () => {
    await sql.end({ timeout: 5 });
    await dropDatabase(url);
    // Concurrent CREATE DATABASE: the loser fails with 42P04 or, as often, with 23505 on
    // pg_database_datname_index; either way every runner must end up on the one database.
    const created = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);
    expect(created.filter(Boolean).length).toBeLessThanOrEqual(1);
    const results = await Promise.all([migrate(url), migrate(url)]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, migrationFiles.length]);
    sql = postgres(url, { max: 1, onnotice: () => {} });
  });

  it('give up on a table another transaction holds, after a bounded wait, instead of queueing every query behind them', async () => {
    // This checkout's migrations plus one that needs orders to itself (ACCESS EXCLUSIVE).
    const { dir, next } = migrationsAndOneMore('needs_orders_alone.sql', 'alter table orders add column lock_probe int;\n');
    const orders = await holdingOrders(url);
    try {
      const started = Date.now();
      const failed = await migrate(url, () => {}, { dir, lockTimeoutMs: 300, attempts: 3 }).catch((error: unknown) => error);
      expect(failed).toMatchObject({ code: '55P03' });
      // Three attempts of 0.3 s with 1 s and 2 s between them: bounded, whatever else the machine does.
      expect(Date.now() - started).toBeLessThan(20_000);
      // Nothing of it stayed: the migration's transaction rolled back whole.
      const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from migrations`;
      expect(row?.count).toBe(migrationFiles.length);
      orders.release();
      await orders.held;
      // Once the table is free, the next run applies it.
      expect((await migrate(url, () => {}, { dir })).applied).toEqual([`${next} needs_orders_alone.sql`]);
    } finally {
      await orders.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop when their session ends under them (a failover), rather than carry on in a new one without the lock and its limits', async () => {
    const own = scratchDatabaseUrl('migrations_session_lost');
    await dropDatabase(own);
    await migrate(own);
    const { dir, next } = migrationsAndOneMore('needs_orders_alone.sql', 'alter table orders add column lost_probe int;\n');
    const watcher = postgres(own, { max: 1, onnotice: () => {} });
    const orders = await holdingOrders(own);
    try {
      // While the runner waits to try again, its session is ended, as a failover or a pooler restart would.
      let terminated: Promise<unknown> | undefined;
      const log = (line: string) => {
        if (!terminated && /attempt 2 of/.test(line)) {
          terminated = watcher`
            select pg_terminate_backend(pid) from pg_locks
            where locktype = 'advisory' and classid = 0 and objid = ${MIGRATION_LOCK_ID}::bigint::oid and granted`.then((rows) => rows);
        }
      };
      const outcome = await Promise.race([
        migrate(own, log, { dir, lockTimeoutMs: 300, attempts: 3 }).catch((error: unknown) => error),
        new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000)),
      ]);
      expect(await terminated).toHaveLength(1);
      expect(String((outcome as Error).message ?? outcome)).toMatch(/session ended under the run/);
      const [row] = await watcher<Array<{ count: number }>>`select count(*)::int as count from migrations`;
      expect(row?.count).toBe(migrationFiles.length);
      orders.release();
      await orders.held;
      expect((await migrate(own, () => {}, { dir })).applied).toEqual([`${next} needs_orders_alone.sql`]);
    } finally {
      await orders.end();
      await watcher.end({ timeout: 5 });
      rmSync(dir, { recursive: true, force: true });
      await dropDatabase(own);
    }
  });

  it('record a migration’s checksum in the transaction that applies it: a run that fails after the migration never leaves it applied without one', async () => {
    const own = scratchDatabaseUrl('migrations_checksum_tx');
    await dropDatabase(own);
    await migrate(own);
    const { dir, next, file } = migrationsAndOneMore('slow_probe.sql', 'create table checksum_probe (id int);\nselect pg_sleep(1);\n');
    const holder = postgres(own, { max: 1, onnotice: () => {} });
    let release = () => {};
    let held: Promise<unknown> | undefined;
    try {
      // While the migration runs, the checksum table is taken (SHARE: no insert) until the first attempt gave up.
      const log = (line: string) => {
        if (!held && line.startsWith(`applying migration ${Number(next)}:`)) {
          held = holder.begin(async (tx) => {
            await tx`lock table migration_checksums in share mode`;
            await new Promise<void>((resolve) => {
              release = resolve;
            });
          });
          held.catch(() => {});
        }
        if (/attempt 2 of/.test(line)) release();
      };
      const { applied } = await migrate(own, log, { dir, lockTimeoutMs: 300, attempts: 3 });
      await held;
      expect(applied).toEqual([`${next} slow_probe.sql`]);
      // Its checksum was recorded with it: an edit of the applied file is caught.
      writeFileSync(file, 'create table checksum_probe (id int, edited int);\nselect pg_sleep(1);\n');
      await expect(migrate(own, () => {}, { dir })).rejects.toThrow(/was edited after it was applied/);
    } finally {
      release();
      await holder.end({ timeout: 5 });
      rmSync(dir, { recursive: true, force: true });
      await dropDatabase(own);
    }
  });

  it('refuse a migration whose number this database applied under another name (a migration removed after it ran): it would never run here', async () => {
    const own = scratchDatabaseUrl('migrations_renumbered');
    await dropDatabase(own);
    await migrate(own);
    const next = String(migrationFiles.length + 1).padStart(5, '0');
    const applied = postgres(own, { max: 1, onnotice: () => {} });
    const { dir } = migrationsAndOneMore('new_feature.sql', 'create table renumbered_probe (id int);\n');
    try {
      // As a version whose migration of that number was later taken out of sql/ left it.
      await applied`insert into migrations (migration_id, name) values (${Number(next)}, 'products metadata statistics.sql')`;
      await expect(migrate(own, () => {}, { dir })).rejects.toThrow(
        new RegExp(
          `migration ${next}_new_feature\\.sql: this database applied migration ${Number(next)} as "products metadata statistics\\.sql"`,
        ),
      );
      // An applied file that was only renamed (same contents) is told to take its name back, not to be undone.
      const last = migrationFiles.at(-1)!;
      rmSync(join(dir, `${next}_new_feature.sql`));
      rmSync(join(dir, last));
      copyFileSync(join(MIGRATIONS_DIR, last), join(dir, last.replace('.sql', '_renamed.sql')));
      await applied`delete from migrations where migration_id = ${Number(next)}`;
      await expect(migrate(own, () => {}, { dir })).rejects.toThrow(
        /was renamed after it was applied to this database .*give it back its name/,
      );
      const [{ table }] = await applied<[{ table: string | null }]>`select to_regclass('renumbered_probe')::text as table`;
      expect(table).toBeNull();
    } finally {
      await applied.end({ timeout: 5 });
      rmSync(dir, { recursive: true, force: true });
      await dropDatabase(own);
    }
  });

  it('stopped by its caller (a deploy’s deadline), end their session: the migration rolls back and its locks are freed at once', async () => {
    const own = scratchDatabaseUrl('migrations_stopped');
    await dropDatabase(own);
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    const watcher = postgres(withDatabase(own, 'postgres'), { max: 1, onnotice: () => {} });
    try {
      for (const file of migrationFiles) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
      const next = String(migrationFiles.length + 1).padStart(5, '0');
      writeFileSync(join(dir, `${next}_slow.sql`), 'alter table orders add column slow_probe int;\nselect pg_sleep(30);\n');
      const database = new URL(own).pathname.slice(1);
      const held = async () =>
        (await watcher`select 1 from pg_locks l join pg_database d on d.oid = l.database where d.datname = ${database}`).length;
      const controller = new AbortController();
      const running = migrate(own, () => {}, { dir, signal: controller.signal }).catch((error: unknown) => error);
      // Once the slow migration runs (its session holds the migration lock and the tables it created), the caller gives up.
      await expect
        .poll(
          async () => (await watcher`select 1 from pg_stat_activity where datname = ${database} and query like '%pg_sleep(30)%'`).length,
          { timeout: 15_000 },
        )
        .toBe(1);
      const stopped = Date.now();
      controller.abort(new Error('deadline'));
      expect(await running).toBeInstanceOf(Error);
      // The session is gone with everything it held.
      await expect.poll(held, { timeout: 5_000 }).toBe(0);
      expect(Date.now() - stopped).toBeLessThan(5_000);
      const check = postgres(own, { max: 1, onnotice: () => {} });
      const [row] = await check<Array<{ tables: number }>>`select count(*)::int as tables from pg_tables where tablename = 'orders'`;
      await check.end();
      expect(row?.tables).toBe(0);
    } finally {
      await watcher.end();
      rmSync(dir, { recursive: true, force: true });
      await dropDatabase(own);
    }
  });

  it('refuse to run when a migration applied here was edited since, and say to add a new one instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    try {
      for (const file of migrationFiles) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
      // Applied here, then edited: the database keeps the old definition whatever the file says now.
      const edited = migrationFiles.at(-1)!;
      writeFileSync(join(dir, edited), `${readFileSync(join(dir, edited), 'utf8')}\ncomment on table orders is 'edited';\n`);
      const count = async () => (await sql<Array<{ count: number }>>`select count(*)::int as count from migrations`)[0]!.count;
      const before = await count();
      await expect(migrate(url, () => {}, { dir })).rejects.toThrow(new RegExp(`${edited}.*was edited after it was applied`));
      expect(await count()).toBe(before);
      // The files as they were applied: nothing to do, no complaint.
      expect((await migrate(url)).applied).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
