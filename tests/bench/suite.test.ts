import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type SuiteResult, validateSuiteResult } from '../../bench/lib/result.js';
import { runSuite } from '../../bench/run.js';

/**
 * A smoke test of `npm run bench`: the orchestrator runs a tiny version of the suite (the --tiny profile,
 * benchmarks that need only the data set, under its own tag so it never meets a developer's run) and the
 * result file must have the documented shape. It never asserts on a ratio or a goal: the numbers of a
 * benchmark on a shared CI machine are noise.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench (tiny)', () => {
  it('runs seed, round-trips and cold-start and writes a well-formed result file', { timeout: 180_000 }, async () => {
    const lines: string[] = [];
    const { result, file } = await runSuite({
      profile: 'tiny',
      only: ['seed', 'round-trips', 'cold-start'],
      skip: null,
      keep: false,
      resultsDir: dir,
      tag: 'smoke',
      log: (line) => lines.push(line),
    });
    const stored = JSON.parse(readFileSync(file, 'utf8')) as SuiteResult;
    expect(validateSuiteResult(stored)).toEqual([]);
    expect(stored).toEqual(JSON.parse(JSON.stringify(result)));
    expect(stored.profile).toBe('tiny');
    expect(stored.benches.map((b) => [b.name, b.status, b.error])).toEqual([
      ['seed', 'ok', undefined],
      ['round-trips', 'ok', undefined],
      ['cold-start', 'ok', undefined],
    ]);
    for (const bench of stored.benches) {
      expect(bench.metrics.length, bench.name).toBeGreaterThan(0);
      for (const m of bench.metrics) expect(m.bench).toBe(bench.name);
    }
    expect(stored.metrics).toHaveLength(stored.benches.reduce((n, b) => n + b.metrics.length, 0));
    // The one table, printed at the end.
    expect(lines.join('\n')).toMatch(/metric\s+ours\s+reference\s+ratio\s+goal\s+pass\/fail/);
  });
});
