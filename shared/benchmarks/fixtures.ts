import type { Sql } from '../clients/postgres.js';

/**
 * Benchmark fixtures, generated with SQL (generate_series + integer hashing: fast and deterministic)
 * in their own schema. Nothing here reads or writes the live tables: every statement names a
 * `bench.` relation (see `benchTable`), and the only use of the live schema is reading its catalog
 * to clone table *definitions* for the orders suite.
 *
 * The read-only fixtures (B-tree, GIN, cache) are UNLOGGED: they load about twice as fast, write no
 * WAL and never reach a replica, and a query reads an unlogged table exactly like a logged one. The
 * orders suite's shop is logged, because a commit's WAL flush is part of what an order costs.
 */
export const BENCH_SCHEMA = 'bench';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** `bench.<name>`, refusing anything that is not a plain lower-case identifier. */
export function benchTable(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid benchmark relation name: ${name}`);
  return `${BENCH_SCHEMA}.${name}`;
}

/** Drops and recreates the benchmark schema (fixtures of an earlier, interrupted run included). */
export async function resetBenchSchema(sql: Sql): Promise<void> {
  await sql.unsafe(`drop schema if exists ${BENCH_SCHEMA} cascade`);
  await sql.unsafe(`create schema ${BENCH_SCHEMA}`);
}

export async function dropBenchSchema(sql: Sql): Promise<void> {
  await sql.unsafe(`drop schema if exists ${BENCH_SCHEMA} cascade`);
}

/** VACUUM (ANALYZE): sets hint bits and the visibility map, as autovacuum would have on a live table. */
export async function vacuumAnalyze(sql: Sql, table: string): Promise<void> {
  await sql.unsafe(`vacuum (analyze) ${table}`);
}

/** Bytes on disk of a relation (table or index). */
export async function relationSize(sql: Sql, relation: string): Promise<number> {
  const [row] = await sql<Array<{ bytes: number }>>`select pg_relation_size(${relation}::regclass) as bytes`;
  return Number(row?.bytes ?? 0);
}

/** A uniform-ish value in [0, 1) from an integer column, by hashing (hashint4 is stable across versions). */
const hashUnit = (expression: string) => `((hashint4(${expression}) & 2147483647)::float8 / 2147483648)`;

// ---------------------------------------------------------------------------------------------------
// B-tree: orders(customer_id, order_date, total_amount), ~10 orders per customer over two years.

export function btreeTableName(rows: number): string {
  return benchTable(`bt_orders_${rows}`);
}

export async function buildBtreeOrders(sql: Sql, rows: number, customers: number): Promise<string> {
  const table = btreeTableName(rows);
  await sql.unsafe(`
    create unlogged table ${table} (
      order_id      bigint not null,
      customer_id   integer not null,
      order_date    timestamptz not null,
      total_amount  numeric(12, 2) not null
    )`);
  await sql.unsafe(`
    insert into ${table} (order_id, customer_id, order_date, total_amount)
    select g,
           1 + (hashint4(g) & 2147483647) % ${customers},
           timestamptz '2026-01-01 00:00:00+00' - (hashint4(g + 7) & 65535) * interval '16 minutes',
           ((hashint4(g + 13) & 2147483647) % 50000 + 500) / 100.0
    from generate_series(1, ${rows}) g`);
  await sql.unsafe(`alter table ${table} add primary key (order_id)`);
  await vacuumAnalyze(sql, table);
  return table;
}

// ---------------------------------------------------------------------------------------------------
// GIN: products with realistic JSONB metadata (~190 bytes: brand, category, colour, size, stock flag,
// rating, sku, tags) built so that each probe matches an exact share of the rows.

/** The containment probe for each target selectivity (see the colour bands in buildGinProducts). */
export const GIN_PROBES: Record<string, Record<string, unknown>> = {
  '0.001': { brand: 'brand-0000' },
  '0.01': { color: 'teal' },
  '0.02': { color: 'navy' },
  '0.05': { color: 'red' },
  '0.1': { color: 'green' },
  '0.2': { color: 'black' },
  '0.5': { in_stock: true },
};

export function ginProbe(selectivity: number): Record<string, unknown> {
  const probe = GIN_PROBES[String(selectivity)];
  if (!probe) throw new Error(`no GIN probe for selectivity ${selectivity}`);
  return probe;
}

export function ginTableName(rows: number): string {
  return benchTable(`gin_products_${rows}`);
}

/**
 * r1..r4 are permutations of 0..n-1 scaled to [0, 1): (g * P) mod n with a prime P > n is a bijection
 * on 1..n, so "r < s" holds for exactly ceil(s * n) rows, spread evenly over the table's pages.
 */
export async function buildGinProducts(sql: Sql, rows: number): Promise<string> {
  const table = ginTableName(rows);
  const permutation = (prime: number) => `((g::bigint * ${prime}) % ${rows})::float8 / ${rows}`;
  await sql.unsafe(`
    create unlogged table ${table} (
      product_id  integer not null,
      name        text not null,
      price       numeric(12, 2) not null,
      metadata    jsonb not null
    )`);
  await sql.unsafe(`
    insert into ${table} (product_id, name, price, metadata)
    select g, 'Product ' || g, 5 + (g % 500) + 0.99,
      jsonb_build_object(
        'brand', 'brand-' || lpad(floor(r1 * 1000)::int::text, 4, '0'),
        'category', 'category-' || lpad(floor(r4 * 40)::int::text, 2, '0'),
        'color', case when r2 < 0.01 then 'teal' when r2 < 0.03 then 'navy' when r2 < 0.08 then 'red'
                      when r2 < 0.18 then 'green' when r2 < 0.38 then 'black' when r2 < 0.69 then 'white'
                      else 'grey' end,
        'in_stock', r3 < 0.5,
        'size', (array['XS', 'S', 'M', 'L', 'XL'])[1 + g % 5],
        'rating', round((1 + r4 * 4)::numeric, 1),
        'sku', 'SKU-' || lpad(g::text, 8, '0'),
        'tags', jsonb_build_array('tag-' || (g % 97), 'tag-' || (g % 89)))
    from generate_series(1, ${rows}) g,
         lateral (select ${permutation(1_000_003)} as r1, ${permutation(1_000_033)} as r2,
                         ${permutation(1_000_037)} as r3, ${permutation(1_000_039)} as r4) r`);
  await sql.unsafe(`alter table ${table} add primary key (product_id)`);
  await vacuumAnalyze(sql, table);
  return table;
}

// ---------------------------------------------------------------------------------------------------
// Cache: the top-products aggregate's inputs, order lines skewed towards low product ids (r² law).

export const AGG_PRODUCTS = benchTable('agg_products');
export const AGG_ORDER_ITEMS = benchTable('agg_order_items');

export async function buildAggregateFixture(sql: Sql, orderItems: number, products: number): Promise<void> {
  await sql.unsafe(`
    create unlogged table ${AGG_PRODUCTS} (
      product_id  integer primary key,
      name        text not null,
      price       numeric(12, 2) not null
    )`);
  await sql.unsafe(`
    insert into ${AGG_PRODUCTS} select g, 'Product ' || g, 10.99 + g % 90 from generate_series(1, ${products}) g`);
  await sql.unsafe(`
    create unlogged table ${AGG_ORDER_ITEMS} (
      order_id    bigint not null,
      product_id  integer not null,
      quantity    integer not null,
      unit_price  numeric(12, 2) not null
    )`);
  await sql.unsafe(`
    insert into ${AGG_ORDER_ITEMS} (order_id, product_id, quantity, unit_price)
    select (g + 1) / 2, pid, 1 + (hashint4(g + 11) & 2147483647) % 3, 10.99 + pid % 90
    from (select g, 1 + floor(${products} * power(${hashUnit('g')}, 2))::int as pid
          from generate_series(1, ${orderItems}) g) s`);
  // The live order_items has this index too; the planner may use it for the aggregate.
  await sql.unsafe(`create index agg_order_items_product_id_idx on ${AGG_ORDER_ITEMS} (product_id)`);
  await vacuumAnalyze(sql, AGG_PRODUCTS);
  await vacuumAnalyze(sql, AGG_ORDER_ITEMS);
}

/** Top products by units sold: the same statement shape as the app's cache-miss path (top-products.ts). */
export const TOP_PRODUCTS_QUERY = `
  select p.product_id as "productId", p.name, s.units::int as "unitsSold", s.revenue::text as revenue
  from (
    select oi.product_id, sum(oi.quantity) as units, sum(oi.quantity * oi.unit_price) as revenue
    from ${AGG_ORDER_ITEMS} oi
    group by oi.product_id
    order by units desc, oi.product_id
    limit 10
  ) s
  join ${AGG_PRODUCTS} p using (product_id)
  order by s.units desc, p.product_id`;

// ---------------------------------------------------------------------------------------------------
// Orders: a copy of the live schema's table definitions in `bench`, for the real createOrder to run
// against with search_path=bench.

/** Live tables that are bookkeeping, not shop data: never cloned. */
const NOT_CLONED = new Set(['migrations', 'migration_checksums', 'benchmark_runs']);

export interface ClonedShop {
  tables: string[];
  foreignKeys: number;
  functions: string[];
}

/**
 * Creates, in `bench`, an empty copy of every table of the live schema (`LIKE … INCLUDING ALL`:
 * columns, defaults, identity, CHECK constraints, indexes) plus its foreign keys, so whatever the
 * migrations define today (an idempotency table, a new column) is what createOrder finds. Only the
 * catalog of `public` is read. Triggers are not copied.
 */
export async function cloneShopTables(sql: Sql): Promise<ClonedShop> {
  return sql.begin(async (tx) => {
    const tables = (
      await tx<Array<{ name: string }>>`
        select c.relname as name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')
        order by c.relname`
    )
      .map((row) => row.name)
      .filter((name) => !NOT_CLONED.has(name) && IDENTIFIER.test(name));
    for (const name of tables) {
      await tx.unsafe(`create table ${benchTable(name)} (like public.${name} including all)`);
    }
    // Foreign-key definitions printed with search_path=public name their targets unqualified; they are
    // then re-created with search_path=bench, so they point at the bench copies, never at live tables.
    await tx.unsafe('set local search_path = public');
    const foreignKeys = await tx<Array<{ table: string; target: string; name: string; definition: string }>>`
      select c.conrelid::regclass::text as table, c.confrelid::regclass::text as target,
             quote_ident(c.conname) as name, pg_get_constraintdef(c.oid) as definition
      from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = 'public' and c.contype = 'f'
      order by 1, 2`;
    await tx.unsafe(`set local search_path = ${BENCH_SCHEMA}`);
    let added = 0;
    for (const fk of foreignKeys) {
      if (!tables.includes(fk.table) || !tables.includes(fk.target)) continue;
      await tx.unsafe(`alter table ${benchTable(fk.table)} add constraint ${fk.name} ${fk.definition}`);
      added += 1;
    }
    // A default such as nextval('public.some_seq') would make bench inserts advance a live sequence.
    const unsafeDefaults = await tx<Array<{ column: string }>>`
      select c.relname || '.' || a.attname as column
      from pg_attrdef d
      join pg_class c on c.oid = d.adrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
      where n.nspname = ${BENCH_SCHEMA} and pg_get_expr(d.adbin, d.adrelid) ~ 'nextval|public\\.'`;
    if (unsafeDefaults.length > 0) {
      throw new Error(
        `cannot clone the shop safely: column default(s) refer to live objects (${unsafeDefaults.map((row) => row.column).join(', ')})`,
      );
    }
    // The shop's functions (place_order) too: createOrder calls them unqualified, and their bodies name
    // tables unqualified, which then resolve to the copies through the bench search_path.
    const functions = await tx<Array<{ name: string; definition: string }>>`
      select p.proname as name, pg_get_functiondef(p.oid) as definition
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prokind = 'f'`;
    for (const fn of functions) {
      const copy = fn.definition.replace(/^CREATE OR REPLACE FUNCTION public\./, `CREATE FUNCTION ${BENCH_SCHEMA}.`);
      if (/public\./.test(copy)) throw new Error(`cannot clone the shop safely: function ${fn.name} refers to live objects`);
      await tx.unsafe(copy);
    }
    return { tables, foreignKeys: added, functions: functions.map((fn) => fn.name) };
  });
}

/** Fills the cloned shop: customers and products with ample stock (orders start empty). */
export async function loadShop(sql: Sql, customers: number, products: number): Promise<void> {
  await sql.unsafe(`
    insert into ${benchTable('customers')} (name, email)
    select 'Bench customer ' || g, 'bench-customer-' || g || '@example.test' from generate_series(1, ${customers}) g`);
  await sql.unsafe(`
    insert into ${benchTable('products')} (name, price, stock_quantity, metadata)
    select 'Bench product ' || g, 5.99 + g % 200, 10000000,
           jsonb_build_object('category', 'category-' || (g % 40), 'brand', 'brand-' || (g % 1000))
    from generate_series(1, ${products}) g`);
  await vacuumAnalyze(sql, benchTable('customers'));
  await vacuumAnalyze(sql, benchTable('products'));
}
