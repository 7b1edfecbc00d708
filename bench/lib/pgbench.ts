/** pgbench, the SQL reference (bench/orders.ts, bench/pooler.ts): found on PATH or under /usr/lib/postgresql. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Segment } from './measure.js';

/** pgbench on PATH, else the newest /usr/lib/postgresql/<version>/bin/pgbench (Debian/Ubuntu layout). */
export function findPgbench(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'pgbench')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? path.join(base, versions[0], 'bin', 'pgbench') : undefined;
}

export interface PgbenchRun {
  binary: string;
  /** Where to connect (a database URL; PgBouncer's port works too). */
  url: string;
  script: string;
  concurrency: number;
  seconds: number;
  /** -D name=value */
  defines?: Record<string, string | number>;
  /** -M: prepared (named statements; not through a transaction pooler before PgBouncer 1.21), extended, simple. */
  protocol?: 'prepared' | 'extended' | 'simple';
}

/**
 * Runs pgbench and returns its transactions as a Segment: per-transaction latencies from its log,
 * and seconds such that latencies.length / seconds = pgbench's own tps (without connection set-up).
 */
export async function pgbench(run: PgbenchRun): Promise<Segment> {
  const url = new URL(run.url);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'pgbench-'));
  const argv = [
    '-n', // no vacuum of pgbench's own tables (we have none)
    '-M',
    run.protocol ?? 'prepared',
    '-c',
    String(run.concurrency),
    '-j',
    String(Math.min(run.concurrency, os.cpus().length)),
    '-T',
    String(Math.max(1, Math.round(run.seconds))),
    ...Object.entries(run.defines ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`]),
    '-f',
    run.script,
    '-l',
    '--log-prefix',
    path.join(logDir, 'tx'),
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username || 'postgres'),
    decodeURIComponent(url.pathname.slice(1)),
  ];
  const childEnv = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(run.binary, argv, { env: childEnv });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? Number.NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    if (code !== 0 || Number.isNaN(tps)) throw new Error(`pgbench failed (exit ${code}): ${stderr.slice(-2000)}`);
    // Per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
    const latencies: number[] = [];
    for (const file of readdirSync(logDir)) {
      for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3 && fields[2] !== 'failed' && fields[2] !== 'skipped') latencies.push(Number(fields[2]) / 1000);
      }
    }
    // pgbench's own tps excludes connection set-up; express it as the time those transactions took.
    return { latencies, seconds: latencies.length / tps, errors: failed };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
