import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseEnv, promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../../scripts/lib/env.js';
import { ensureGoTool } from '../../scripts/lib/go-tools.js';

/**
 * docker-compose.yml, the laptops' path to the same services: valid, and what the native path runs. It is
 * loaded by compose-go, the loader `docker compose config` uses (tools/compose-config), so a file Docker
 * would refuse fails here, on a machine without Docker.
 */
const run = promisify(execFile);
let config: {
  services: Record<string, { image: string; ports?: Array<{ published: string; host_ip: string }>; environment?: Record<string, string> }>;
};

beforeAll(async () => {
  const tool = await ensureGoTool('compose-config', (line) => console.log(`[compose-config] ${line}`));
  expect(tool.available, tool.detail).toBe(true);
  // The localstack profile is loaded too: every service is checked.
  const { stdout } = await run(tool.detail, ['docker-compose.yml'], { cwd: ROOT, env: { ...process.env, COMPOSE_PROFILES: 'localstack' } });
  config = parseYaml(stdout);
}, 300_000);

describe('docker-compose.yml', () => {
  it('loads as `docker compose config` loads it, with every service', () => {
    expect(Object.keys(config.services).sort()).toEqual(['localstack', 'mongo', 'postgres', 'redis', 'srh']);
  });

  it('pins every image to a version (no latest, no bare major)', () => {
    for (const [name, service] of Object.entries(config.services)) {
      expect(service.image, name).toMatch(/^[a-z0-9/._-]+:\d+\.\d+(\.\d+)?$/);
    }
  });

  it('publishes the native path ports on 127.0.0.1 only, with the token of .env.example', () => {
    const published = Object.fromEntries(
      Object.entries(config.services).flatMap(([name, service]) =>
        (service.ports ?? []).map((port) => [name, `${port.host_ip}:${port.published}`]),
      ),
    );
    expect(published).toEqual({
      postgres: '127.0.0.1:5432',
      srh: '127.0.0.1:8079',
      mongo: '127.0.0.1:27017',
      localstack: '127.0.0.1:4566',
    });
    const local = parseEnv(readFileSync(`${ROOT}.env.example`, 'utf8'));
    expect(config.services.srh!.environment?.SRH_TOKEN).toBe(local.UPSTASH_REDIS_REST_TOKEN);
  });
});
