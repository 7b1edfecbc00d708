/**
 * Bulk-load support: take the keys, unique constraints, secondary indexes and foreign keys off a set of
 * tables and put them back *exactly* as they were. The catalog (pg_get_indexdef /
 * pg_get_constraintdef), captured just before the drop, is the source of truth, so whatever the
 * migrations define today or tomorrow is what gets rebuilt. CHECK and NOT NULL constraints stay on
 * during the load (cheap per row, and they vet the generated data).
 *
 * Everything here is meant to run inside one transaction with the tables locked: if anything fails,
 * the rollback restores the old definitions together with the old rows.
 */
import type postgres from 'postgres';

type Tx = postgres.TransactionSql | postgres.Sql;

export interface ConstraintDefinition {
  /** Quoted, possibly schema-qualified table name (regclass text). */
  table: string;
  /** Quoted constraint name. */
  name: string;
  type: 'p' | 'u' | 'f';
  definition: string;
}

/** An index's definition is its whole CREATE INDEX statement (pg_get_indexdef). */
export type IndexDefinition = Omit<ConstraintDefinition, 'type'>;

export interface TableDefinitions {
  /** Primary keys and unique constraints on the tables (they own an index). */
  keys: ConstraintDefinition[];
  /** Indexes not owned by a constraint. */
  indexes: IndexDefinition[];
  /** Foreign keys from, to or within the tables (including those of other tables referencing them). */
  foreignKeys: ConstraintDefinition[];
}

/** Resolves table names (search_path applies) to regclass text; throws if one does not exist. */
export async function resolveTables(sql: Tx, tables: readonly string[]): Promise<string[]> {
  const rows = await sql<Array<{ name: string; regclass: string | null }>>`
    select t.name, to_regclass(t.name)::text as regclass from unnest(${tables as string[]}::text[]) as t(name)`;
  const missing = rows.filter((row) => row.regclass === null).map((row) => row.name);
  if (missing.length > 0) throw new Error(`missing table(s): ${missing.join(', ')}`);
  return rows.map((row) => row.regclass as string);
}

async function captureDefinitions(sql: Tx, tables: readonly string[]): Promise<TableDefinitions> {
  const constraints = await sql<ConstraintDefinition[]>`
    select c.conrelid::regclass::text as table, quote_ident(c.conname) as name, c.contype as type,
           pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    where c.contype in ('p', 'u', 'f')
      and (c.conrelid = any(${tables as string[]}::regclass[])
           or (c.contype = 'f' and c.confrelid = any(${tables as string[]}::regclass[])))
    order by c.contype desc, c.conrelid::regclass::text, c.conname`;
  const indexes = await sql<IndexDefinition[]>`
    select i.indrelid::regclass::text as table, quote_ident(ic.relname) as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    where i.indrelid = any(${tables as string[]}::regclass[])
      and not exists (
        select 1 from pg_constraint c where c.conindid = i.indexrelid and c.contype in ('p', 'u', 'x'))
    order by i.indrelid::regclass::text, ic.relname`;
  const exclusion = await sql`
    select 1 from pg_constraint where contype = 'x' and conrelid = any(${tables as string[]}::regclass[]) limit 1`;
  if (exclusion.length > 0) throw new Error('exclusion constraints are not supported by the bulk loader');
  return { keys: constraints.filter((c) => c.type !== 'f'), indexes: [...indexes], foreignKeys: constraints.filter((c) => c.type === 'f') };
}

/**
 * Empties the tables for a bulk load (TRUNCATE … CASCADE, identities restarted) and drops their foreign keys,
 * then keys, then the remaining indexes; returns the definitions as captured, to restore after the load.
 */
export async function emptyForLoad(sql: Tx, tables: readonly string[]): Promise<TableDefinitions> {
  const defs = await captureDefinitions(sql, tables);
  await sql.unsafe(`truncate ${tables.join(', ')} restart identity cascade`);
  for (const fk of defs.foreignKeys) await sql.unsafe(`alter table ${fk.table} drop constraint ${fk.name}`);
  for (const key of defs.keys) await sql.unsafe(`alter table ${key.table} drop constraint ${key.name}`);
  for (const index of defs.indexes) {
    const schema = index.table.includes('.') ? `${index.table.slice(0, index.table.lastIndexOf('.'))}.` : '';
    await sql.unsafe(`drop index ${schema}${index.name}`);
  }
  return defs;
}

/** One step after the load: `work` reports how many of `total` it has done. */
export type RestorePhase = (
  name: 'indexes' | 'analyze' | 'foreign keys',
  total: number,
  work: (progress: (done: number) => void) => Promise<unknown>,
) => Promise<unknown>;

async function runEach(sql: Tx, statements: string[], progress: (done: number) => void): Promise<void> {
  for (const [i, statement] of statements.entries()) {
    await sql.unsafe(statement);
    progress(i + 1);
  }
}

const addConstraint = (c: ConstraintDefinition) => `alter table ${c.table} add constraint ${c.name} ${c.definition}`;

/**
 * Puts back what emptyForLoad took off, in three phases: keys and indexes (each one a sort over the loaded
 * table; parallel workers may help); ANALYZE, so that the foreign-key checks' anti-joins get sensible plans;
 * foreign keys, each validated against the loaded rows (one anti-join per key), and every identity sequence
 * moved past the largest id, so the next insert gets max + 1.
 */
export async function restoreAfterLoad(sql: Tx, tables: readonly string[], defs: TableDefinitions, phase: RestorePhase): Promise<void> {
  const keysAndIndexes = [...defs.keys.map(addConstraint), ...defs.indexes.map((index) => index.definition)];
  await phase('indexes', keysAndIndexes.length, (progress) => runEach(sql, keysAndIndexes, progress));
  await phase('analyze', 1, (progress) => runEach(sql, [`analyze ${tables.join(', ')}`], progress));
  await phase('foreign keys', defs.foreignKeys.length, async (progress) => {
    await runEach(sql, defs.foreignKeys.map(addConstraint), progress);
    const columns = await sql<Array<{ table: string; column: string; sequence: string }>>`
      select a.attrelid::regclass::text as table, quote_ident(a.attname) as column,
             pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) as sequence
      from pg_attribute a
      where a.attrelid = any(${tables as string[]}::regclass[]) and a.attidentity in ('a', 'd') and not a.attisdropped`;
    for (const { table, column, sequence } of columns) {
      await sql.unsafe(`select setval('${sequence.replace(/'/g, "''")}', coalesce((select max(${column}) from ${table}), 0) + 1, false)`);
    }
  });
}
