import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_COUNTS, SAMPLE_SHOP_SEED, seed } from '../../scripts/db/seed.js';
import { ROOT } from '../../scripts/lib/env.js';
import { ROUTES } from '../../shared/http/routes.js';
import { adminBearer, bearerFor } from '../helpers/auth.js';

/**
 * The examples a new user copies — the README's "Try it" commands and every request in requests.http —
 * run as written against serverless-offline on the sample shop `npm start` seeds, so they cannot rot.
 */
const run = promisify(execFile);
const httpUrl = () => inject('offlineHttpUrl');
/** The documents address `npm start` (port 3000, Lambda API 3002); the tests' offline listens elsewhere. */
const START_HTTP = /(?:http:\/\/)?(?:localhost|127\.0\.0\.1):3000/g;

beforeAll(async () => {
  await seed(process.env.DATABASE_URL!, { ...DEFAULT_COUNTS, seed: SAMPLE_SHOP_SEED, reset: true });
}, 120_000);

describe('README "Try it"', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## Try it'));
  const script = /```bash\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

  it('runs every command as written, each answering a success', async () => {
    expect(script).toContain('curl');
    // curl as written, except that an HTTP error status fails the script (the README's `curl -s` would
    // print the error body and carry on).
    const prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 30 "$@"; echo; }\n';
    const { stdout } = await run('bash', ['-c', prelude + script.replace(START_HTTP, httpUrl())], {
      cwd: ROOT,
      env: { ...process.env, LAMBDA_ENDPOINT: inject('offlineLambdaEndpoint') },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('"status":"ok"');
    expect(stdout).toMatch(/"orderId":\d+/);
    expect(stdout).toContain('"revenue"');
  }, 150_000);
});

interface Example {
  title: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  expect: number[];
}

/** requests.http in the format both editors read: `### title`, `# expect …`, request line, headers, body. */
function parseRequestsFile(text: string): { variables: Record<string, string>; examples: Example[] } {
  const variables: Record<string, string> = {};
  const examples: Example[] = [];
  const blocks = text.split(/^###/m);
  for (const line of blocks[0]!.split('\n')) {
    const variable = /^@(\w+)\s*=\s*(.*)$/.exec(line);
    if (variable) variables[variable[1]!] = variable[2]!.trim();
  }
  for (const block of blocks.slice(1)) {
    const [titleLine, ...lines] = block.split('\n');
    const expected = lines.find((line) => line.startsWith('# expect'));
    const rest = lines.filter((line) => !line.startsWith('#'));
    const start = rest.findIndex((line) => line.trim() !== '');
    const [method, url] = rest[start]!.trim().split(/\s+/);
    const blank = rest.indexOf('', start + 1);
    const headerLines = rest.slice(start + 1, blank === -1 ? undefined : blank);
    const headers = Object.fromEntries(
      headerLines.map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    examples.push({
      title: titleLine!.trim(),
      method: method!,
      url: url!,
      headers,
      body:
        blank === -1
          ? ''
          : rest
              .slice(blank + 1)
              .join('\n')
              .trim(),
      expect: (expected ?? '').replace('# expect', '').trim().split(/\s+/).filter(Boolean).map(Number),
    });
  }
  return { variables, examples };
}

describe('requests.http', () => {
  const { variables, examples } = parseRequestsFile(readFileSync(`${ROOT}requests.http`, 'utf8'));

  it('has a request for every route, each with the status it expects', () => {
    const covered = new Set(
      examples.map((example) => `${example.method} ${new URL(example.url.replace('{{host}}', 'http://h')).pathname}`),
    );
    const pattern = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    // Pages and their files are for browsers (tests/http/api-docs.e2e.test.ts, tests/console/*.browser.test.ts).
    const browserOnly = ['getApiDocsAsset', 'getApiDocs', 'getConsoleAsset'];
    for (const route of ROUTES.filter((route) => !browserOnly.includes(route.function))) {
      expect(
        [...covered].some(
          (request) => request.startsWith(`${route.method} `) && pattern(route.path).test(request.slice(route.method.length + 1)),
        ),
        `${route.method} ${route.path}`,
      ).toBe(true);
    }
    for (const example of examples) expect(example.expect.length, example.title).toBeGreaterThan(0);
    expect(variables.host).toBe('http://127.0.0.1:3000');
  });

  it('answers every request with the status it states, in order', async () => {
    const values: Record<string, string> = {
      host: httpUrl(),
      token: (await bearerFor(1)).replace('Bearer ', ''),
      admin: (await adminBearer()).replace('Bearer ', ''),
    };
    const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? `{{${name}}}`);
    for (const example of examples) {
      const response = await fetch(fill(example.url), {
        method: example.method,
        headers: Object.fromEntries(Object.entries(example.headers).map(([name, value]) => [name, fill(value)])),
        ...(example.body ? { body: fill(example.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      const body = await response.text();
      expect(example.expect, `${example.title}: ${response.status} ${body.slice(0, 300)}`).toContain(response.status);
    }
  }, 120_000);
});
