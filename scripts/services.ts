/**
 * npm run services:up [-- --pooler] | services:down | services:status
 *
 * Brings up what the project needs on fixed local ports, whichever way this machine allows:
 *   PostgreSQL 127.0.0.1:5432 · Upstash REST (over Redis) 127.0.0.1:8079 · MongoDB wire 127.0.0.1:27017
 * A service that already answers is used as is. For a missing one, `docker compose` is used when a
 * Docker engine answers; otherwise the native path: the system PostgreSQL/Redis, our Upstash dev
 * gateway over Redis, and FerretDB built from the Go module proxy. `down` stops only what `up` started.
 * `--pooler` also starts PgBouncer (the Debian package) in transaction mode on 127.0.0.1:6432, the local
 * stand-in for RDS Proxy: point DATABASE_URL at port 6432 and set DATABASE_PREPARE=false to use it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { localEnv, ROOT } from './lib/env.js';
import { POOLER_PORT, pooledUrl, startPooler, stopPooler } from './lib/pgbouncer.js';
import { commandExists } from './lib/prerequisites.js';
import { portAnswers, waitFor } from './lib/probe.js';

const CACHE = `${ROOT}.cache/`;
const STATE_FILE = `${CACHE}services.json`;

type ServiceName = 'postgres' | 'upstash' | 'mongo';
type StartedBy = 'compose' | 'gateway' | 'ferretdb' | 'system' | 'pgbouncer';

interface State {
  started: Partial<Record<ServiceName | 'pooler', StartedBy>>;
}

export class ServiceError extends Error {
  override name = 'ServiceError';
}

const PORTS = { postgres: 5432, redis: 6379, upstash: 8079, mongo: 27017 } as const;

function readState(): State {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
  } catch {
    return { started: {} };
  }
}

function writeState(state: State): void {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

function dockerEngineAnswers(): boolean {
  if (!commandExists('docker')) return false;
  return spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

function run(command: string, args: string[], env?: Record<string, string>): void {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, env });
  if (result.status !== 0) throw new ServiceError(`${command} ${args.join(' ')} failed (exit ${result.status})`);
}

async function upstashAnswers(env: Record<string, string>): Promise<boolean> {
  try {
    const response = await fetch(env.UPSTASH_REDIS_REST_URL ?? `http://127.0.0.1:${PORTS.upstash}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, 'Content-Type': 'application/json' },
      body: '["PING"]',
      signal: AbortSignal.timeout(1000),
    });
    const body = (await response.json()) as { result?: unknown };
    return response.ok && body.result === 'PONG';
  } catch {
    return false;
  }
}

async function health(env: Record<string, string>): Promise<Record<ServiceName, boolean>> {
  const [postgres, upstash, mongo] = await Promise.all([
    portAnswers(PORTS.postgres),
    upstashAnswers(env),
    portAnswers(PORTS.mongo),
  ]);
  return { postgres, upstash, mongo };
}

async function startNativePostgres(): Promise<StartedBy> {
  if (existsSync('/etc/postgresql') && commandExists('pg_ctlcluster')) {
    const version = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    if (await waitFor(() => portAnswers(PORTS.postgres), 20_000)) return 'system';
  }
  throw new ServiceError(
    `PostgreSQL is not answering on 127.0.0.1:${PORTS.postgres} and no Docker engine is available. ` +
      'Install and start PostgreSQL 15+ (Debian/Ubuntu: apt-get install postgresql), or start Docker.',
  );
}

async function ensureRedis(env: Record<string, string>): Promise<void> {
  const redisUrl = new URL(env.REDIS_URL ?? `redis://127.0.0.1:${PORTS.redis}`);
  const port = Number(redisUrl.port || PORTS.redis);
  if (await portAnswers(port, redisUrl.hostname)) return;
  if (!commandExists('redis-server')) {
    throw new ServiceError(
      `Redis is not answering on ${redisUrl.host} and no Docker engine is available. ` +
        'Install Redis 7 (Debian/Ubuntu: apt-get install redis-server), or start Docker.',
    );
  }
  run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no']);
  if (!(await waitFor(() => portAnswers(port), 10_000))) throw new ServiceError('redis-server did not start');
}

async function startGateway(env: Record<string, string>): Promise<StartedBy> {
  await ensureRedis(env);
  mkdirSync(CACHE, { recursive: true });
  const log = openSync(`${CACHE}upstash-gateway.log`, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/upstash-gateway/cli.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  writeFileSync(`${CACHE}upstash-gateway.pid`, String(child.pid));
  if (!(await waitFor(() => upstashAnswers(env), 15_000))) {
    throw new ServiceError(`the Upstash dev gateway did not start; see ${CACHE}upstash-gateway.log`);
  }
  return 'gateway';
}

async function startFerretDb(): Promise<StartedBy> {
  if (!commandExists('go') && !existsSync(`${CACHE}bin/ferretdb`)) {
    throw new ServiceError(
      `Nothing answers on 127.0.0.1:${PORTS.mongo} (MongoDB) and no Docker engine is available. ` +
        'Install Go 1.24+ (FerretDB v1.24.2 is built from the Go module proxy), or start Docker, or run MongoDB 7 yourself.',
    );
  }
  run('bash', ['scripts/ferretdb.sh', 'build']);
  run('bash', ['scripts/ferretdb.sh', 'start']);
  return 'ferretdb';
}

const COMPOSE_SERVICES: Record<ServiceName, string[]> = {
  postgres: ['postgres'],
  upstash: ['redis', 'srh'],
  mongo: ['mongo'],
};

export interface UpOptions {
  log?: (line: string) => void;
  /** Also start PgBouncer (transaction mode) on 127.0.0.1:6432 in front of PostgreSQL. */
  pooler?: boolean;
}

/** Starts PgBouncer in front of the local PostgreSQL unless something already answers on its port. */
async function ensurePooler(env: Record<string, string>, state: State, log: (line: string) => void): Promise<boolean> {
  if (await portAnswers(POOLER_PORT)) {
    log(`services: pooler answers on 127.0.0.1:${POOLER_PORT}`);
    return false;
  }
  const database = new URL(env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${PORTS.postgres}/shop`);
  log(`services: starting PgBouncer (transaction mode) on 127.0.0.1:${POOLER_PORT} → ${database.hostname}:${database.port || PORTS.postgres}`);
  await startPooler({
    upstreamHost: database.hostname,
    upstreamPort: Number(database.port || PORTS.postgres),
    users: [decodeURIComponent(database.username || 'postgres')],
  });
  state.started.pooler = 'pgbouncer';
  writeState(state);
  log(`services: to go through it, set DATABASE_URL=${pooledUrl(database.toString())} DATABASE_PREPARE=false`);
  return true;
}

/** Starts whatever is missing; idempotent. Returns the names of the services it started now. */
export async function servicesUp(options: UpOptions = {}): Promise<ServiceName[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const env = localEnv();
  const state = readState();
  const status = await health(env);
  const missing = (Object.keys(status) as ServiceName[]).filter((name) => !status[name]);
  if (missing.length === 0) {
    log('services: postgres, upstash REST and mongo wire all answer');
    if (options.pooler) await ensurePooler(env, state, log);
    return [];
  }
  if (dockerEngineAnswers()) {
    const services = missing.flatMap((name) => COMPOSE_SERVICES[name]);
    log(`services: starting with docker compose: ${services.join(', ')}`);
    run('docker', ['compose', 'up', '--detach', '--wait', ...services]);
    for (const name of missing) state.started[name] = 'compose';
  } else {
    for (const name of missing) {
      log(`services: starting ${name} natively`);
      if (name === 'postgres') state.started.postgres = await startNativePostgres();
      if (name === 'upstash') state.started.upstash = await startGateway(env);
      if (name === 'mongo') state.started.mongo = await startFerretDb();
      writeState(state);
    }
  }
  writeState(state);
  const after = await health(env);
  const stillMissing = missing.filter((name) => !after[name]);
  if (stillMissing.length > 0) throw new ServiceError(`services did not come up: ${stillMissing.join(', ')}`);
  if (options.pooler) await ensurePooler(env, state, log);
  return missing;
}

function killPidFile(path: string): void {
  if (!existsSync(path)) return;
  const pid = Number(readFileSync(path, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(path, { force: true });
}

/** Stops what servicesUp started (never a system service that was already running). */
export async function servicesDown(only?: ServiceName[], log: (line: string) => void = console.log): Promise<void> {
  const state = readState();
  // The pooler sits in front of PostgreSQL: it goes first (and with a full `down`).
  if (state.started.pooler && (!only || only.includes('postgres'))) {
    await stopPooler();
    log('services: stopped pooler (pgbouncer)');
    delete state.started.pooler;
  }
  const names = (Object.keys(state.started) as ServiceName[]).filter((name) => name !== ('pooler' as string) && (!only || only.includes(name)));
  for (const name of names) {
    const by = state.started[name];
    if (by === 'compose') run('docker', ['compose', 'stop', ...COMPOSE_SERVICES[name]]);
    if (by === 'gateway') killPidFile(`${CACHE}upstash-gateway.pid`);
    if (by === 'ferretdb') run('bash', ['scripts/ferretdb.sh', 'stop']);
    // 'system' (a system PostgreSQL we merely started) is left running: it is the machine's, not ours.
    if (by !== 'system') log(`services: stopped ${name} (${by})`);
    delete state.started[name];
  }
  writeState(state);
  await sleep(100);
}

export async function servicesStatus(): Promise<Record<ServiceName, boolean>> {
  return health(localEnv());
}

async function main(): Promise<void> {
  const command = process.argv[2] ?? 'status';
  const flags = process.argv.slice(3);
  const unknown = flags.filter((flag) => flag !== '--pooler');
  if (unknown.length > 0 || (flags.length > 0 && command !== 'up')) {
    throw new ServiceError(`unknown option(s) ${flags.join(' ')} (only "up --pooler")`);
  }
  if (command === 'up') {
    await servicesUp({ pooler: flags.includes('--pooler') });
  } else if (command === 'down') {
    await servicesDown();
  } else if (command !== 'status') {
    throw new ServiceError(`unknown command "${command}" (use up, down or status)`);
  }
  const status = await servicesStatus();
  const state = readState();
  for (const [name, ok] of Object.entries(status)) {
    const port = PORTS[name as ServiceName];
    const by = state.started[name as ServiceName];
    console.log(`${name.padEnd(9)} 127.0.0.1:${String(port).padEnd(6)} ${ok ? 'up' : 'down'}${by ? ` (started by us: ${by})` : ''}`);
  }
  const pooler = await portAnswers(POOLER_PORT);
  if (pooler || state.started.pooler) {
    const by = state.started.pooler;
    console.log(`${'pooler'.padEnd(9)} 127.0.0.1:${String(POOLER_PORT).padEnd(6)} ${pooler ? 'up' : 'down'}${by ? ` (started by us: ${by})` : ''}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof ServiceError ? `error: ${error.message}` : error);
    process.exit(1);
  });
}
