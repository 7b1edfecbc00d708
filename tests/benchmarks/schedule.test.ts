import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScript } from './helpers.js';

/**
 * The schedule as the framework resolves it (`sls print`: serverless.yml with params and variables
 * resolved, what packaging turns into the EventBridge rule). The CloudFormation template itself is
 * checked by the packaging tests.
 */
async function printFunctions(args: string[]): Promise<Record<string, any>> {
  const { code, stdout, stderr } = await runScript('node_modules/osls/bin/serverless.js', ['print', '--format', 'json', ...args], {
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.slice(stdout.indexOf('{'))).functions;
}

describe('runBenchmarks schedule (serverless.yml, resolved)', () => {
  it('runs daily by default, with the scale (and rate) configurable per stage through params', async () => {
    // One print (they take seconds): the stage overrides the scale, the rate stays the default. On prod the
    // schedule is off unless asked for (benchmarks never run against the production database on their own).
    const functions = await printFunctions(['--stage', 'prod', '--param=benchmarkScale=medium', '--param=benchmarkScheduleEnabled=true']);
    expect(functions.runBenchmarks.name).toBe('ecommerce-pipeline-prod-runBenchmarks');
    expect(functions.runBenchmarks.timeout).toBe(900);
    expect(functions.runBenchmarks.events).toEqual([
      { schedule: { rate: ['rate(1 day)'], enabled: true, input: { scale: 'medium', trigger: 'schedule' } } },
    ]);
    expect(functions.getLatestBenchmark.events).toEqual([{ httpApi: { method: 'GET', path: '/benchmarks/latest' } }]);
    expect(functions.getAnalyticsSummary.events).toEqual([{ httpApi: { method: 'GET', path: '/analytics/summary' } }]);
  }, 60_000);

  it('schedules the small scale by default (the params every stage inherits), and prod not at all unless asked', () => {
    const yml = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
    expect(yml).toMatch(/^\s+benchmarkSchedule: rate\(1 day\)$/m);
    expect(yml).toMatch(/^\s+benchmarkScale: small$/m);
    const prod = yml.slice(yml.indexOf('\n  prod:'), yml.indexOf('\nprovider:'));
    expect(prod).toMatch(/^\s+benchmarkScheduleEnabled: false$/m);
  });
});
