import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/getOpenApi.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

/** GET /openapi.json in process: the document names the origin it was asked through, whatever the Host. */
describe('GET /openapi.json', () => {
  const get = async (host: string) => {
    const event = httpEvent({ method: 'GET', path: '/openapi.json', authorization: null });
    event.headers = { ...event.headers, host };
    const response = await handler(event, lambdaContext('getOpenApi'));
    expect(response.statusCode).toBe(200);
    return JSON.parse(String(response.body)) as { servers: Array<{ url: string }> };
  };

  it('names the origin asked first among its servers', async () => {
    expect((await get('api.example.com')).servers[0]).toEqual({ url: 'https://api.example.com', description: 'this API' });
    expect((await get('127.0.0.1:3000')).servers[0]?.url).toBe('http://127.0.0.1:3000');
  });

  it('keeps no copy of the document per Host a client writes (a warm container’s memory is not the client’s to fill)', async () => {
    // A full collection on demand, so that only what is kept is counted (not the answers' garbage).
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await get('warm-up.example');
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 0; n < 2_000; n++) await get(`h${n}.example`);
    gc();
    const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
    // One document is about 150 KB: a copy per host would keep about 300 MB here.
    expect(grownMb).toBeLessThan(30);
  }, 60_000);
});
