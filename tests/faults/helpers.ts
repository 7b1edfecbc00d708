import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { mayControlCluster, systemClusters } from '../../scripts/services.js';
import type { Sql } from '../../shared/clients/postgres.js';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** This user may not restart the server: the restart tests are skipped, with this reason. */
export class CannotRestartPostgres extends Error {
  override name = 'CannotRestartPostgres';
}

/** Stops and starts the PostgreSQL server the tests use (the native cluster on DATABASE_URL's port, or compose). */
export interface PostgresControl {
  describe: string;
  /**
   * `immediate`: every backend exits at once (SIGQUIT), none finishes what it was doing; the default (fast)
   * lets a backend that is granted a lock as the others die commit before it handles its own SIGTERM.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  isOnline(): Promise<boolean>;
}

async function portAnswersPostgres(port: number): Promise<boolean> {
  try {
    await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '1']);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the server accepts connections again; returns false after `timeoutMs`. */
export async function waitForPostgres(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswersPostgres(port)) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Finds how to stop/start the server on `port`: a Debian/Ubuntu cluster (`ls /etc/postgresql` gives the
 * version, pg_lsclusters the cluster on that port) through pg_ctlcluster, else the compose service.
 */
export async function postgresControl(port: number): Promise<PostgresControl> {
  if (existsSync('/etc/postgresql')) {
    const cluster = systemClusters().find((candidate) => candidate.port === String(port));
    if (cluster) {
      const { version, name, owner } = cluster;
      // pg_ctlcluster refuses anyone else: say why instead of failing the test on its refusal.
      if (!mayControlCluster(cluster))
        throw new CannotRestartPostgres(`restarting PostgreSQL ${version} ${name} (port ${port}) needs root or its owner, ${owner}`);
      const ctl = (...action: string[]) =>
        run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...action], { timeout: 60_000 });
      return {
        describe: `pg_ctlcluster ${version} ${name} (port ${port})`,
        stop: async (mode = 'fast') => {
          await ctl('stop', '-m', mode);
        },
        start: async () => {
          await ctl('start');
        },
        isOnline: async () => (await run('pg_lsclusters', ['-h', version, name])).stdout.includes('online'),
      };
    }
  }
  try {
    await run('docker', ['compose', 'ps', '--status', 'running', 'postgres'], { timeout: 10_000 });
    return {
      describe: 'docker compose service postgres',
      stop: async (mode = 'fast') => {
        if (mode === 'immediate') await run('docker', ['compose', 'kill', '-s', 'SIGQUIT', 'postgres'], { timeout: 60_000 });
        else await run('docker', ['compose', 'stop', 'postgres'], { timeout: 60_000 });
      },
      start: async () => {
        await run('docker', ['compose', 'start', 'postgres'], { timeout: 60_000 });
      },
      isOnline: () => portAnswersPostgres(port),
    };
  } catch {
    throw new Error(
      `cannot find how to restart the PostgreSQL server on port ${port} (no native cluster on that port, no compose service)`,
    );
  }
}

/**
 * Waits (up to `maxWaitMs`) until no other database has a query running, so the restart does not cut
 * someone else's work short; returns how many were still running when it gave up.
 */
export async function waitForQuietServer(sql: Sql, ownDatabase: string, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const [row] = await sql<Array<{ n: number }>>`
      select count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' and state = 'active' and pid <> pg_backend_pid()
        and datname is distinct from ${ownDatabase}`;
    if (row!.n === 0 || Date.now() >= deadline) return row!.n;
    await sleep(500);
  }
}
