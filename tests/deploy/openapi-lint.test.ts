import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { openApiDocument, ROUTES } from '../../shared/http/routes.js';

/**
 * The OpenAPI document passes the two linters people run on API descriptions, with no error and no
 * warning: Redocly's recommended rules (redocly.yaml) and Spectral's spectral:oas (.spectral.yaml).
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
const file = join(dir, 'openapi.json');
writeFileSync(
  file,
  JSON.stringify(
    openApiDocument([{ url: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', description: 'a deployed stage' }]),
    null,
    2,
  ),
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bin = (name: string) => `${ROOT}node_modules/.bin/${name}`;

describe('the OpenAPI document, linted', () => {
  it('redocly lint (recommended): no error, no warning', async () => {
    const { stdout } = await run(bin('redocly'), ['lint', file, '--config', `${ROOT}redocly.yaml`, '--format', 'json'], {
      cwd: ROOT,
    }).catch((error: { stdout: string }) => error);
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string }>;
    };
    expect(report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('spectral lint (spectral:oas): no error, no warning', async () => {
    // Exit 1 is "problems found" (listed below); any other failure (2: the ruleset or the file could not be
    // read) prints nothing on stdout, and must not read as "no problem".
    const { code, stdout, stderr } = await run(
      bin('spectral'),
      ['lint', file, '--ruleset', `${ROOT}.spectral.yaml`, '--format', 'json', '--quiet'],
      { cwd: ROOT },
    ).then(
      (result) => ({ ...result, code: 0 }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect([0, 1], stderr).toContain(code);
    const problems = JSON.parse(stdout) as Array<{ code: string; message: string; path: string[] }>;
    expect(problems.map((problem) => `${problem.code} at ${problem.path.join('.')}: ${problem.message}`)).toEqual([]);
  }, 60_000);

  it('every route that takes input documents an example request', () => {
    for (const route of ROUTES) {
      const { path, query, body } = route.request;
      if (path || query || body) expect(route.example, `${route.method} ${route.path}`).toBeDefined();
      if (body) expect(route.example?.body, `${route.method} ${route.path}: body`).toBeDefined();
    }
  });
});
