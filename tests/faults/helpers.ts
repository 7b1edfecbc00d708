import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { composeProject, mayControlCluster, systemClusters } from '../../scripts/services.js';
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

/**
 * The server on `port` accepts a session and runs a query (a server still starting or shutting down refuses
 * it). Through postgres.js, so that no PostgreSQL client tools are needed (a laptop with compose has none).
 */
async function portAnswersPostgres(port: number): Promise<boolean> {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1/postgres');
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const probe = postgres(url.toString(), { max: 1, connect_timeout: 1, idle_timeout: 1, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 0 });
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
 * Finds how to stop/start the server on `port`: a running Debian/Ubuntu cluster on that port (pg_lsclusters)
 * through pg_ctlcluster, else the running compose service of the environment's project. Neither: the restart
 * tests are skipped (CannotRestartPostgres), told why.
 */
export async function postgresControl(port: number): Promise<PostgresControl> {
  if (existsSync('/etc/postgresql')) {
    // A cluster that is down is not what serves the port (compose may, on a runner that has both).
    const cluster = systemClusters().find((candidate) => candidate.port === String(port) && candidate.status.startsWith('online'));
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
  const project = composeProject(process.env as Record<string, string>);
  const compose = (...args: string[]) => run('docker', ['compose', '--project-name', project, ...args], { timeout: 60_000 });
  // `ps` exits 0 for a service that exists but is not running: only a listed container id counts.
  const running = await compose('ps', '--quiet', '--status', 'running', 'postgres').then(
    ({ stdout }) => stdout.trim() !== '',
    () => false,
  );
  if (!running) {
    throw new CannotRestartPostgres(
      `no running system cluster (pg_lsclusters) nor compose service (project ${project}) serves PostgreSQL on port ${port}`,
    );
  }
  return {
    describe: `docker compose service postgres (project ${project})`,
    stop: async (mode = 'fast') => {
      if (mode === 'immediate') await compose('kill', '-s', 'SIGQUIT', 'postgres');
      else await compose('stop', 'postgres');
    },
    start: async () => {
      await compose('start', 'postgres');
    },
    isOnline: () => portAnswersPostgres(port),
  };
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

export interface FrozenPostgres {
  url: string;
  freeze: () => void;
  close: () => Promise<void>;
}

/**
 * A TCP proxy to the test PostgreSQL server that can freeze: the connections established so far stop carrying
 * data, both ways (no RST, no FIN), as behind a dead NAT entry; connections opened afterwards work. `url` is
 * DATABASE_URL through the proxy; `close` ends it.
 */
export async function openFreezingPostgres(): Promise<FrozenPostgres> {
  const target = new URL(process.env.DATABASE_URL!);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    const upstream = net.connect(Number(target.port || 5432), '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    close,
    // Nothing passes any more, but a side that closes is still seen (and the other end closed with it), as a
    // frozen route drops what it gets.
    freeze: () => {
      for (const socket of sockets) {
        socket.unpipe();
        socket.on('data', () => {});
        socket.resume();
      }
    },
  };
}
