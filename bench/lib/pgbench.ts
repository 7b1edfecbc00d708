/** pgbench, the SQL reference of the orders and pooler benches: found on PATH or under /usr/lib/postgresql. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable } from '../../scripts/lib/prerequisites.js';
import { run } from '../../scripts/lib/process.js';
import { PLACE_ORDER_STATEMENT } from '../../shared/orders/create-order.js';
import { ORDER_FIXTURE, pgbenchDefines, type Workload } from './fixtures.js';
import type { Segment } from './measure.js';

/** pgbench on PATH, else the newest /usr/lib/postgresql/<version>/bin/pgbench (Debian/Ubuntu layout). */
export function requirePgbench(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a)) : [];
  const found = findExecutable('pgbench', ...versions.map((version) => path.join(base, version, 'bin', 'pgbench')));
  if (!found) throw new Error('pgbench not found on PATH or under /usr/lib/postgresql/*/bin (PostgreSQL client tools)');
  return found;
}

/**
 * What pgbench runs as an order:
 *   statement  the very statement createOrder sends for an order without a key (PLACE_ORDER_STATEMENT),
 *              its parameters drawn by the same \set lines as the minimal script's: the limit for our design;
 *   minimal    bench/sql/order.pgbench.sql, the least work any correct order transaction must do, in the
 *              usual statement-per-step shape (BEGIN, lock, 2 inserts, update, END).
 */
export type OrderScript = 'statement' | 'minimal';

/**
 * The statement's pgbench script, written into `dir`: pgbench passes `:name` as a parameter, so the
 * arrays become ARRAY[:p1,:p2,:p3]; the key parameters of an order without a key are null, typed as
 * createOrder types them.
 */
function statementScript(dir: string): string {
  const draws = readFileSync(ORDER_FIXTURE.pgbenchScript, 'utf8').split(/^BEGIN;$/m)[0]!;
  const sql = PLACE_ORDER_STATEMENT.replace('$1', ':c::int')
    .replace('$2', 'ARRAY[:p1, :p2, :p3]::int[]')
    .replace('$3', 'ARRAY[:q1, :q2, :q3]::int[]')
    .replace('$4', 'null::text')
    .replace('$5', 'null::bytea')
    .replace('$6', 'null::int')
    .replace('$7', 'null::text');
  if (/\$\d/.test(sql)) throw new Error('the order statement has a parameter pgbench would not fill');
  const file = path.join(dir, 'statement.pgbench.sql');
  writeFileSync(file, `${draws}${sql.trim()};\n`);
  return file;
}

/**
 * pgbench's per-transaction log as a Segment, with the warm-up closedLoop gives ours: the transactions that
 * started in the first `warmupSeconds` (new backends loading catalogs and plans) are left out, and the rate is
 * taken over the window from the end of the warm-up to the last completion. Log lines: client_id
 * transaction_no latency_us script_no epoch_s epoch_us, the time being the transaction's completion.
 */
export function pgbenchSegment(lines: string[], warmupSeconds: number): Segment {
  const transactions = lines
    .map((line) => line.split(' '))
    .filter((fields) => fields.length >= 6 && fields[2] !== 'skipped')
    .map(([, , latency, , s, us]) => ({ failed: latency === 'failed', ms: Number(latency) / 1000, end: Number(s) + Number(us) / 1e6 }));
  const start = (t: (typeof transactions)[number]) => (t.failed ? t.end : t.end - t.ms / 1000);
  const cutoff = transactions.reduce((first, t) => Math.min(first, start(t)), Number.POSITIVE_INFINITY) + warmupSeconds;
  const measured = transactions.filter((t) => start(t) >= cutoff);
  const lastEnd = measured.reduce((last, t) => Math.max(last, t.end), cutoff);
  if (!measured.some((t) => !t.failed)) throw new Error(`pgbench completed no transaction after its ${warmupSeconds} s warm-up`);
  return {
    latencies: measured.filter((t) => !t.failed).map((t) => t.ms),
    seconds: lastEnd - cutoff,
    errors: measured.filter((t) => t.failed).length,
  };
}

/**
 * An order script run by pgbench for `seconds` after `warmupSeconds` (pgbenchSegment): its transactions
 * as a Segment. -M prepared uses named statements (not through a transaction pooler before PgBouncer
 * 1.21); extended, unnamed ones.
 */
export async function orderPgbench(
  url: string,
  workload: Workload,
  concurrency: number,
  seconds: number,
  protocol: 'prepared' | 'extended' = 'prepared',
  script: OrderScript = 'statement',
  warmupSeconds = 0,
): Promise<Segment> {
  const target = new URL(url);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'pgbench-'));
  const defines = Object.entries(pgbenchDefines(workload)).flatMap(([name, value]) => ['-D', `${name}=${value}`]);
  const file = script === 'statement' ? statementScript(logDir) : ORDER_FIXTURE.pgbenchScript;
  const user = decodeURIComponent(target.username || 'postgres');
  const args = ['-n', '-M', protocol, '-c', `${concurrency}`, '-j', `${Math.min(concurrency, os.cpus().length)}`, ...defines];
  args.push('-T', `${Math.max(1, Math.round(seconds + warmupSeconds))}`, '-f', file, '-l', '--log-prefix', path.join(logDir, 'tx'));
  args.push('-h', target.hostname, '-p', target.port || '5432', '-U', user, decodeURIComponent(target.pathname.slice(1)));
  const env = { ...process.env, ...(target.password ? { PGPASSWORD: decodeURIComponent(target.password) } : {}) };
  try {
    const { code, output } = await run(requirePgbench(), args, { env });
    if (code !== 0 || !/tps = [\d.]+/.test(output)) throw new Error(`pgbench failed (exit ${code}): ${output.slice(-2000)}`);
    const log = readdirSync(logDir).filter((file) => file.startsWith('tx'));
    return pgbenchSegment(
      log.flatMap((file) => readFileSync(path.join(logDir, file), 'utf8').split('\n')),
      warmupSeconds,
    );
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
