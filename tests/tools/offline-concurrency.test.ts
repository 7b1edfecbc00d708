import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { portAnswers, waitFor } from '../../scripts/lib/process.js';

/**
 * serverless-offline's cap on instances per function (patches/serverless-offline+14.8.2.patch,
 * `custom.serverless-offline.maxConcurrency`): a burst beyond the cap waits for a free instance instead of
 * starting a worker thread per request, and an instance still runs one event at a time, as in Lambda.
 */
const PORTS = { http: 3194, lambda: 3196 };

async function burst(maxConcurrency: string, requests: number) {
  const offline: ChildProcess = spawn(
    process.execPath,
    [
      `${ROOT}node_modules/osls/bin/serverless.js`,
      'offline',
      'start',
      '--httpPort',
      String(PORTS.http),
      '--lambdaPort',
      String(PORTS.lambda),
    ],
    {
      cwd: `${ROOT}tests/fixtures/offline-concurrency`,
      env: { ...process.env, OFFLINE_MAX_CONCURRENCY: maxConcurrency, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      stdio: 'ignore',
    },
  );
  try {
    expect(await waitFor(() => portAnswers(PORTS.http), 60_000)).toBe(true);
    return await Promise.all(
      Array.from({ length: requests }, async () => {
        const response = await fetch(`http://127.0.0.1:${PORTS.http}/work`, { signal: AbortSignal.timeout(60_000) });
        return { status: response.status, ...((await response.json()) as { instance?: string; overlapped?: boolean }) };
      }),
    );
  } finally {
    offline.kill('SIGINT');
    await waitFor(async () => !(await portAnswers(PORTS.http)), 10_000);
  }
}

describe('serverless-offline instances per function', () => {
  it('with a cap of 2, a burst of 12 is served by 2 instances, one event at a time each, every request answered', async () => {
    const answers = await burst('2', 12);
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    expect(new Set(answers.map((answer) => answer.instance)).size).toBe(2);
    expect(answers.some((answer) => answer.overlapped)).toBe(false);
  }, 120_000);

  it('without a cap (0), each concurrent request starts an instance of its own', async () => {
    const answers = await burst('0', 6);
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(new Set(answers.map((answer) => answer.instance)).size).toBe(6);
  }, 120_000);
});
