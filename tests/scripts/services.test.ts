import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { portAnswers, waitFor } from '../../scripts/lib/process.js';
import { ServiceError, servicesDown, servicesUp } from '../../scripts/services.js';

/**
 * `npm start` and `npm test` start what is missing and stop what they started (scripts/services.ts),
 * natively when there is no Docker engine.
 */
const dockerEngine = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
// The native path starts a Redis of its own for the gateway only with redis-server installed.
const redisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
const REDIS_PORT = 6479;
const GATEWAY_PORT = 8279;

afterEach(() => {
  vi.unstubAllEnvs();
  // A Redis a failing run left behind on the test's port.
  spawnSync('redis-cli', ['-p', String(REDIS_PORT), 'shutdown', 'nosave'], { stdio: 'ignore' });
});

describe('services up and down', () => {
  it('a role PostgreSQL refuses: a ServiceError naming DATABASE_URL and what to set, and nothing started', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.username = 'no_such_role_for_services_test';
    vi.stubEnv('DATABASE_URL', url.href);
    const lines: string[] = [];
    const error = await servicesUp({ log: (line) => lines.push(line) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toMatch(/DATABASE_URL's role.*no_such_role_for_services_test.*createuser --createdb/s);
    expect(lines.filter((line) => line.includes('starting'))).toEqual([]);
  });

  it.skipIf(dockerEngine || !existsSync('/etc/postgresql'))(
    'no system cluster on DATABASE_URL’s port: says at once which clusters there are, and starts none',
    async () => {
      const url = new URL(process.env.DATABASE_URL!);
      url.port = '5499';
      vi.stubEnv('DATABASE_URL', url.href);
      const started = performance.now();
      const error = await servicesUp({ log: () => {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as Error).message).toMatch(/No system cluster listens on 5499.*\b\d+\/\w+ on \d+/s);
      expect(performance.now() - started).toBeLessThan(5_000);
    },
  );

  it.skipIf(dockerEngine)(
    'something on the gateway’s port that refuses the token: a ServiceError saying so and what to do, not a gateway dying on EADDRINUSE',
    async () => {
      // An Upstash endpoint started with another token: 401 to ours.
      const other = createServer((_request, response) => response.writeHead(401).end('{"error":"Unauthorized"}'));
      await new Promise<void>((resolve) => other.listen(GATEWAY_PORT, '127.0.0.1', resolve));
      onTestFinished(() => new Promise<void>((resolve) => other.close(() => resolve())));
      vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
      const error = await servicesUp({ log: () => {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `127\\.0\\.0\\.1:${GATEWAY_PORT} accepts connections but does not answer PING.*services:down.*UPSTASH_REDIS_REST_TOKEN`,
          's',
        ),
      );
    },
  );

  it.skipIf(dockerEngine || !redisServer)(
    'a Redis it had to start for the gateway is its own: down stops it after the gateway',
    async () => {
      vi.stubEnv('REDIS_URL', `redis://127.0.0.1:${REDIS_PORT}`);
      vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
      expect(await portAnswers(REDIS_PORT)).toBe(false);
      const started = await servicesUp({ log: () => {} });
      expect(started).toEqual([
        { name: 'redis', port: REDIS_PORT, by: 'redis-server' },
        { name: 'upstash', port: GATEWAY_PORT, by: 'gateway' },
      ]);
      expect(await portAnswers(REDIS_PORT)).toBe(true);
      await servicesDown(started, () => {});
      expect([await portAnswers(GATEWAY_PORT), await portAnswers(REDIS_PORT)]).toEqual([false, false]);
    },
  );

  it.skipIf(dockerEngine || !redisServer)(
    'services another live process uses (npm test under a running npm start) are left running by a down of what this process started, until that process is gone',
    async () => {
      vi.stubEnv('REDIS_URL', `redis://127.0.0.1:${REDIS_PORT}`);
      vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
      const started = await servicesUp({ log: () => {} });
      onTestFinished(() => servicesDown(started, () => {}));
      // Another process that uses the same services: it finds them answering and starts nothing.
      const user = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--eval',
          "const { servicesUp } = await import('./scripts/services.ts'); await servicesUp({ log: () => {}, user: 'npm test' }); console.log('using'); setInterval(() => {}, 1000);",
        ],
        { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          user.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('using') && resolve());
          user.once('exit', (code) => reject(new Error(`the other user exited (${code}) before using the services`)));
        });
        const lines: string[] = [];
        await servicesDown(started, (line) => lines.push(line));
        expect([await portAnswers(GATEWAY_PORT), await portAnswers(REDIS_PORT)]).toEqual([true, true]);
        expect(lines.join('\n')).toMatch(new RegExp(`left .*upstash on ${GATEWAY_PORT}.* running.*npm test \\(pid ${user.pid}\\)`, 's'));
      } finally {
        const gone = new Promise((resolve) => user.once('exit', resolve));
        user.kill();
        await gone;
      }
      // Once it is gone, they are this process's to stop again.
      await servicesDown(started, () => {});
      expect([await portAnswers(GATEWAY_PORT), await portAnswers(REDIS_PORT)]).toEqual([false, false]);
    },
  );

  it('a servicesUp while another process is stopping what it started waits for it, instead of finding the services up and losing them', async () => {
    // Another process stopping its services (a marker of a live process of ours that ends in 1.5 s).
    const stopper = spawn('sleep', ['1.5'], { stdio: 'ignore' });
    const marker = `${ROOT}.cache/service-users/stopping-${stopper.pid}.json`;
    mkdirSync(`${ROOT}.cache/service-users`, { recursive: true });
    writeFileSync(marker, JSON.stringify({ pid: stopper.pid }));
    onTestFinished(() => rmSync(marker, { force: true }));
    const lines: string[] = [];
    const started = performance.now();
    await servicesUp({ log: (line) => lines.push(line), user: 'npm test' });
    expect(lines[0]).toMatch(/waiting for another process to finish stopping its services/);
    expect(performance.now() - started).toBeGreaterThan(1_000);
    expect(stopper.exitCode).toBe(0);
  });
});

/**
 * The Docker path, with a `docker` of the test's own on PATH: it answers `info`, logs each call, and runs
 * `compose up` as Compose does for a container that is up before its server is (srh's runtime still booting):
 * it returns at once and the Upstash endpoint answers 1.5 s later (here, the dev gateway in front of the
 * machine's Redis).
 */
// The stand-in's Compose Redis, and the Redis the second test finds, are the machine's own on 6379.
const machineRedis = await portAnswers(6379);

describe.skipIf(!machineRedis)('the Docker path (a stand-in docker on PATH)', () => {
  const stub = mkdtempSync(join(tmpdir(), 'docker-stub-'));
  writeFileSync(
    join(stub, 'docker'),
    `#!/bin/sh
echo "REDIS_PORT=$REDIS_PORT COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT_NAME $*" >> "${stub}/calls"
if [ -n "$DOCKER_STUB_NO_COMPOSE" ] && [ "$1" = compose ]; then
  echo "docker: 'compose' is not a docker command." >&2; exit 1
fi
case "$*" in
  info) exit 0 ;;
  *" up "*)
    (sleep 1.5; REDIS_URL=redis://127.0.0.1:6379 exec "${process.execPath}" --import tsx tools/upstash-gateway/gateway.ts --port "$UPSTASH_PORT") > /dev/null 2>&1 &
    echo $! >> "${stub}/srh.pids" ;;
  *" stop "*)
    [ -f "${stub}/srh.pids" ] && kill $(cat "${stub}/srh.pids") && rm "${stub}/srh.pids" ;;
esac
exit 0
`,
  );
  chmodSync(join(stub, 'docker'), 0o755);
  const calls = () => (existsSync(join(stub, 'calls')) ? readFileSync(join(stub, 'calls'), 'utf8').trim().split('\n') : []);
  afterAll(() => {
    if (existsSync(join(stub, 'srh.pids'))) spawnSync('sh', ['-c', `kill $(cat '${stub}/srh.pids')`]);
    rmSync(stub, { recursive: true, force: true });
  });
  afterEach(() => rmSync(join(stub, 'calls'), { force: true }));

  it('waits for a service that Compose reports up before it answers, then down stops it in its own project', async () => {
    vi.stubEnv('PATH', `${stub}:${process.env.PATH}`);
    vi.stubEnv('REDIS_URL', `redis://127.0.0.1:${REDIS_PORT}`); // nothing answers there: Compose's Redis is needed
    vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
    const started = await servicesUp({ log: () => {} });
    const project = started[0]?.project;
    try {
      expect(started).toEqual([
        { name: 'upstash', port: GATEWAY_PORT, by: 'compose', project: expect.stringMatching(/^ecommerce-pipeline-/) },
      ]);
      expect(await portAnswers(GATEWAY_PORT)).toBe(true);
      expect(calls()).toContainEqual(`REDIS_PORT=${REDIS_PORT} COMPOSE_PROJECT_NAME=${project} compose up --detach --wait redis srh`);
    } finally {
      await servicesDown(started, () => {});
    }
    expect(calls().at(-1)).toMatch(new RegExp(`compose --project-name ${project} stop redis srh$`));
    expect(await waitFor(async () => !(await portAnswers(GATEWAY_PORT)), 5_000)).toBe(true);
  });

  it.skipIf(!redisServer)('an engine without the Compose v2 plugin (docker.io alone): starts natively, and says why', async () => {
    vi.stubEnv('PATH', `${stub}:${process.env.PATH}`);
    vi.stubEnv('DOCKER_STUB_NO_COMPOSE', '1');
    vi.stubEnv('REDIS_URL', `redis://127.0.0.1:${REDIS_PORT}`);
    vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
    const lines: string[] = [];
    const started = await servicesUp({ log: (line) => lines.push(line) });
    try {
      expect(started.map(({ name, by }) => [name, by])).toEqual([
        ['redis', 'redis-server'],
        ['upstash', 'gateway'],
      ]);
      expect(lines.join('\n')).toMatch(/no Compose v2 plugin.*starting natively/);
      expect(calls().filter((call) => call.includes(' up '))).toEqual([]);
    } finally {
      await servicesDown(started, () => {});
    }
  });

  it('keeps a Redis already on REDIS_URL’s port (Compose’s could not publish it there): the gateway runs natively in front of it', async () => {
    vi.stubEnv('PATH', `${stub}:${process.env.PATH}`);
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6379');
    vi.stubEnv('UPSTASH_REDIS_REST_URL', `http://127.0.0.1:${GATEWAY_PORT}`);
    const started = await servicesUp({ log: () => {} });
    try {
      expect(started).toEqual([{ name: 'upstash', port: GATEWAY_PORT, by: 'gateway' }]);
      expect(calls().filter((call) => call.includes(' up '))).toEqual([]);
    } finally {
      await servicesDown(started, () => {});
    }
    expect(await portAnswers(GATEWAY_PORT)).toBe(false);
  });
});
