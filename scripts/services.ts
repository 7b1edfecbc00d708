/**
 * npm run services:up [-- --pooler] | services:down | services:status
 *
 * Brings up what the project needs, on the ports the local environment names (DATABASE_URL,
 * UPSTASH_REDIS_REST_URL, MONGODB_URI; defaults 5432, 8079, 27017), whichever way this machine allows. A
 * service that already answers is used as is. For a missing one, `docker compose` is used when a Docker
 * engine answers; otherwise the native path: the system PostgreSQL/Redis, our Upstash dev gateway over
 * Redis, and FerretDB built from the Go module proxy. `down` stops only what `up` started (recorded per
 * service and port in .cache/services.json), never a system service.
 * `--pooler` also starts PgBouncer (installed when missing) in transaction mode on 127.0.0.1:6432, the
 * local stand-in for RDS Proxy: point DATABASE_URL at port 6432 and set DATABASE_PREPARE=false to use it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { localEnv, ROOT } from './lib/env.js';
import { POOLER_PORT, pooledUrl, startPooler, stopPooler } from './lib/pgbouncer.js';
import { commandExists } from './lib/prerequisites.js';
import { portAnswers, waitFor } from './lib/probe.js';

const CACHE = `${ROOT}.cache/`;
const STATE_FILE = `${CACHE}services.json`;

type ServiceName = 'postgres' | 'upstash' | 'mongo';
type StartedBy = 'compose' | 'gateway' | 'ferretdb' | 'system' | 'pgbouncer';
/** A service on a port: what `up` started and `down` stops. */
export interface Started {
  name: ServiceName | 'pooler';
  port: number;
  by: StartedBy;
}

export class ServiceError extends Error {
  override name = 'ServiceError';
}

/** The ports the environment's URLs name. */
function ports(env: Record<string, string>): Record<ServiceName, number> & { redis: number } {
  const port = (url: string | undefined, fallback: number) => Number((url && new URL(url).port) || fallback);
  return {
    postgres: port(env.DATABASE_URL, 5432),
    upstash: port(env.UPSTASH_REDIS_REST_URL, 8079),
    mongo: port(env.MONGODB_URI?.replace(/^mongodb(\+srv)?:/, 'http:'), 27017),
    redis: port(env.REDIS_URL, 6379),
  };
}

const readState = (): Started[] => {
  try {
    const { started } = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { started?: unknown };
    return Array.isArray(started) ? (started as Started[]) : [];
  } catch {
    return [];
  }
};

function writeState(started: Started[]): void {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify({ started }, null, 2)}\n`);
}

function record(entry: Started): void {
  writeState([...readState().filter((s) => s.name !== entry.name || s.port !== entry.port), entry]);
}

function dockerEngineAnswers(): boolean {
  return (
    commandExists('docker') &&
    spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 }).status === 0
  );
}

function run(command: string, args: string[], env?: Record<string, string>): void {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, env: env ? { ...process.env, ...env } : undefined });
  if (result.status !== 0) throw new ServiceError(`${command} ${args.join(' ')} failed (exit ${result.status})`);
}

async function upstashAnswers(env: Record<string, string>): Promise<boolean> {
  try {
    const response = await fetch(env.UPSTASH_REDIS_REST_URL!, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, 'Content-Type': 'application/json' },
      body: '["PING"]',
      signal: AbortSignal.timeout(1000),
    });
    return response.ok && ((await response.json()) as { result?: unknown }).result === 'PONG';
  } catch {
    return false;
  }
}

async function health(env: Record<string, string>): Promise<Record<ServiceName, boolean>> {
  const port = ports(env);
  const [postgres, upstash, mongo] = await Promise.all([portAnswers(port.postgres), upstashAnswers(env), portAnswers(port.mongo)]);
  return { postgres, upstash, mongo };
}

async function startNativePostgres(port: number): Promise<StartedBy> {
  let tried = '';
  if (existsSync('/etc/postgresql') && commandExists('pg_ctlcluster')) {
    const version = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
    // "already running" (exit 2) is fine here: what matters is whether it answers on our port.
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
    if (await waitFor(() => portAnswers(port), 20_000)) return 'system';
    tried = ` The system cluster (PostgreSQL ${version}, pg_ctlcluster) does not answer on that port: check its port in /etc/postgresql/${version}/main/postgresql.conf against DATABASE_URL.`;
  }
  throw new ServiceError(
    `PostgreSQL is not answering on 127.0.0.1:${port} and no Docker engine is available.${tried} ` +
      'Install and start PostgreSQL 15+ (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16), or start Docker.',
  );
}

async function ensureRedis(port: number): Promise<void> {
  if (await portAnswers(port)) return;
  if (!commandExists('redis-server')) {
    throw new ServiceError(
      `Redis is not answering on 127.0.0.1:${port} and no Docker engine is available. ` +
        'Install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or start Docker.',
    );
  }
  run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no']);
  if (!(await waitFor(() => portAnswers(port), 10_000))) throw new ServiceError('redis-server did not start');
}

const gatewayPidFile = (port: number) => `${CACHE}upstash-gateway-${port}.pid`;

async function startGateway(env: Record<string, string>): Promise<StartedBy> {
  const port = ports(env);
  await ensureRedis(port.redis);
  mkdirSync(CACHE, { recursive: true });
  const log = openSync(`${CACHE}upstash-gateway-${port.upstash}.log`, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/upstash-gateway/cli.ts'], {
    cwd: ROOT,
    env: { ...env, UPSTASH_GATEWAY_PORT: String(port.upstash) },
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  writeFileSync(gatewayPidFile(port.upstash), String(child.pid));
  if (!(await waitFor(() => upstashAnswers(env), 15_000))) {
    throw new ServiceError(`the Upstash dev gateway did not start; see ${CACHE}upstash-gateway-${port.upstash}.log`);
  }
  return 'gateway';
}

function startFerretDb(port: number): StartedBy {
  if (!commandExists('go') && !existsSync('/usr/local/go/bin/go') && !existsSync(`${CACHE}bin/ferretdb`)) {
    throw new ServiceError(
      `Nothing answers on 127.0.0.1:${port} (MongoDB) and no Docker engine is available. Install Go 1.24+ ` +
        '(https://go.dev/dl; FerretDB v1.24.2 is then built from the Go module proxy), or start Docker, or run MongoDB 7 yourself.',
    );
  }
  run('bash', ['scripts/ferretdb.sh', 'start'], { FERRETDB_PORT: String(port) });
  return 'ferretdb';
}

const COMPOSE_SERVICES: Record<ServiceName, string[]> = { postgres: ['postgres'], upstash: ['redis', 'srh'], mongo: ['mongo'] };

export interface UpOptions {
  log?: (line: string) => void;
  /** Also start PgBouncer (transaction mode) on 127.0.0.1:6432 in front of PostgreSQL. */
  pooler?: boolean;
}

/** Starts PgBouncer in front of the local PostgreSQL unless something already answers on its port. */
async function ensurePooler(env: Record<string, string>, log: (line: string) => void): Promise<Started | undefined> {
  if (await portAnswers(POOLER_PORT)) {
    log(`services: pooler answers on 127.0.0.1:${POOLER_PORT}`);
    return undefined;
  }
  const database = new URL(env.DATABASE_URL!);
  log(`services: starting PgBouncer (transaction mode) on 127.0.0.1:${POOLER_PORT} → ${database.hostname}:${ports(env).postgres}`);
  await startPooler({
    upstreamHost: database.hostname,
    upstreamPort: ports(env).postgres,
    users: [decodeURIComponent(database.username || 'postgres')],
  });
  log(`services: to go through it, set DATABASE_URL=${pooledUrl(database.toString())} DATABASE_PREPARE=false`);
  const started: Started = { name: 'pooler', port: POOLER_PORT, by: 'pgbouncer' };
  record(started);
  return started;
}

/** Starts whatever is missing; idempotent. Returns what it started now (for servicesDown). */
export async function servicesUp(options: UpOptions = {}): Promise<Started[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const env = localEnv();
  const port = ports(env);
  const status = await health(env);
  const missing = (Object.keys(status) as ServiceName[]).filter((name) => !status[name]);
  const started: Started[] = [];
  if (missing.length === 0) {
    log('services: postgres, upstash REST and mongo wire all answer');
  } else if (dockerEngineAnswers()) {
    const services = missing.flatMap((name) => COMPOSE_SERVICES[name]);
    log(`services: starting with docker compose: ${services.join(', ')}`);
    run('docker', ['compose', 'up', '--detach', '--wait', ...services]);
    for (const name of missing) started.push({ name, port: port[name], by: 'compose' });
  } else {
    for (const name of missing) {
      log(`services: starting ${name} natively on 127.0.0.1:${port[name]}`);
      const by =
        name === 'postgres'
          ? await startNativePostgres(port.postgres)
          : name === 'upstash'
            ? await startGateway(env)
            : startFerretDb(port.mongo);
      started.push({ name, port: port[name], by });
      record({ name, port: port[name], by });
    }
  }
  for (const entry of started) if (entry.by === 'compose') record(entry);
  const after = await health(env);
  const stillMissing = missing.filter((name) => !after[name]);
  if (stillMissing.length > 0) throw new ServiceError(`services did not come up: ${stillMissing.join(', ')}`);
  if (options.pooler) {
    const pooler = await ensurePooler(env, log);
    if (pooler) started.push(pooler);
  }
  return started;
}

function killPidFile(path: string): void {
  if (!existsSync(path)) return;
  try {
    process.kill(Number(readFileSync(path, 'utf8')), 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(path, { force: true });
}

/** Stops what servicesUp started (all it recorded, or `only` those), never a system service. */
export async function servicesDown(only?: Started[], log: (line: string) => void = console.log): Promise<void> {
  const chosen = (entry: Started) => !only || only.some((o) => o.name === entry.name && o.port === entry.port);
  // The pooler sits in front of PostgreSQL: it goes first.
  const targets = readState()
    .filter(chosen)
    .sort((a, b) => (a.name === 'pooler' ? -1 : b.name === 'pooler' ? 1 : 0));
  for (const { name, port, by } of targets) {
    if (by === 'pgbouncer') await stopPooler();
    if (by === 'compose') run('docker', ['compose', 'stop', ...COMPOSE_SERVICES[name as ServiceName]]);
    if (by === 'gateway') killPidFile(gatewayPidFile(port));
    if (by === 'ferretdb') run('bash', ['scripts/ferretdb.sh', 'stop'], { FERRETDB_PORT: String(port) });
    // 'system' (a system PostgreSQL we merely started) is left running: it is the machine's, not ours.
    if (by !== 'system') log(`services: stopped ${name} on ${port} (${by})`);
  }
  writeState(readState().filter((entry) => !targets.some((target) => target.name === entry.name && target.port === entry.port)));
}

export async function servicesStatus(): Promise<Record<ServiceName, boolean>> {
  return health(localEnv());
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { pooler: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const command = positionals[0] ?? 'status';
  if (!['up', 'down', 'status'].includes(command) || positionals.length > 1)
    throw new ServiceError(`unknown command "${positionals.join(' ')}" (use up, down or status)`);
  if (values.pooler && command !== 'up') throw new ServiceError('--pooler goes with "up" only');
  if (command === 'up') await servicesUp({ pooler: values.pooler });
  if (command === 'down') await servicesDown();
  const env = localEnv();
  const status = await health(env);
  const state = readState();
  const rows: Array<[string, number, boolean]> = [
    ...(Object.entries(status) as Array<[ServiceName, boolean]>).map(([name, up]): [string, number, boolean] => [
      name,
      ports(env)[name],
      up,
    ]),
    ...((await portAnswers(POOLER_PORT)) || state.some((s) => s.name === 'pooler')
      ? [['pooler', POOLER_PORT, await portAnswers(POOLER_PORT)] as [string, number, boolean]]
      : []),
  ];
  for (const [name, port, up] of rows) {
    const by = state.find((s) => s.name === name && s.port === port)?.by;
    console.log(`${name.padEnd(9)} 127.0.0.1:${String(port).padEnd(6)} ${up ? 'up' : 'down'}${by ? ` (started by us: ${by})` : ''}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof ServiceError || error instanceof TypeError ? `error: ${(error as Error).message}` : error);
    process.exit(1);
  });
}
