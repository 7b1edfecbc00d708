import { describe, expect, inject, it } from 'vitest';

/** GET /docs through serverless-offline: the page, its files from this origin only, and a policy that says so. */
const get = (path: string) => fetch(`${inject('offlineHttpUrl')}${path}`, { signal: AbortSignal.timeout(20_000) });

describe('the API reference (GET /docs)', () => {
  it('is a page whose every file comes from this origin, under a policy that allows nothing else', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.sort()).toEqual(['/docs/init.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']);
    const policy = page.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(policy).toContain(directive);
    }
    expect(policy).not.toMatch(/https?:|\*|'unsafe-inline'|'unsafe-eval'/);
    for (const [path, type] of [
      ['/docs/swagger-ui-bundle.js', /^text\/javascript/],
      ['/docs/swagger-ui.css', /^text\/css/],
      ['/docs/init.js', /^text\/javascript/],
    ] as const) {
      const asset = await get(path);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toMatch(type);
      expect((await asset.text()).length, path).toBeGreaterThan(path.endsWith('init.js') ? 50 : 100_000);
    }
    expect(await (await get('/docs/init.js')).text()).toContain("url: '/openapi.json'");
    const unknown = await get('/docs/secrets.txt');
    expect(unknown.status).toBe(400);
  });

  it('a page or file opened with a query string (a campaign tag, a cache buster) is served as without one', async () => {
    for (const path of ['/docs?utm_source=mail', '/docs/init.js?v=2', '/openapi.json?v=2', '/console?utm_source=mail&utm_medium=x']) {
      const response = await get(path);
      expect(response.status, `${path}: ${(await response.clone().text()).slice(0, 200)}`).toBe(200);
      expect(await response.text(), path).toBe(await (await get(path.slice(0, path.indexOf('?')))).text());
    }
  });

  it('GET /health answers the stores’ state', async () => {
    const response = await get('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ok',
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' }, mongo: { status: 'ok' } },
    });
  });
});
