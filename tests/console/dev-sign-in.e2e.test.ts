import http from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { api } from '../helpers/http.js';

/**
 * The console's dev sign-in under serverless-offline mints admin tokens with the local secret: it answers
 * this machine's own pages only, never another site's page in the developer's browser (a cross-site request,
 * or DNS rebinding, which sends the attacker's name as Host).
 */
const base = new URL(inject('offlineHttpUrl'));

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with headers of our choosing (fetch may not set Host), as a browser or a program sends it. */
function send(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** POST /dev/tokens with a Host of our choosing. */
const postWithHost = (host: string) =>
  send(new URL('/dev/tokens', base), 'POST', { host, 'content-type': 'application/json' }, JSON.stringify({ admin: true }));

/** What a page would post to serverless-offline's Lambda port (aws-sdk's Invoke): devSignIn's event for an admin token. */
const invocation = new URL('/2015-03-31/functions/ecommerce-pipeline-dev-devSignIn/invocations', inject('offlineLambdaEndpoint'));
const signInEvent = JSON.stringify({
  version: '2.0',
  routeKey: 'POST /dev/tokens',
  rawPath: '/dev/tokens',
  rawQueryString: '',
  headers: { host: base.host, 'content-type': 'application/json' },
  requestContext: { http: { method: 'POST', path: '/dev/tokens' }, requestId: 'drive-by' },
  body: JSON.stringify({ admin: true }),
  isBase64Encoded: false,
});

describe('the dev sign-in (POST /dev/tokens, GET /dev/customers)', () => {
  it('answers this machine: the console’s same-origin request, or a program without an Origin', async () => {
    const plain = await api('POST', '/dev/tokens', { body: { admin: true }, authorization: null });
    expect(plain.status).toBe(201);
    const sameOrigin = await api('POST', '/dev/tokens', { body: { admin: true }, authorization: null, headers: { Origin: base.origin } });
    expect(sameOrigin.status).toBe(201);
  });

  it('refuses another site’s page (its Origin) and a name that only resolves here (its Host), minting nothing', async () => {
    const crossSite = await api('POST', '/dev/tokens', {
      body: { admin: true },
      authorization: null,
      headers: { Origin: 'https://evil.example' },
    });
    expect([crossSite.status, crossSite.body.error.code, crossSite.body.token]).toEqual([403, 'FORBIDDEN', undefined]);
    const customers = await api('GET', '/dev/customers', { authorization: null, headers: { Origin: 'https://evil.example' } });
    expect(customers.status).toBe(403);
    const rebound = await postWithHost(`evil.example:${base.port}`);
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('token');
  });
});

describe('serverless-offline on this machine, from another site’s page in the developer’s browser', () => {
  it('the Lambda port runs nothing for a browser’s request (an Origin) or a name that only resolves here (its Host): no function, no token, no CORS', async () => {
    // A string body goes as text/plain: no preflight, so the browser would send it and hand the page the answer.
    const crossSite = await send(invocation, 'POST', { origin: 'https://evil.example', 'content-type': 'text/plain' }, signInEvent);
    expect(crossSite.status, crossSite.body).toBe(403);
    expect(crossSite.body).not.toContain('token');
    expect(crossSite.headers['access-control-allow-origin']).toBeUndefined();
    const rebound = await send(invocation, 'POST', { host: `evil.example:${invocation.port}`, 'content-type': 'text/plain' }, signInEvent);
    expect(rebound.status, rebound.body).toBe(403);
    expect(rebound.body).not.toContain('token');
    // A program (aws-sdk's Invoke, npm run invoke) sends no Origin and a loopback Host: it still runs.
    const program = await send(invocation, 'POST', { host: invocation.host, 'content-type': 'application/octet-stream' }, signInEvent);
    expect(program.status, program.body).toBe(200);
    expect(JSON.parse(program.body)).toMatchObject({ statusCode: 201 });
  });

  it('the HTTP port answers no route under a name that only resolves here (DNS rebinding): the local secret is public, so any route would do', async () => {
    const rebound = await send(new URL('/health', base), 'GET', { host: `evil.example:${base.port}` });
    expect(rebound.status, rebound.body).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const local = await send(new URL('/health', base), 'GET', { host: `localhost:${base.port}` });
    expect(local.status, local.body).toBe(200);
  });
});
