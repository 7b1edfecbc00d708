/**
 * npm run db:seed loads a deterministic, realistic shop (see seed-data.ts for the shape of the data) with COPY, fast:
 * rows are generated in this process and streamed to Postgres while it ingests (two cores busy),
 * keys/indexes/foreign keys are taken off during the load and rebuilt from the catalog's own
 * definitions afterwards, then ANALYZE.
 *
 * Atomic: everything (TRUNCATE, COPY, index rebuild, ANALYZE, foreign-key validation) is one
 * transaction. Any failure, Ctrl-C or lost connection rolls back to the previous data (or the empty
 * schema). Without --reset, a database that already holds data is left alone (exit 1).
 *
 * Also importable: `seed(databaseUrl, options)` (used by `npm start` and the tests).
 */
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import postgres from 'postgres';
import { describeError } from '../../shared/logger.js';
import { localEnv, parseCommandLine, redactUrl } from '../lib/env.js';
import { type Chunk, COPY_COLUMNS, COPY_FORMAT, type SeedCounts, SeedDataGenerator, type SeedTable } from './seed-data.js';
import { emptyForLoad, resolveTables, restoreAfterLoad } from './seed-schema.js';

export const SEED_TABLES = ['customers', 'products', 'orders', 'order_items'] as const satisfies readonly SeedTable[];

/** What a plain `npm run db:seed` (and `npm start`) loads: small, a second or two. */
export const DEFAULT_COUNTS = { customers: 1_000, products: 200, orders: 5_000 } as const;
export const DEFAULT_SEED = 1;
/**
 * The sample shop `npm start` loads (the README's and requests.http's examples are written against it, and
 * tests/e2e/examples.e2e.test.ts runs them on it): a seed whose catalog answers the README's filters.
 */
export const SAMPLE_SHOP_SEED = 42;

/** Upper bounds that keep ids in range and the generator's memory reasonable (~100 B per customer). */
export const LIMITS = { customers: 20_000_000, products: 2_000_000, orders: 100_000_000 } as const;

export type SeedPhase = SeedTable | 'indexes' | 'analyze' | 'foreign keys';

export interface SeedProgress {
  /** A table being loaded, or a later phase ('indexes', 'analyze', 'foreign keys'). */
  table: SeedPhase;
  done: number;
  total: number;
}

export interface SeedOptions extends SeedCounts {
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

/** The generator's input, checked; throws SeedError('INVALID_OPTIONS') with every problem listed. */
function generatorOptions(options: SeedOptions) {
  const problems: string[] = [];
  const count = (name: string, value: unknown, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(value) || (value as number) < 0)
      problems.push(`${name} must be a non-negative integer (got ${String(value)})`);
    else if ((value as number) > max) problems.push(`${name} must be at most ${max.toLocaleString('en-US')} (got ${value})`);
    return value as number;
  };
  const [customers, products, orders] = (['customers', 'products', 'orders'] as const).map((name) =>
    count(name, options[name], LIMITS[name]),
  );
  const seed = count('seed', options.seed ?? DEFAULT_SEED);
  if (orders! > 0 && products === 0) problems.push('orders need products: products must be at least 1 when orders > 0');
  if (orders! > 0 && customers === 0) problems.push('orders need customers: customers must be at least 1 when orders > 0');
  // Today 00:00 UTC by default. A date-time without an offset is UTC too (JavaScript reads it as local time),
  // so that the same seed and as-of give the same rows on a machine in any time zone.
  const given = typeof options.asOf === 'string' && /[T ][\d:.]+$/.test(options.asOf) ? `${options.asOf}Z` : options.asOf;
  const asOf = new Date(given ?? new Date().toISOString().slice(0, 10));
  if (Number.isNaN(asOf.getTime())) problems.push(`asOf must be a date or ISO timestamp (got ${String(options.asOf)})`);
  if (problems.length > 0) throw new SeedError('INVALID_OPTIONS', problems.join('; '));
  return { customers: customers!, products: products!, orders: orders!, seed, asOf: new Date(Math.floor(asOf.getTime() / 1000) * 1000) };
}

/**
 * Streams chunks into `COPY table (columns) FROM STDIN WITH (FREEZE)`, honouring backpressure: the
 * generator only runs ahead while the socket accepts data, so Node and Postgres work in parallel.
 */
async function copyInto(tx: postgres.TransactionSql, table: SeedTable, chunks: Iterable<Chunk>, onRows: (rows: number) => void) {
  // FREEZE: rows are written already frozen and all-visible (the table was truncated in this
  // transaction), so nobody pays for hint bits or an anti-wraparound vacuum later, and index-only
  // scans work at once.
  const columns = COPY_COLUMNS[table].join(', ');
  const stream = await tx.unsafe(`copy ${table} (${columns}) from stdin with (format ${COPY_FORMAT[table]}, freeze)`).writable();
  // postgres.js destroys the stream with the server's error when Postgres rejects the data; without a
  // listener that 'error' event would crash the process instead of failing the seed.
  stream.on('error', () => {});
  // A failure on either side destroys the stream, which makes postgres.js send CopyFail (the server aborts the transaction).
  const data = function* () {
    for (const chunk of chunks) {
      yield chunk.data;
      onRows(chunk.rows);
    }
  };
  await pipeline(Readable.from(data()), stream, { end: false });
  stream.end();
  // postgres.js 3.4.9 never settles the stream when the server rejects the data *after* CopyDone
  // (porsager/postgres#1173): `finished` would wait forever. A query queued behind the COPY settles
  // either way: it fails ("transaction is aborted") exactly when the COPY failed.
  await new Promise((resolve) => setImmediate(resolve));
  const probe = tx`select 1`.catch((error: { code?: string }) => {
    throw error.code === '25P02'
      ? new SeedError('LOAD_FAILED', `COPY into ${table} was rejected by the server (the driver lost its message; see the server log)`)
      : error;
  });
  await Promise.all([finished(stream), probe]);
}

/** Loads a seed into `databaseUrl` in one transaction. Throws SeedError on bad input or refusal. */
export async function seed(databaseUrl: string, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const opts = generatorOptions(options);
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
    phasesMs[name] = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
  };

  try {
    await sql`select 1`.catch((error) => {
      const hint = error.code === '3D000' ? ' (npm run db:migrate creates it)' : '';
      throw new SeedError('CONNECTION', `cannot connect to ${redactUrl(databaseUrl)}: ${describeError(error).message}${hint}`, {
        cause: error,
      });
    });
    const tables = await resolveTables(sql, SEED_TABLES).catch((error) => {
      throw new SeedError('NOT_MIGRATED', `the shop schema is not there (${describeError(error).message}): run npm run db:migrate first`, {
        cause: error,
      });
    });
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
      await tx.unsafe(`lock table ${tables.join(', ')} in access exclusive mode`).catch((error) => {
        if (error.code !== '55P03') throw error;
        throw new SeedError('BUSY', 'the shop tables are in use (lock timeout after 15 s): stop what is using them and retry');
      });
      const [present] = await tx<Array<Record<SeedTable, boolean>>>`
        select exists (select 1 from customers) as customers, exists (select 1 from products) as products,
               exists (select 1 from orders) as orders, exists (select 1 from order_items) as order_items`;
      const nonEmpty = SEED_TABLES.filter((table) => present?.[table]);
      if (nonEmpty.length > 0 && !options.reset) {
        if (!options.ifEmpty)
          throw new SeedError('NOT_EMPTY', `the database already has data (${nonEmpty.join(', ')}): pass --reset to replace it`);
        skipped = true;
        return;
      }

      const defs = await emptyForLoad(tx, tables);
      alsoTruncated = [...new Set(defs.foreignKeys.map((fk) => fk.table))].filter((table) => !tables.includes(table));
      endPhase('truncate');

      /** One step of the load: the test hook, its progress from 0, its time. */
      const phase = async (name: SeedPhase, total: number, work: (progress: (done: number) => void) => Promise<unknown>) => {
        if (options.failAt === name) throw new SeedError('LOAD_FAILED', `forced failure at ${name} (test hook)`);
        report({ table: name, done: 0, total });
        await work((done) => report({ table: name, done, total }));
        endPhase(name);
      };
      const method = { customers: 'customers', products: 'products', orders: 'orders', order_items: 'orderItems' } as const;
      for (const table of SEED_TABLES) {
        const total = table === 'order_items' ? generator.orderItemCount : generator.counts[table];
        await phase(table, total, (progress) => copyInto(tx, table, generator[method[table]](), (n) => progress((rows[table] += n))));
      }
      await restoreAfterLoad(tx, tables, defs, phase);
    });
    endPhase('commit');

    const elapsedMs = Math.round(performance.now() - started);
    const totalRows = SEED_TABLES.reduce((sum, table) => sum + rows[table], 0);
    const rowsPerSecond = elapsedMs > 0 ? Math.round((totalRows * 1000) / elapsedMs) : totalRows;
    return { skipped, seed: opts.seed, asOf: opts.asOf.toISOString(), rows, totalRows, elapsedMs, rowsPerSecond, phasesMs, alsoTruncated };
  } catch (error) {
    if (error instanceof SeedError) throw error;
    throw new SeedError('LOAD_FAILED', `seed failed and was rolled back: ${describeError(error).message}`, { cause: error });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// --- CLI -------------------------------------------------------------------------------------------

const USAGE = `usage: npm run db:seed -- [options]

  --customers N   customers to create      (default ${DEFAULT_COUNTS.customers})
  --products N    products to create       (default ${DEFAULT_COUNTS.products})
  --orders N      orders to create, each with 1-5 lines (default ${DEFAULT_COUNTS.orders})
  --seed S        random seed: same seed, counts and --as-of => same data (default ${DEFAULT_SEED})
  --as-of DATE    end of the 12-month order window, ISO date/time, UTC unless it has an offset (default: today 00:00 UTC)
  --reset         replace existing data (without it, a database with data is left alone)
  -h, --help      show this help

Counts accept digits with optional _ or , separators (1_000_000). The database is DATABASE_URL
(.env / .env.example). Large example: --customers 100_000 --products 10_000 --orders 1_000_000 --reset`;

const number = (n: number) => n.toLocaleString('en-US');

/** Progress on stderr: bars on a terminal, a line per quarter and per finished phase otherwise. */
function progressReporter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (progress: SeedProgress) => void; stop: () => void } {
  if (stream.isTTY) {
    const format = ' {phase} |{bar}| {percentage}% {value}/{total} {elapsed}';
    const formatValue = (value: number, _: unknown, type: string) => (type === 'value' || type === 'total' ? number(value) : String(value));
    const multi = new cliProgress.MultiBar(
      { stream, format, hideCursor: true, barsize: 30, fps: 8, formatValue },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
    const onProgress = ({ table, done, total }: SeedProgress) => {
      if (!bars.has(table))
        bars.set(table, { bar: multi.create(1, 0, { phase: table.padEnd(12), elapsed: '' }), started: performance.now() });
      const { bar, started } = bars.get(table)!;
      bar.setTotal(Math.max(total, 1));
      bar.update(total === 0 ? 1 : done, { elapsed: `${((performance.now() - started) / 1000).toFixed(1)} s` });
    };
    return { onProgress, stop: () => multi.stop() };
  }
  const lastQuarter = new Map<string, number>();
  const onProgress = ({ table, done, total }: SeedProgress) => {
    const quarter = total === 0 ? 4 : Math.floor((done / total) * 4);
    if ((lastQuarter.get(table) ?? -1) >= quarter) return;
    lastQuarter.set(table, quarter);
    if (quarter === 0 && done === 0) stream.write(`seed: ${table} ${number(total)}…\n`);
    else stream.write(`seed: ${table} ${number(done)}/${number(total)} (${quarter * 25}%)\n`);
  };
  return { onProgress, stop: () => {} };
}

function formatSummary(summary: SeedSummary): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const phases = Object.entries(summary.phasesMs).map(([name, ms]) => `${name} ${seconds(ms)}`);
  return [
    `seeded in ${seconds(summary.elapsedMs)} (seed ${summary.seed}, orders in the 12 months before ${summary.asOf})`,
    ...SEED_TABLES.map((table) => `  ${table.padEnd(12)} ${number(summary.rows[table]).padStart(12)} rows`),
    `  ${'total'.padEnd(12)} ${number(summary.totalRows).padStart(12)} rows, ${number(summary.rowsPerSecond)} rows/s`,
    `  phases: ${phases.join(', ')}`,
    ...(summary.alsoTruncated.length > 0 ? [`  also emptied (they reference the shop tables): ${summary.alsoTruncated.join(', ')}`] : []),
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseCommandLine(USAGE, {
    options: {
      customers: { type: 'string' },
      products: { type: 'string' },
      orders: { type: 'string' },
      seed: { type: 'string' },
      'as-of': { type: 'string' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  let progress = { onProgress: (_: SeedProgress) => {}, stop: () => {} };
  try {
    // Counts as people type them: digits with optional _ or , separators.
    const count = (flag: 'customers' | 'products' | 'orders' | 'seed', fallback: number) => {
      const raw = values[flag]?.trim();
      if (raw !== undefined && !/^\d[\d_,]*$/.test(raw))
        throw new SeedError('INVALID_OPTIONS', `--${flag} must be a non-negative integer (got '${values[flag]}')`);
      return raw === undefined ? fallback : Number(raw.replace(/[_,]/g, ''));
    };
    const { customers, products, orders } = DEFAULT_COUNTS;
    const options = {
      ...{ customers: count('customers', customers), products: count('products', products), orders: count('orders', orders) },
      ...{ seed: count('seed', DEFAULT_SEED), reset: values.reset, asOf: values['as-of'] },
    };
    generatorOptions(options); // bad combinations fail before anything else
    const databaseUrl = localEnv().DATABASE_URL;
    if (!databaseUrl) throw new SeedError('CONNECTION', 'DATABASE_URL is not set (see .env.example)');
    progress = progressReporter();
    const summary = await seed(databaseUrl, { ...options, onProgress: progress.onProgress });
    progress.stop();
    console.log(formatSummary(summary));
  } catch (error) {
    progress.stop();
    const code = error instanceof SeedError ? error.code : 'LOAD_FAILED';
    console.error(`error: ${(error as Error).message}`);
    if (code !== 'INVALID_OPTIONS' && code !== 'NOT_EMPTY') console.error('nothing was changed (the seed runs in one transaction)');
    process.exitCode = code === 'INVALID_OPTIONS' ? 2 : 1;
  }
}
