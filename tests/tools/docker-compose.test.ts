import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseEnv, promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../../scripts/lib/env.js';
import { ensureGoTool } from '../../scripts/lib/go-tools.js';
import { composeEnv } from '../../scripts/services.js';

/**
 * docker-compose.yml, the laptops' path to the same services: valid, and what the native path runs. It is
 * loaded by compose-go, the loader `docker compose config` uses (tools/compose-config), so a file Docker
 * would refuse fails here, on a machine without Docker.
 */
const run = promisify(execFile);
interface ComposeConfig {
  name: string;
  services: Record<
    string,
    {
      image: string;
      ports?: Array<{ published: string; host_ip: string }>;
      environment?: Record<string, string>;
      healthcheck?: { test: string[] };
    }
  >;
}
let config: ComposeConfig;

/**
 * What loads the file: tools/compose-config (built with Go, which the native path has), else Docker's own
 * `docker compose config` (which a laptop on the Docker path has); neither: the file's tests are skipped.
 */
async function composeLoader(): Promise<{ command: string; args: string[] } | { unavailable: string }> {
  const tool = await ensureGoTool('compose-config', (line) => console.log(`[compose-config] ${line}`));
  if (tool.available) return { command: tool.detail, args: ['docker-compose.yml'] };
  const docker = await run('docker', ['compose', 'version']).then(
    () => true,
    () => false,
  );
  return docker ? { command: 'docker', args: ['compose', '-f', 'docker-compose.yml', 'config'] } : { unavailable: tool.detail };
}
const loader = await composeLoader();
if ('unavailable' in loader)
  console.warn(`[compose-config] docker-compose.yml is not checked here (no Docker Compose either): ${loader.unavailable}`);

/** docker-compose.yml as `docker compose config` prints it, in `env` (the localstack profile too: every service). */
async function load(env: NodeJS.ProcessEnv): Promise<ComposeConfig> {
  if ('unavailable' in loader) throw new Error(loader.unavailable);
  const { stdout } = await run(loader.command, loader.args, { cwd: ROOT, env: { ...env, COMPOSE_PROFILES: 'localstack' } });
  return parseYaml(stdout);
}

const publishedPorts = (loaded: ComposeConfig) =>
  Object.fromEntries(
    Object.entries(loaded.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => [name, `${port.host_ip}:${port.published}`]),
    ),
  );

beforeAll(async () => {
  if ('unavailable' in loader) return;
  const {
    POSTGRES_PORT: _p,
    UPSTASH_PORT: _u,
    MONGO_PORT: _m,
    REDIS_PORT: _r,
    UPSTASH_REDIS_REST_TOKEN: _t,
    COMPOSE_PROJECT_NAME: _n,
    POSTGRES_USER: _pu,
    POSTGRES_PASSWORD: _pp,
    POSTGRES_DB: _pd,
    ...unset
  } = process.env;
  config = await load(unset);
}, 300_000);

describe.skipIf('unavailable' in loader)('docker-compose.yml', () => {
  it('loads as `docker compose config` loads it, with every service', () => {
    expect(Object.keys(config.services).sort()).toEqual(['localstack', 'mongo', 'postgres', 'redis', 'srh']);
  });

  it('pins every image to a version (no latest, no bare major)', () => {
    for (const [name, service] of Object.entries(config.services)) {
      expect(service.image, name).toMatch(/^[a-z0-9/._-]+:\d+\.\d+(\.\d+)?$/);
    }
  });

  it('publishes the native path ports on 127.0.0.1 only, with the token of .env.example', () => {
    // Redis too: the tests of the gateway and of a Redis outage talk to REDIS_URL directly, as on the native path.
    expect(publishedPorts(config)).toEqual({
      postgres: '127.0.0.1:5432',
      redis: '127.0.0.1:6379',
      srh: '127.0.0.1:8079',
      mongo: '127.0.0.1:27017',
      localstack: '127.0.0.1:4566',
    });
    const local = parseEnv(readFileSync(`${ROOT}.env.example`, 'utf8'));
    expect(config.services.srh!.environment?.SRH_TOKEN).toBe(local.UPSTASH_REDIS_REST_TOKEN);
  });

  it('follows the ports of the environment’s URLs and its token, as services:up passes them', async () => {
    const env = composeEnv({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:15432/shop',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:18079',
      UPSTASH_REDIS_REST_TOKEN: 'another-token',
      MONGODB_URI: 'mongodb://127.0.0.1:27117',
      REDIS_URL: 'redis://127.0.0.1:16379',
    });
    const loaded = await load(env);
    expect(publishedPorts(loaded)).toMatchObject({
      postgres: '127.0.0.1:15432',
      redis: '127.0.0.1:16379',
      srh: '127.0.0.1:18079',
      mongo: '127.0.0.1:27117',
    });
    expect(loaded.services.srh!.environment?.SRH_TOKEN).toBe('another-token');
  });

  it('creates DATABASE_URL’s role and database on a new volume, as the native path uses them', async () => {
    expect(config.services.postgres!.environment).toMatchObject({ POSTGRES_USER: 'postgres', POSTGRES_DB: 'shop' });
    const loaded = await load(composeEnv({ DATABASE_URL: 'postgres://shop%2Downer:s3cret%40x@127.0.0.1:5432/shopdb' }));
    expect(loaded.services.postgres!.environment).toMatchObject({
      POSTGRES_USER: 'shop-owner',
      POSTGRES_PASSWORD: 's3cret@x',
      POSTGRES_DB: 'shopdb',
    });
  });

  it('gives other ports a project of their own (npm start on a test’s ports does not recreate the default containers)', async () => {
    expect(config.name).toBe('ecommerce-pipeline');
    const defaults = await load(composeEnv({}));
    expect(defaults.name).toBe('ecommerce-pipeline');
    const other = await load(composeEnv({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:8179', MONGODB_URI: 'mongodb://127.0.0.1:27117' }));
    expect(other.name).not.toBe('ecommerce-pipeline');
    expect(other.name).toMatch(/^ecommerce-pipeline-[a-z0-9-]+$/);
  });

  it('is healthy once PostgreSQL takes TCP connections (the image’s first start runs a socket-only server meanwhile)', () => {
    expect(config.services.postgres!.healthcheck?.test.join(' ')).toMatch(/pg_isready .*-h 127\.0\.0\.1/);
  });
});
