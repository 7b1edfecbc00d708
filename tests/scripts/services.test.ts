import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { portAnswers } from '../../scripts/lib/process.js';
import { ServiceError, servicesDown, servicesUp } from '../../scripts/services.js';

/**
 * `npm start` and `npm test` start what is missing and stop what they started (scripts/services.ts),
 * natively when there is no Docker engine.
 */
const dockerEngine = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
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

  it.skipIf(dockerEngine)('a Redis it had to start for the gateway is its own: down stops it after the gateway', async () => {
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
  });
});
