/**
 * npm run services:up [-- --pooler] | services:down | services:status
 *
 * The stores the app talks to, on the ports the environment's URLs name (defaults: PostgreSQL 5432, the
 * Upstash REST endpoint 8079, the MongoDB wire protocol 27017). A service that already answers is used as
 * it is. For a missing one: `docker compose` when a Docker engine answers (but the Upstash endpoint is our dev
 * gateway, run natively, in front of a Redis that already answers on REDIS_URL's port), else the native path:
 * the system PostgreSQL (pg_ctlcluster), Redis with the Upstash dev gateway (tools/upstash-gateway), and
 * FerretDB (tools/ferretdb, built from the Go module proxy). `down` stops only what `up` started (recorded per
 * service and port in .cache/services.json), never a system service; npm start's and npm test's own down never
 * stops one another live process still uses (each of them leaves a lease in .cache/service-users/ for the ports
 * it uses, removed when it exits), while `npm run services:down` stops them anyway and says who was using them.
 * `--pooler` also starts PgBouncer (installed when missing) in transaction mode on 127.0.0.1:6432, the
 * local stand-in for RDS Proxy: run what should use it with DATABASE_URL on port 6432 and DATABASE_PREPARE=false
 * in its environment (.env keeps PostgreSQL's own port, which services:up, the migrations and the seed need).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { ensureDatabase } from '../shared/db/migrate.js';
import { exit, localEnv, redactUrl } from './lib/env.js';
import { ensureGoTool } from './lib/go-tools.js';
import { POOLER_PORT, pooledUrl, startPooler, stopPooler } from './lib/pgbouncer.js';
import { commandExists } from './lib/prerequisites.js';
import { CACHE, daemonPid, portAnswers, run, startDaemon, stopDaemon, waitFor } from './lib/process.js';

const STATE_FILE = `${CACHE}services.json`;

type ServiceName = 'postgres' | 'upstash' | 'mongo';
type StartedBy = 'compose' | 'gateway' | 'redis-server' | 'ferretdb' | 'system' | 'pgbouncer';
/** A service on a port: what `up` started and `down` stops. */
export interface Started {
  name: ServiceName | 'pooler' | 'redis';
  port: number;
  by: StartedBy;
  /** The compose project of a service started by Compose (composeProject). */
  project?: string;
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

function readState(): Started[] {
  try {
    return (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { started: Started[] }).started ?? [];
  } catch {
    return [];
  }
}

function writeState(started: Started[]): void {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify({ started }, null, 2)}\n`);
}

type Place = Pick<Started, 'name' | 'port'>;
const same = (a: Place) => (b: Place) => a.name === b.name && a.port === b.port;
const record = (entry: Started) => writeState([...readState().filter((s) => !same(entry)(s)), entry]);

/**
 * Who uses the services, besides who started them: `npm test` run while `npm start` runs uses the services
 * npm start started, and npm start's Ctrl-C must not stop them under it. A lease names the process and the
 * services it uses (every one its environment's URLs name); it is removed when that process exits, and one
 * whose process is gone (killed) counts for nothing. A process stopping what it started says so with a
 * `stopping-` marker for as long as it stops them: a servicesUp meanwhile waits for it, instead of finding
 * them up and seeing them stopped under it.
 */
const USERS_DIR = `${CACHE}service-users/`;

interface Lease {
  pid: number;
  /** The process's start time (Linux): a pid reused by another process does not keep the lease alive. */
  started?: string;
  user: string;
  services: Place[];
}

/** A process's start time, in clock ticks since boot (/proc/<pid>/stat, field 22); undefined off Linux. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may itself hold spaces and parentheses): state is field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive({ pid, started }: Pick<Lease, 'pid' | 'started'>): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = started === undefined ? undefined : processStart(pid);
  return now === undefined || now === started;
}

/** Writes a file of USERS_DIR whole (a reader never sees half of it) and removes it when this process exits. */
function writeUntilExit(name: string, content: object): () => void {
  const file = `${USERS_DIR}${name}`;
  mkdirSync(USERS_DIR, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(content));
  renameSync(`${file}.tmp`, file);
  const remove = () => rmSync(file, { force: true });
  process.once('exit', remove);
  return remove;
}

function holdLease(user: string, env: Record<string, string>, pooler: boolean): void {
  const port = ports(env);
  const services: Lease['services'] = [
    ...(['postgres', 'upstash', 'mongo', 'redis'] as const).map((name) => ({ name, port: port[name] })),
    ...(pooler ? [{ name: 'pooler' as const, port: POOLER_PORT }] : []),
  ];
  const started = processStart(process.pid);
  writeUntilExit(`${process.pid}-${randomUUID()}.json`, {
    pid: process.pid,
    ...(started ? { started } : {}),
    user,
    services,
  } satisfies Lease);
}

/** The other live processes' leases (`stopping-` markers with `stopping`); those of processes gone are removed. */
function otherUsers(kind: 'leases' | 'stopping' = 'leases'): Lease[] {
  const leases: Lease[] = [];
  for (const name of existsSync(USERS_DIR) ? readdirSync(USERS_DIR) : []) {
    if (name.endsWith('.tmp') || name.startsWith('stopping-') !== (kind === 'stopping')) continue;
    let lease: Lease;
    try {
      lease = JSON.parse(readFileSync(`${USERS_DIR}${name}`, 'utf8')) as Lease;
    } catch {
      continue; // removed meanwhile
    }
    if (lease.pid === process.pid) continue;
    if (alive(lease)) leases.push(lease);
    else rmSync(`${USERS_DIR}${name}`, { force: true });
  }
  return leases;
}

async function exec(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  const { code } = await run(command, args, { echo: true, ...(env ? { env } : {}) });
  if (code !== 0) throw new ServiceError(`${command} ${args.join(' ')} failed (exit ${code})`);
}

function upstashAnswers(env: Record<string, string>): Promise<boolean> {
  return fetch(env.UPSTASH_REDIS_REST_URL!, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, 'Content-Type': 'application/json' },
    body: '["PING"]',
    signal: AbortSignal.timeout(1000),
  })
    .then(async (response) => response.ok && ((await response.json()) as { result?: unknown }).result === 'PONG')
    .catch(() => false);
}

async function health(env: Record<string, string>): Promise<Record<ServiceName, boolean>> {
  const port = ports(env);
  const [postgres, upstash, mongo] = await Promise.all([portAnswers(port.postgres), upstashAnswers(env), portAnswers(port.mongo)]);
  return { postgres, upstash, mongo };
}

export interface SystemCluster {
  version: string;
  name: string;
  port: string;
  /** 'online', 'down', … */
  status: string;
  owner: string;
}

/** Debian/Ubuntu's PostgreSQL clusters (pg_lsclusters): version, name, port, status, owner. */
export function systemClusters(): SystemCluster[] {
  const { stdout = '' } = spawnSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 5)
    .map(([version = '', name = '', port = '', status = '', owner = '']) => ({ version, name, port, status, owner }));
}

/** pg_ctlcluster starts and stops a cluster for root and its owner only. */
export const mayControlCluster = (cluster: SystemCluster): boolean => process.getuid?.() === 0 || userInfo().username === cluster.owner;

async function startNativePostgres(port: number): Promise<StartedBy> {
  let tried = '';
  if (existsSync('/etc/postgresql') && commandExists('pg_ctlcluster') && commandExists('pg_lsclusters')) {
    const clusters = systemClusters();
    const cluster = clusters.find((candidate) => candidate.port === String(port));
    if (!cluster) {
      const listed = clusters.map((c) => `${c.version}/${c.name} on ${c.port}`).join(', ') || 'none';
      tried = ` No system cluster listens on ${port} (pg_lsclusters: ${listed}): set DATABASE_URL's port to one of them.`;
    } else {
      const start = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'], { encoding: 'utf8' });
      // 0 started, 2 already running: then it answers, once up; anything else was a refusal, said at once.
      if ((start.status === 0 || start.status === 2) && (await waitFor(() => portAnswers(port), 20_000))) return 'system';
      tried = !mayControlCluster(cluster)
        ? ` Starting the system cluster ${cluster.version}/${cluster.name} needs root or its owner: sudo pg_ctlcluster ${cluster.version} ${cluster.name} start.`
        : ` The system cluster ${cluster.version}/${cluster.name} did not start: ${(start.stderr ?? '').trim() || `exit ${start.status}`}.`;
    }
  }
  throw new ServiceError(
    `PostgreSQL is not answering on 127.0.0.1:${port} and no Docker engine is available.${tried} ` +
      'Install and start PostgreSQL 15+ (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16), or start Docker.',
  );
}

/** The gateway's Redis, when nothing answers on REDIS_URL's port: a redis-server of ours, stopped by `down`. */
async function startRedis(port: number): Promise<boolean> {
  if (await portAnswers(port)) return false;
  if (!commandExists('redis-server'))
    throw new ServiceError(
      `Redis is not answering on 127.0.0.1:${port} and no Docker engine is available. ` +
        'Install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or start Docker.',
    );
  await startDaemon({
    name: `redis-${port}`,
    command: 'redis-server',
    args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    ready: () => portAnswers(port),
    timeoutMs: 10_000,
  });
  return true;
}

/** Sends one inline command to the Redis on `port` and returns what it answered (empty when nothing did). */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise<string>((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // INFO is a bulk string ($<length> then the text); SHUTDOWN closes the connection.
      const length = Number(/^\$(\d+)\r\n/.exec(answer)?.[1] ?? Number.NaN);
      if (answer.startsWith('-') || (Number.isFinite(length) && Buffer.byteLength(answer) >= length)) socket.end();
    });
    socket.on('error', () => resolve(answer)).on('close', () => resolve(answer));
    socket.setTimeout(2_000, () => socket.destroy());
  });
}

/**
 * Stops the redis-server startRedis started on `port`, and only that one. Redis renames its process
 * ("redis-server 127.0.0.1:6479"), so stopDaemon cannot recognise it by its command line: the server on the
 * port is asked for its process id (INFO), and shut down over its own protocol only when that is the pid we
 * recorded. A record can outlive our server (a reboot), and another Redis (a system one, with data) may
 * listen there since: it is left alone.
 */
export async function stopRedis(port: number, log: (line: string) => void): Promise<void> {
  const name = `redis-${port}`;
  let recorded: number | undefined;
  try {
    [recorded] = JSON.parse(readFileSync(`${CACHE}${name}.pid`, 'utf8')) as [number];
  } catch {
    // No record: nothing of ours to stop.
  }
  const running = Number(/^process_id:(\d+)/m.exec(await redisCommand(port, 'INFO server'))?.[1] ?? Number.NaN);
  if (recorded !== undefined && running === recorded) {
    await redisCommand(port, 'SHUTDOWN NOSAVE');
    if (!(await waitFor(async () => !(await portAnswers(port)), 5_000))) log(`services: redis-server on ${port} did not stop`);
  } else if (Number.isFinite(running)) {
    log(`services: the Redis on ${port} is not the one we started (process ${running}); left running`);
  }
  rmSync(`${CACHE}${name}.pid`, { force: true });
}

/**
 * Runs `start` (a check that a service is missing, then its start) while no other process of this project runs
 * one for the same `name`: `npm start` and `npm test` started together both see the port free, and both would
 * start a server (one then failing on the port, its pid file naming a dead process and the live server nobody's
 * to stop). The lock is a PostgreSQL advisory lock on a session of its own, which PostgreSQL releases when the
 * session ends, however the process holding it ends (a Ctrl-C, a kill): it is never left behind.
 */
async function withStartLock<T>(name: string, start: () => Promise<T>): Promise<T> {
  const url = new URL(localEnv().DATABASE_URL!);
  url.pathname = '/postgres';
  const sql = postgres(url.href, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext(${`ecommerce-pipeline:start:${name}`}))`;
    return await start();
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The gateway (and its Redis when missing); false when another process started them meanwhile. */
function startGateway(env: Record<string, string>, add: (entry: Started) => void): Promise<boolean> {
  const port = ports(env);
  return withStartLock(`upstash-gateway-${port.upstash}`, async () => {
    if (await upstashAnswers(env)) return false;
    if (await startRedis(port.redis)) add({ name: 'redis', port: port.redis, by: 'redis-server' });
    // A gateway already there whose Redis was down answers now.
    if (await upstashAnswers(env)) return false;
    // Something holds the port but does not answer PING with this token: a gateway or an srh container started
    // with another token (a changed .env), or a stuck one. Starting ours would only die on EADDRINUSE.
    if (await portAnswers(port.upstash)) {
      throw new ServiceError(
        `something on 127.0.0.1:${port.upstash} accepts connections but does not answer PING with UPSTASH_REDIS_REST_TOKEN ` +
          '(an Upstash gateway or srh container started with another token, or one that hangs): stop it ' +
          `(npm run services:down, or docker compose --project-name ${composeProject(env)} stop srh), or set UPSTASH_REDIS_REST_TOKEN to its token.`,
      );
    }
    await startDaemon({
      name: `upstash-gateway-${port.upstash}`,
      command: process.execPath,
      args: ['--import', 'tsx', 'tools/upstash-gateway/gateway.ts', '--port', String(port.upstash)],
      env,
      ready: () => upstashAnswers(env),
    });
    return true;
  });
}

/** A FerretDB on another port than 27017 (a test's own) gets its own data, log and pid files. */
const ferretName = (port: number) => (port === 27017 ? 'ferretdb' : `ferretdb-${port}`);

/**
 * FerretDB (tools/ferretdb, built on first use) storing its documents in a database of the local PostgreSQL
 * (`ferretdb`, or `ferretdb_<port>` for a test's own instance), unless something answers on the port. Its
 * PostgreSQL backend lets PostgreSQL filter on equality of any top-level field, where the SQLite backend
 * decodes every document in Go for anything but `{_id: value}` (docs/ferretdb.md has the measurements).
 */
export function startFerretDb(port: number, log: (line: string) => void = console.log): Promise<boolean> {
  return withStartLock(ferretName(port), () => startFerretDbNow(port, log));
}

/** Whether it started one (false: something answers on the port, maybe started meanwhile by another process). */
async function startFerretDbNow(port: number, log: (line: string) => void): Promise<boolean> {
  if (await portAnswers(port)) return false;
  const tool = await ensureGoTool('ferretdb', log);
  if (!tool.available)
    throw new ServiceError(
      `Nothing answers on 127.0.0.1:${port} (MongoDB) and no Docker engine is available: ${tool.detail}; or start Docker, or run MongoDB 7 yourself.`,
    );
  const storage = new URL(ferretDbStorageUrl(port));
  await ensureDatabase(storage.href);
  // Its pool opens connections as requests need them; 20 leaves PostgreSQL's other 80 to the shop and the tests.
  storage.search = 'pool_max_conns=20';
  await startDaemon({
    name: ferretName(port),
    command: tool.detail,
    args: ['-listen-addr', `127.0.0.1:${port}`, '-handler', 'postgresql'],
    // In its environment, not its arguments: ps shows a process's arguments, password included, to every local user.
    env: { ...process.env, FERRETDB_POSTGRESQL_URL: storage.href },
    ready: () => portAnswers(port),
  });
  return true;
}

/** The PostgreSQL database a FerretDB on this port keeps its documents in. */
export function ferretDbStorageUrl(port: number): string {
  const storage = new URL(localEnv().DATABASE_URL!);
  storage.pathname = `/${ferretName(port).replace('-', '_')}`;
  return storage.href;
}

export const stopFerretDb = (port: number): Promise<boolean> => stopDaemon(ferretName(port));

/** Whether the server on this port is a FerretDB that startFerretDb started (and so may be stopped). */
export const ferretDbIsOurs = (port: number): boolean => daemonPid(ferretName(port)) !== undefined;

/**
 * The compose project for the environment's ports: docker-compose.yml's own name for the default ports, and
 * a project of their own for any others (npm start on a test's ports), whose containers and volumes then sit
 * beside the default ones instead of replacing them with containers published elsewhere.
 */
export function composeProject(env: Record<string, string>): string {
  const port = ports(env);
  const defaults = ports({});
  const atDefaults = (Object.keys(defaults) as Array<keyof typeof defaults>).every((name) => port[name] === defaults[name]);
  return atDefaults ? COMPOSE_PROJECT : `${COMPOSE_PROJECT}-${port.postgres}-${port.upstash}-${port.mongo}-${port.redis}`;
}
const COMPOSE_PROJECT = 'ecommerce-pipeline';

/**
 * What docker-compose.yml reads: the ports of the environment's URLs, DATABASE_URL's role, password and
 * database (created on a new volume), the gateway's token and the project.
 */
export function composeEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const port = ports(env);
  const database = new URL(env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop');
  return {
    ...process.env,
    POSTGRES_USER: decodeURIComponent(database.username) || 'postgres',
    POSTGRES_PASSWORD: decodeURIComponent(database.password),
    POSTGRES_DB: decodeURIComponent(database.pathname.slice(1)) || 'shop',
    POSTGRES_PORT: String(port.postgres),
    UPSTASH_PORT: String(port.upstash),
    MONGO_PORT: String(port.mongo),
    REDIS_PORT: String(port.redis),
    UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN,
    COMPOSE_PROJECT_NAME: composeProject(env),
  };
}

const COMPOSE_SERVICES: Record<ServiceName, string[]> = { postgres: ['postgres'], upstash: ['redis', 'srh'], mongo: ['mongo'] };

export interface UpOptions {
  log?: (line: string) => void;
  /** Also start PgBouncer (transaction mode) on 127.0.0.1:6432 in front of PostgreSQL. */
  pooler?: boolean;
  /** Told of each service as soon as it is started, so that a Ctrl-C before `servicesUp` returns still stops it. */
  onStarted?: (entry: Started) => void;
  /** Who uses the services until this process exits (npm start, npm test, the bench), as another process's
   *  servicesDown says it; none for a command that only brings them up. */
  user?: string;
}

/**
 * A PostgreSQL that answers may still refuse DATABASE_URL's role: a stock Debian/Ubuntu server asks 127.0.0.1
 * for a password, Homebrew's has no `postgres` role. Said here, with what to set, rather than as a bare
 * driver error from the first migration or FerretDB's storage.
 */
async function assertPostgresLogin(databaseUrl: string, recreate?: string): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const sql = postgres(url.href, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    // 28P01 wrong password, 28000 no such role or no pg_hba.conf entry for it.
    if (code !== '28P01' && code !== '28000') throw error;
    throw new ServiceError(
      recreate
        ? `PostgreSQL in Docker Compose does not let DATABASE_URL's role in (${String(message)}): its volume was created for ` +
            `another role. Set DATABASE_URL in .env to that role, or recreate the volume for this one: ${recreate}.`
        : `PostgreSQL on ${url.host} does not let DATABASE_URL's role in (${String(message)}). Set DATABASE_URL in .env ` +
            'to a role it accepts, allowed to create databases, e.g. `sudo -u postgres createuser --createdb --pwprompt shop` ' +
            'and then DATABASE_URL=postgres://shop:<password>@127.0.0.1:5432/shop (see .env.example).',
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Something answers on the pooler's port: it must let DATABASE_URL's role through to the server, as ours would (a
 * distribution's PgBouncer service with its stock configuration, or another program, would not).
 */
async function assertPooler(databaseUrl: string, postgresPort: number): Promise<void> {
  // The server's `postgres` database, which every cluster has (DATABASE_URL's may not be created yet).
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const sql = postgres(url.href, { max: 1, connect_timeout: 5, prepare: false, onnotice: () => {} });
  try {
    // The server behind it answers with its own port: another cluster's pooler is not this one's.
    const [{ port } = { port: null }] = await sql<Array<{ port: number | null }>>`select inet_server_port() as port`;
    if (port !== null && port !== postgresPort) throw new Error(`it leads to a PostgreSQL on port ${port}, not ${postgresPort}`);
  } catch (error) {
    throw new ServiceError(
      `127.0.0.1:${POOLER_PORT} answers, but not as a pooler in front of DATABASE_URL's server (${(error as Error).message}). ` +
        "Stop what listens there (this project's, from an earlier run: npm run services:down; a distribution's PgBouncer: " +
        'sudo systemctl disable --now pgbouncer), then run services:up -- --pooler again.',
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Starts whatever is missing; idempotent. Returns what it started now (for servicesDown). */
export async function servicesUp(options: UpOptions = {}): Promise<Started[]> {
  const log = options.log ?? console.log;
  const env = localEnv();
  const port = ports(env);
  if (port.postgres === POOLER_PORT) {
    throw new ServiceError(
      `DATABASE_URL names 127.0.0.1:${POOLER_PORT}, the pooler's port: services:up, the migrations and the seed need PostgreSQL's own ` +
        'port there (.env). Give the pooled URL only to what should go through the pooler, in its environment: ' +
        `DATABASE_URL=<the same URL on port ${POOLER_PORT}> DATABASE_PREPARE=false npm run offline.`,
    );
  }
  // Held before anything is looked at: a process that stops what it started from now on leaves these running,
  // and one stopping them already is waited for (they would answer now, and be gone in a moment).
  if (options.user) {
    holdLease(options.user, env, options.pooler === true);
    if (otherUsers('stopping').length > 0) {
      log('services: waiting for another process to finish stopping its services');
      await waitFor(async () => otherUsers('stopping').length === 0, 60_000, 200);
    }
  }
  const status = await health(env);
  const missing = (Object.keys(status) as ServiceName[]).filter((name) => !status[name]);
  const started: Started[] = [];
  const add = (entry: Started) => {
    started.push(entry);
    record(entry);
    options.onStarted?.(entry);
  };
  if (status.postgres) await assertPostgresLogin(env.DATABASE_URL!);
  if (missing.length === 0) log('services: postgres, upstash REST and mongo wire all answer');
  const engine =
    missing.length > 0 && commandExists('docker') && spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  // An engine without the Compose v2 plugin (Debian/Ubuntu's docker.io alone) cannot run docker-compose.yml.
  const docker = engine && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  if (engine && !docker) log('services: Docker answers but has no Compose v2 plugin (`docker compose version` failed): starting natively');
  // A Redis already on REDIS_URL's port (the machine's own) stays the one used: Compose's could not publish
  // that port, and the gateway runs natively in front of it.
  const redisAnswers = missing.includes('upstash') && (await portAnswers(port.redis));
  const composed = docker ? missing.filter((name) => name !== 'upstash' || !redisAnswers) : [];
  if (composed.length > 0) {
    const services = composed.flatMap((name) => COMPOSE_SERVICES[name]);
    const project = composeProject(env);
    log(`services: starting with docker compose (project ${project}): ${services.join(', ')}`);
    // Recorded first: a Ctrl-C while compose waits still stops them.
    for (const name of composed) add({ name, port: port[name], by: 'compose', project });
    await exec('docker', ['compose', 'up', '--detach', '--wait', ...services], composeEnv(env));
    // A volume keeps the role it was first created with: one made for another DATABASE_URL refuses this one.
    if (composed.includes('postgres') && (await waitFor(() => portAnswers(port.postgres), 60_000)))
      await assertPostgresLogin(
        env.DATABASE_URL!,
        `docker compose --project-name ${project} rm --stop --force postgres && docker volume rm ${project}_postgres-data (its data goes with it)`,
      );
  }
  for (const name of missing.filter((name) => !composed.includes(name))) {
    log(`services: starting ${name} natively on 127.0.0.1:${port[name]}`);
    let by: StartedBy;
    if (name === 'postgres') {
      by = await startNativePostgres(port.postgres);
      await assertPostgresLogin(env.DATABASE_URL!);
    } else {
      by = name === 'upstash' ? 'gateway' : 'ferretdb';
      const startedNow = name === 'upstash' ? await startGateway(env, add) : await startFerretDb(port.mongo, log);
      if (!startedNow) {
        log(`services: ${name} was started meanwhile by another process (npm start or npm test): used as it is`);
        continue;
      }
    }
    add({ name, port: port[name], by });
  }
  // Compose's --wait ends when a container without a healthcheck is running (srh), which may be before its
  // server answers, and a published port takes connections before the container's server does: waited for.
  const notAnswering = async () => {
    const now = await health(env);
    return missing.filter((name) => !now[name]);
  };
  let stillMissing = await notAnswering();
  if (stillMissing.length > 0 && composed.length > 0)
    await waitFor(async () => (stillMissing = await notAnswering()).length === 0, 60_000, 250);
  if (stillMissing.length > 0) throw new ServiceError(`services did not come up: ${stillMissing.join(', ')}`);
  if (options.pooler) {
    if (await portAnswers(POOLER_PORT)) {
      await assertPooler(pooledUrl(env.DATABASE_URL!), port.postgres);
      log(`services: pooler answers on 127.0.0.1:${POOLER_PORT}`);
    } else {
      const database = new URL(env.DATABASE_URL!);
      log(`services: starting PgBouncer (transaction mode) on 127.0.0.1:${POOLER_PORT} → ${database.hostname}:${port.postgres}`);
      await startPooler(database.href);
      log(
        `services: to go through it, run with DATABASE_URL=${redactUrl(pooledUrl(database.href))} DATABASE_PREPARE=false${database.password ? ' (your password for ***)' : ''} ` +
          "in that command's environment, not in .env (which must keep PostgreSQL's own port)",
      );
      add({ name: 'pooler', port: POOLER_PORT, by: 'pgbouncer' });
    }
  }
  return started;
}

/**
 * Stops what servicesUp started (all it recorded, or `only` those: what this process started), never a system
 * service. With `only`, a service another live process uses is left running, and said; `npm run services:down`
 * (all) stops it anyway, and says who was using it.
 */
export async function servicesDown(only?: Started[], log: (line: string) => void = console.log): Promise<void> {
  // Said before the leases are read: a servicesUp from now on waits until this is done.
  const stopping = only
    ? writeUntilExit(`stopping-${process.pid}.json`, { pid: process.pid, started: processStart(process.pid) })
    : () => {};
  try {
    // The pooler sits in front of PostgreSQL, the gateway in front of Redis: the one in front goes first.
    const order = (entry: Started) => (entry.name === 'pooler' ? 0 : entry.name === 'redis' ? 2 : 1);
    const users = otherUsers();
    const usersOf = (entry: Started) => users.filter((lease) => lease.services.some(same(entry)));
    const describe = (leases: Lease[]) => [...new Set(leases.map(({ user, pid }) => `${user} (pid ${pid})`))].join(', ');
    const recorded = readState().filter((entry) => !only || only.some(same(entry)));
    const inUse = only ? recorded.filter((entry) => usersOf(entry).length > 0) : [];
    if (inUse.length > 0)
      log(
        `services: left ${inUse.map(({ name, port }) => `${name} on ${port}`).join(', ')} running: ` +
          `${describe(inUse.flatMap(usersOf))} uses them; npm run services:down stops them`,
      );
    const targets = recorded.filter((entry) => !inUse.includes(entry)).sort((a, b) => order(a) - order(b));
    if (!only) {
      const used = targets.filter((entry) => usersOf(entry).length > 0);
      if (used.length > 0) log(`services: stopping services ${describe(used.flatMap(usersOf))} still uses`);
    }
    for (const { name, port, by, project } of targets) {
      if (by === 'pgbouncer') await stopPooler();
      if (by === 'compose')
        await exec('docker', ['compose', '--project-name', project ?? COMPOSE_PROJECT, 'stop', ...COMPOSE_SERVICES[name as ServiceName]]);
      if (by === 'gateway') await stopDaemon(`upstash-gateway-${port}`);
      if (by === 'redis-server') await stopRedis(port, log);
      if (by === 'ferretdb') await stopFerretDb(port);
      // 'system' (a system PostgreSQL we merely started) is left running: it is the machine's, not ours.
      if (by !== 'system') log(`services: stopped ${name} on ${port} (${by})`);
    }
    writeState(readState().filter((entry) => !targets.some(same(entry))));
  } finally {
    stopping();
  }
}

export async function servicesStatus(): Promise<Record<ServiceName, boolean>> {
  return health(localEnv());
}

if (import.meta.main) {
  try {
    const { values, positionals } = parseArgs({ options: { pooler: { type: 'boolean', default: false } }, allowPositionals: true });
    const command = positionals[0] ?? 'status';
    if (!['up', 'down', 'status'].includes(command) || positionals.length > 1)
      throw new ServiceError(`unknown command "${positionals.join(' ')}" (use up, down or status)`);
    if (values.pooler && command !== 'up') throw new ServiceError('--pooler goes with "up" only');
    if (command === 'up') await servicesUp({ pooler: values.pooler });
    if (command === 'down') await servicesDown();
    const env = localEnv();
    const state = readState();
    const rows = Object.entries(await health(env)).map(([name, up]) => ({ name, port: ports(env)[name as ServiceName], up }));
    const pooler = await portAnswers(POOLER_PORT);
    if (pooler || state.some((s) => s.name === 'pooler')) rows.push({ name: 'pooler', port: POOLER_PORT, up: pooler });
    for (const { name, port, up } of rows) {
      const by = state.find((s) => s.name === name && s.port === port)?.by;
      console.log(`${name.padEnd(9)} 127.0.0.1:${String(port).padEnd(6)} ${up ? 'up' : 'down'}${by ? ` (started by us: ${by})` : ''}`);
    }
  } catch (error) {
    exit(1, error instanceof ServiceError || error instanceof TypeError ? `error: ${error.message}` : error);
  }
}
