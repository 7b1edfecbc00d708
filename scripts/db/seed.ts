/**
 * npm run db:seed -- [--customers N] [--products N] [--orders N] [--seed S] [--as-of DATE] [--reset]
 *
 * Loads a deterministic, realistic shop (see seed-data.ts for the shape of the data) with COPY, fast:
 * rows are generated in this process as COPY text and streamed to Postgres while it ingests (two
 * cores busy), keys/indexes/foreign keys are taken off during the load and rebuilt from the catalog's
 * own definitions afterwards, then ANALYZE.
 *
 * Atomic: everything (TRUNCATE, COPY, index rebuild, ANALYZE, foreign-key validation) is one
 * transaction. Any failure, Ctrl-C or lost connection rolls back to the previous data (or the empty
 * schema). Without --reset, a database that already holds data is left alone (exit 1).
 *
 * Also importable: `seed(databaseUrl, options)` (used by `npm start` and the tests).
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import postgres from 'postgres';
import { type Chunk, COPY_COLUMNS, COPY_FORMAT, SeedDataGenerator, type SeedTable } from './seed-data.js';
import {
  captureDefinitions,
  dropDefinitions,
  resolveTables,
  restoreForeignKeys,
  restoreKeysAndIndexes,
  syncIdentities,
} from './seed-schema.js';

export const SEED_TABLES = ['customers', 'products', 'orders', 'order_items'] as const satisfies readonly SeedTable[];

/** What a plain `npm run db:seed` (and `npm start`) loads: small, a second or two. */
export const DEFAULT_COUNTS = { customers: 1_000, products: 200, orders: 5_000 } as const;
export const DEFAULT_SEED = 1;

/** Upper bounds that keep ids in range and the generator's memory reasonable (~100 B per customer). */
export const LIMITS = { customers: 20_000_000, products: 2_000_000, orders: 100_000_000 } as const;

export type SeedPhase = SeedTable | 'indexes' | 'analyze' | 'foreign keys';

export interface SeedProgress {
  /** A table being loaded, or a later phase ('indexes', 'analyze', 'foreign keys'). */
  table: SeedPhase;
  done: number;
  total: number;
}

export interface SeedOptions {
  customers: number;
  products: number;
  orders: number;
  /** Same seed (and counts and asOf) ⇒ the same rows. Default 1. */
  seed?: number;
  /** Replace existing data. Without it, a non-empty database is refused (SeedError 'NOT_EMPTY'). */
  reset?: boolean;
  /** With data already present: return `{ skipped: true }` instead of refusing (for `npm start`). */
  ifEmpty?: boolean;
  /** End of the 12-month order window. Default: the start of the current UTC day. */
  asOf?: Date | string;
  onProgress?: (progress: SeedProgress) => void;
  /**
   * Test hook: throw when this phase starts (inside the transaction), to prove a failed seed leaves
   * the previous data untouched. Not for production use.
   */
  failAt?: SeedPhase;
}

export interface SeedSummary {
  /** True when `ifEmpty` was set and the database already had data (nothing was changed). */
  skipped: boolean;
  seed: number;
  asOf: string;
  rows: Record<SeedTable, number>;
  totalRows: number;
  elapsedMs: number;
  rowsPerSecond: number;
  /** Milliseconds per phase (one COPY per table, indexes, analyze, foreign keys, commit). */
  phasesMs: Record<string, number>;
  /** Other tables emptied because they reference the shop tables (TRUNCATE … CASCADE). */
  alsoTruncated: string[];
}

export type SeedErrorCode = 'INVALID_OPTIONS' | 'CONNECTION' | 'NOT_MIGRATED' | 'NOT_EMPTY' | 'BUSY' | 'LOAD_FAILED';

export class SeedError extends Error {
  override name = 'SeedError';
  constructor(
    readonly code: SeedErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const SEED_LOCK_ID = 727_274_002;

// --- options ---------------------------------------------------------------------------------------

interface NormalizedOptions {
  customers: number;
  products: number;
  orders: number;
  seed: number;
  reset: boolean;
  ifEmpty: boolean;
  asOf: Date;
  failAt: SeedPhase | undefined;
}

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Validates options; throws SeedError('INVALID_OPTIONS') with every problem listed. */
export function normalizeSeedOptions(options: SeedOptions): NormalizedOptions {
  const problems: string[] = [];
  const count = (name: keyof typeof LIMITS) => {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      problems.push(`${name} must be a non-negative integer (got ${String(value)})`);
      return 0;
    }
    if (value > LIMITS[name]) problems.push(`${name} must be at most ${LIMITS[name].toLocaleString('en-US')} (got ${value})`);
    return value;
  };
  const customers = count('customers');
  const products = count('products');
  const orders = count('orders');
  if (orders > 0 && products === 0) problems.push('orders need products: products must be at least 1 when orders > 0');
  if (orders > 0 && customers === 0) problems.push('orders need customers: customers must be at least 1 when orders > 0');
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) problems.push(`seed must be a non-negative integer (got ${String(seed)})`);
  let asOf = startOfUtcDay(new Date());
  if (options.asOf !== undefined) {
    const parsed = options.asOf instanceof Date ? options.asOf : new Date(options.asOf);
    if (Number.isNaN(parsed.getTime())) problems.push(`asOf must be a date or ISO timestamp (got ${String(options.asOf)})`);
    else asOf = new Date(Math.floor(parsed.getTime() / 1000) * 1000);
  }
  if (problems.length > 0) throw new SeedError('INVALID_OPTIONS', problems.join('; '));
  return {
    customers,
    products,
    orders,
    seed,
    reset: options.reset ?? false,
    ifEmpty: options.ifEmpty ?? false,
    asOf,
    failAt: options.failAt,
  };
}

// --- loading ---------------------------------------------------------------------------------------

/** The URL without its password, for messages. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

function describeError(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: unknown[] };
  // Node's AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1) has an empty message.
  if (!e?.message && Array.isArray(e?.errors) && e.errors.length > 0) return describeError(e.errors[0]);
  return e?.message || e?.code || String(error);
}

function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolveDrain, reject) => {
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolveDrain();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(stream.errored ?? new Error('COPY stream closed unexpectedly'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Streams chunks into `COPY table (columns) FROM STDIN WITH (FREEZE)`, honouring backpressure: the
 * generator only runs ahead while the socket accepts data, so Node and Postgres work in parallel.
 */
async function copyInto(
  tx: postgres.TransactionSql,
  table: SeedTable,
  chunks: Iterable<Chunk>,
  onRows: (rows: number) => void,
): Promise<void> {
  // FREEZE: rows are written already frozen and all-visible (the table was truncated in this
  // transaction), so nobody pays for hint bits or an anti-wraparound vacuum later, and index-only
  // scans work at once.
  const format = COPY_FORMAT[table];
  const stream = await tx.unsafe(`copy ${table} (${COPY_COLUMNS[table].join(', ')}) from stdin with (format ${format}, freeze)`).writable();
  // postgres.js destroys the stream with the server's error when Postgres rejects the data mid-way;
  // without a listener that 'error' event would crash the process instead of failing the seed.
  stream.on('error', () => {});
  let lastWrite: Promise<void> = Promise.resolve();
  try {
    for (const chunk of chunks) {
      if (stream.destroyed) throw stream.errored ?? new Error(`COPY into ${table} was interrupted`);
      lastWrite = new Promise((resolveWrite) => stream.write(chunk.data, () => resolveWrite()));
      if (stream.writableNeedDrain) await waitForDrain(stream);
      onRows(chunk.rows);
    }
    await lastWrite;
    if (stream.destroyed) throw stream.errored ?? new Error(`COPY into ${table} was interrupted`);
  } catch (error) {
    // Makes postgres.js send CopyFail: the server aborts the COPY (and so the transaction).
    if (!stream.destroyed) stream.destroy(error as Error);
    throw error;
  }
  stream.end();
  // postgres.js 3.4.9 never settles the stream when the server rejects the data *after* CopyDone
  // (porsager/postgres#1173): `finished` would wait forever. A query queued behind the COPY settles
  // either way: it fails ("transaction is aborted") exactly when the COPY failed.
  await new Promise((resolveTick) => setImmediate(resolveTick));
  const probe = tx`select 1`.then(
    () => undefined,
    (error: { code?: string }) => {
      throw error.code === '25P02'
        ? new SeedError('LOAD_FAILED', `COPY into ${table} was rejected by the server (the driver lost its message; see the server log)`)
        : error;
    },
  );
  await Promise.all([finished(stream), probe]);
}

/** Loads a seed into `databaseUrl` in one transaction. Throws SeedError on bad input or refusal. */
export async function seed(databaseUrl: string, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const opts = normalizeSeedOptions(options);
  const report = options.onProgress ?? (() => {});
  const sql = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    prepare: false,
    connection: { application_name: 'ecommerce-pipeline-seed' },
  });
  const phasesMs: Record<string, number> = {};
  let phaseStart = performance.now();
  const endPhase = (name: string) => {
    const now = performance.now();
    phasesMs[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  const failIf = (phase: SeedPhase) => {
    if (opts.failAt === phase) throw new SeedError('LOAD_FAILED', `forced failure at ${phase} (test hook)`);
  };

  try {
    try {
      await sql`select 1`;
    } catch (error) {
      const hint = (error as { code?: string }).code === '3D000' ? ' (npm run db:migrate creates it)' : '';
      throw new SeedError('CONNECTION', `cannot connect to ${redactUrl(databaseUrl)}: ${describeError(error)}${hint}`, {
        cause: error,
      });
    }
    let tables: string[];
    try {
      tables = await resolveTables(sql, SEED_TABLES);
    } catch (error) {
      throw new SeedError('NOT_MIGRATED', `the shop schema is not there (${describeError(error)}): run npm run db:migrate first`, {
        cause: error,
      });
    }
    const generator = new SeedDataGenerator(opts);
    const rows: Record<SeedTable, number> = { customers: 0, products: 0, orders: 0, order_items: 0 };
    let alsoTruncated: string[] = [];
    let skipped = false;
    endPhase('prepare');

    await sql.begin(async (tx) => {
      // Bulk-load settings, for this transaction only. synchronous_commit=off: the commit does not
      // wait for the WAL flush (a crash right after it could lose the seed, never corrupt it).
      await tx`
        select set_config('synchronous_commit', 'off', true),
               set_config('maintenance_work_mem', '256MB', true),
               set_config('work_mem', '128MB', true),
               set_config('lock_timeout', '15s', true),
               set_config('statement_timeout', '0', true)`;
      const [lock] = await tx<Array<{ ok: boolean }>>`select pg_try_advisory_xact_lock(${SEED_LOCK_ID}) as ok`;
      if (!lock?.ok) throw new SeedError('BUSY', 'another seed is running on this database');
      try {
        await tx.unsafe(`lock table ${tables.join(', ')} in access exclusive mode`);
      } catch (error) {
        if ((error as { code?: string }).code === '55P03') {
          throw new SeedError('BUSY', 'the shop tables are in use (lock timeout after 15 s): stop what is using them and retry');
        }
        throw error;
      }
      const [present] = await tx<Array<Record<SeedTable, boolean>>>`
        select exists (select 1 from customers) as customers, exists (select 1 from products) as products,
               exists (select 1 from orders) as orders, exists (select 1 from order_items) as order_items`;
      const nonEmpty = SEED_TABLES.filter((table) => present?.[table]);
      if (nonEmpty.length > 0 && !opts.reset) {
        if (opts.ifEmpty) {
          skipped = true;
          return;
        }
        throw new SeedError('NOT_EMPTY', `the database already has data (${nonEmpty.join(', ')}): pass --reset to replace it`);
      }

      const defs = await captureDefinitions(tx, tables);
      alsoTruncated = [...new Set(defs.foreignKeys.map((fk) => fk.table))].filter((table) => !tables.includes(table));
      await tx.unsafe(`truncate ${tables.join(', ')} restart identity cascade`);
      await dropDefinitions(tx, defs);
      endPhase('truncate');

      const sources: Record<SeedTable, () => Iterable<Chunk>> = {
        customers: () => generator.customers(),
        products: () => generator.products(),
        orders: () => generator.orders(),
        order_items: () => generator.orderItems(),
      };
      for (const table of SEED_TABLES) {
        failIf(table);
        const total = table === 'order_items' ? generator.orderItemCount : generator.counts[table];
        let done = 0;
        report({ table, done, total });
        await copyInto(tx, table, sources[table](), (n) => {
          done += n;
          report({ table, done, total });
        });
        rows[table] = done;
        endPhase(table);
      }

      failIf('indexes');
      const indexTotal = defs.keys.length + defs.indexes.length;
      report({ table: 'indexes', done: 0, total: indexTotal });
      await restoreKeysAndIndexes(tx, defs, (done, total) => report({ table: 'indexes', done, total }));
      endPhase('indexes');

      // Statistics before the foreign-key checks, so their anti-joins get sensible plans.
      failIf('analyze');
      report({ table: 'analyze', done: 0, total: 1 });
      await tx.unsafe(`analyze ${tables.join(', ')}`);
      report({ table: 'analyze', done: 1, total: 1 });
      endPhase('analyze');

      failIf('foreign keys');
      report({ table: 'foreign keys', done: 0, total: defs.foreignKeys.length });
      await restoreForeignKeys(tx, defs, (done, total) => report({ table: 'foreign keys', done, total }));
      await syncIdentities(tx, tables);
      endPhase('foreign keys');
    });
    endPhase('commit');

    const elapsedMs = Math.round(performance.now() - started);
    const totalRows = rows.customers + rows.products + rows.orders + rows.order_items;
    return {
      skipped,
      seed: opts.seed,
      asOf: opts.asOf.toISOString(),
      rows,
      totalRows,
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? Math.round((totalRows * 1000) / elapsedMs) : totalRows,
      phasesMs,
      alsoTruncated,
    };
  } catch (error) {
    if (error instanceof SeedError) throw error;
    throw new SeedError('LOAD_FAILED', `seed failed and was rolled back: ${describeError(error)}`, { cause: error });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// --- CLI -------------------------------------------------------------------------------------------

export const USAGE = `usage: npm run db:seed -- [options]

  --customers N   customers to create      (default ${DEFAULT_COUNTS.customers})
  --products N    products to create       (default ${DEFAULT_COUNTS.products})
  --orders N      orders to create, each with 1-5 lines (default ${DEFAULT_COUNTS.orders})
  --seed S        random seed: same seed, counts and --as-of => same data (default ${DEFAULT_SEED})
  --as-of DATE    end of the 12-month order window, ISO date/time (default: today 00:00 UTC)
  --reset         replace existing data (without it, a database with data is left alone)
  -h, --help      show this help

Counts accept digits with optional _ or , separators (1_000_000). The database is DATABASE_URL
(.env / .env.example). Large example: --customers 100_000 --products 10_000 --orders 1_000_000 --reset`;

export type ParsedSeedArgs = { help: true } | { help: false; options: SeedOptions };

function parseCount(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const text = raw.trim();
  if (!/^\d[\d_,]*$/.test(text)) throw new SeedError('INVALID_OPTIONS', `--${flag} must be a non-negative integer (got '${raw}')`);
  const value = Number(text.replace(/[_,]/g, ''));
  if (!Number.isSafeInteger(value)) throw new SeedError('INVALID_OPTIONS', `--${flag} is too large (got '${raw}')`);
  return value;
}

/** Parses CLI flags strictly; throws SeedError('INVALID_OPTIONS') with a one-line reason. */
export function parseSeedArgs(argv: string[]): ParsedSeedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        customers: { type: 'string' },
        products: { type: 'string' },
        orders: { type: 'string' },
        seed: { type: 'string' },
        'as-of': { type: 'string' },
        reset: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    const e = error as { code?: string; message: string };
    const quoted = /'([^']+)'/.exec(e.message)?.[1];
    const message =
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option '${quoted ?? e.message}'`
        : e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument '${quoted ?? e.message}'`
          : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(e.message)
            ? `${quoted ?? 'option'} needs a value`
            : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
              ? `${e.message.split('.')[0]} (write --flag=VALUE for values starting with '-')`
              : e.message;
    throw new SeedError('INVALID_OPTIONS', message);
  }
  if (values.help) return { help: true };
  const options: SeedOptions = {
    customers: parseCount('customers', values.customers as string | undefined, DEFAULT_COUNTS.customers),
    products: parseCount('products', values.products as string | undefined, DEFAULT_COUNTS.products),
    orders: parseCount('orders', values.orders as string | undefined, DEFAULT_COUNTS.orders),
    seed: parseCount('seed', values.seed as string | undefined, DEFAULT_SEED),
    reset: values.reset === true,
  };
  if (values['as-of'] !== undefined) options.asOf = values['as-of'] as string;
  normalizeSeedOptions(options); // fail on bad combinations before connecting
  return { help: false, options };
}

const number = (n: number) => n.toLocaleString('en-US');

/** Progress on stderr: bars on a terminal, a line per quarter and per finished phase otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): {
  onProgress: (progress: SeedProgress) => void;
  stop: () => void;
} {
  if (stream.isTTY) {
    const multi = new cliProgress.MultiBar(
      {
        stream,
        format: ' {phase} |{bar}| {percentage}% {value}/{total} {elapsed}',
        hideCursor: true,
        barsize: 30,
        fps: 8,
        formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? number(value) : String(value)),
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
    return {
      onProgress: ({ table, done, total }) => {
        let entry = bars.get(table);
        if (!entry) {
          entry = { bar: multi.create(Math.max(total, 1), 0, { phase: table.padEnd(12), elapsed: '' }), started: performance.now() };
          bars.set(table, entry);
        }
        entry.bar.setTotal(Math.max(total, 1));
        entry.bar.update(total === 0 ? 1 : done, { elapsed: `${((performance.now() - entry.started) / 1000).toFixed(1)} s` });
      },
      stop: () => multi.stop(),
    };
  }
  const lastQuarter = new Map<string, number>();
  return {
    onProgress: ({ table, done, total }) => {
      const quarter = total === 0 ? 4 : Math.floor((done / total) * 4);
      if ((lastQuarter.get(table) ?? -1) >= quarter) return;
      lastQuarter.set(table, quarter);
      if (quarter === 0 && done === 0) stream.write(`seed: ${table} ${number(total)}…\n`);
      else stream.write(`seed: ${table} ${number(done)}/${number(total)} (${quarter * 25}%)\n`);
    },
    stop: () => {},
  };
}

export function formatSummary(summary: SeedSummary): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    `seeded in ${seconds(summary.elapsedMs)} (seed ${summary.seed}, orders in the 12 months before ${summary.asOf})`,
    ...SEED_TABLES.map((table) => `  ${table.padEnd(12)} ${number(summary.rows[table]).padStart(12)} rows`),
    `  ${'total'.padEnd(12)} ${number(summary.totalRows).padStart(12)} rows, ${number(summary.rowsPerSecond)} rows/s`,
    `  phases: ${Object.entries(summary.phasesMs)
      .map(([name, ms]) => `${name} ${seconds(ms)}`)
      .join(', ')}`,
  ];
  if (summary.alsoTruncated.length > 0) lines.push(`  also emptied (they reference the shop tables): ${summary.alsoTruncated.join(', ')}`);
  return lines.join('\n');
}

/** The CLI; returns the exit code (0 ok, 1 failure/refusal, 2 bad usage). */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed: ParsedSeedArgs;
  try {
    parsed = parseSeedArgs(argv);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n(run with --help for usage)`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('error: DATABASE_URL is not set (see .env.example)');
    return 1;
  }
  const progress = progressReporter();
  try {
    const summary = await seed(databaseUrl, { ...parsed.options, onProgress: progress.onProgress });
    progress.stop();
    console.log(formatSummary(summary));
    return 0;
  } catch (error) {
    progress.stop();
    const code = error instanceof SeedError ? error.code : 'LOAD_FAILED';
    console.error(`error: ${(error as Error).message}`);
    if (code !== 'INVALID_OPTIONS' && code !== 'NOT_EMPTY') console.error('nothing was changed (the seed runs in one transaction)');
    return code === 'INVALID_OPTIONS' ? 2 : 1;
  }
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(resolve(entry))).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const { localEnv } = await import('../lib/env.js');
  process.exitCode = await main(process.argv.slice(2), localEnv());
}
