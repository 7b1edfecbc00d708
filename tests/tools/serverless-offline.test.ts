import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/env.js';
import { type Offline, startOffline } from '../../scripts/lib/sls.js';

/**
 * What serverless-offline answers when a function fails in a way the function itself cannot answer for:
 * it outlives its timeout (a burst of cold workers on a small machine), or an error escapes its handler.
 * API Gateway answers those with an error status; a local run must never answer them 2xx, or a client
 * that trusts the status sees a phantom success. A service of its own (tests/fixtures/offline-errors).
 */
const PORTS = { http: 3190, lambda: 3192 };
let offline: Offline;

beforeAll(async () => {
  offline = await startOffline(process.env, {
    httpPort: PORTS.http,
    lambdaPort: PORTS.lambda,
    cwd: `${ROOT}tests/fixtures/offline-errors`,
  });
});

afterAll(() => offline?.stop());

async function get(path: string) {
  const response = await fetch(`http://127.0.0.1:${PORTS.http}${path}`, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.json() };
}

describe('serverless-offline, for failures outside the handler', () => {
  it('a function that outlives its timeout: 504 with the error envelope, never 200', async () => {
    const { status, body } = await get('/slow');
    expect(status).toBe(504);
    expect(body).toEqual({ error: { code: 'LAMBDA_TIMEOUT', message: expect.any(String) } });
  });

  it('an error that escapes the handler: 500 with the error envelope, never 200', async () => {
    const { status, body } = await get('/throws');
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: 'INTERNAL_ERROR', message: expect.any(String) } });
    expect(JSON.stringify(body)).not.toContain('escaped the handler'); // no internals, as AWS
  });
});
