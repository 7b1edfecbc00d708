import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../scripts/db/seed.js';
import { ROOT } from '../../scripts/lib/env.js';
import { connect, rowCounts, shopDigest, testDatabaseUrl, truncateShop } from './helpers.js';

/** `npx tsx scripts/db/seed.ts …` as a user runs it (npm run db:seed -- …), against shop_test. */
const sql = connect();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI through tsx's own entry point (what `npx tsx` runs, without npm's ~2 s start-up on a
 * busy 2-core machine); `viaNpx` runs the literal `npx tsx scripts/db/seed.ts …`.
 */
function cli(args: string[], env: Record<string, string> = {}, viaNpx = false): Promise<Run> {
  const [command, prefix] = viaNpx ? ['npx', ['tsx']] : [process.execPath, [`${ROOT}node_modules/tsx/dist/cli.mjs`]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, 'scripts/db/seed.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: testDatabaseUrl(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let before: Record<string, string>;

beforeAll(async () => {
  await truncateShop(sql);
  await seed(testDatabaseUrl(), { customers: 50, products: 20, orders: 100, seed: 3, asOf: '2026-01-01' });
  before = await shopDigest(sql);
});

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe('npm run db:seed: bad input → one clear message, non-zero exit, nothing changed', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a negative count', ['--orders=-5'], /--orders must be a non-negative integer \(got '-5'\)/],
    ['a negative count given as a separate argument', ['--orders', '-5'], /--orders/],
    ['a non-numeric count', ['--customers', 'lots'], /--customers must be a non-negative integer \(got 'lots'\)/],
    ['a fractional count', ['--products', '2.5'], /--products must be a non-negative integer/],
    ['an unknown flag', ['--order', '10'], /unknown option '--order'/],
    ['a stray argument', ['10'], /unexpected argument '10'/],
    ['a missing value', ['--orders'], /--orders/],
    ['orders without products', ['--products', '0', '--orders', '10'], /orders need products/],
    ['a bad --as-of', ['--as-of', 'yesterday'], /asOf must be a date/],
  ];

  it('a negative count, run exactly as documented (npx tsx scripts/db/seed.ts --orders -5)', async () => {
    const run = await cli(['--orders', '-5'], {}, true);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*--orders/);
    expect(await shopDigest(sql)).toEqual(before);
  });

  it.each(cases)('%s', async (_name, args, message) => {
    const run = await cli([...args, '--reset']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')[0]).toMatch(/^error: /);
    expect(run.stdout).toBe('');
    expect(await shopDigest(sql)).toEqual(before);
  });

  it('an unreachable database', async () => {
    const run = await cli(['--reset'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/shop_test' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/shop_test: .*ECONNREFUSED/);
    expect(await shopDigest(sql)).toEqual(before);
  });

  it('a database with data and no --reset', async () => {
    const run = await cli(['--orders', '10']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/already has data .*pass --reset/);
    expect(await shopDigest(sql)).toEqual(before);
  });
});

describe('npm run db:seed: success', () => {
  it('prints usage with --help', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--customers N/);
  });

  it('seeds with the given counts, plain progress lines when not a terminal, and a summary', async () => {
    const run = await cli(['--customers', '120', '--products', '30', '--orders', '1_000', '--seed', '5', '--reset']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/seed: order_items .*\(100%\)/);
    expect(run.stdout).toMatch(/seeded in [\d.]+ s \(seed 5/);
    expect(run.stdout).toMatch(/orders\s+1,000 rows/);
    expect(run.stdout).toMatch(/rows\/s/);
    expect(await rowCounts(sql)).toMatchObject({ customers: 120, products: 30, orders: 1_000 });
  });

  it('reads an --as-of without an offset as UTC, on a machine in any time zone (same seed and as-of, same rows)', async () => {
    const run = await cli(['--customers', '10', '--products', '5', '--orders', '10', '--as-of', '2026-03-29T00:00', '--reset'], {
      TZ: 'Europe/Berlin',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('orders in the 12 months before 2026-03-29T00:00:00.000Z');
    const spaced = await cli(['--customers', '10', '--products', '5', '--orders', '10', '--as-of', '2026-03-29 00:00', '--reset'], {
      TZ: 'Europe/Berlin',
    });
    expect(spaced.stdout).toContain('orders in the 12 months before 2026-03-29T00:00:00.000Z');
  });
});
