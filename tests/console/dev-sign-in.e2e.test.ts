import http from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { api } from '../helpers/http.js';

/**
 * The console's dev sign-in under serverless-offline mints admin tokens with the local secret: it answers
 * this machine's own pages only, never another site's page in the developer's browser (a cross-site request,
 * or DNS rebinding, which sends the attacker's name as Host).
 */
const base = new URL(inject('offlineHttpUrl'));

/** POST /dev/tokens with a Host of our choosing (fetch may not set Host). */
function postWithHost(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: base.hostname, port: base.port, path: '/dev/tokens', method: 'POST', headers: { host, 'content-type': 'application/json' } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ admin: true }));
  });
}

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
