import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import assets from 'web-console:assets';
import { describe, expect, it } from 'vitest';
import { handler as getConsole } from '../../functions/getConsole.js';
import { handler as getConsoleAsset } from '../../functions/getConsoleAsset.js';
import { ROOT } from '../../scripts/lib/env.js';
import { httpEvent, lambdaContext } from '../../scripts/lib/lambda-events.js';
import { openApiDocument } from '../../shared/http/routes.js';
import { ERROR_WORDS } from '../../web/errors.js';

/**
 * The web console as its functions serve it (web/build.ts makes `web-console:assets`, here through the
 * vitest plugin, in the bundles through serverless-esbuild's): its size budget, its strict CSP, and an
 * error code never shown without words.
 */

/** Every file the browser downloads for the console (page, script, style sheet, icon), gzipped. */
const CONSOLE_BUDGET_GZIP_BYTES = 30 * 1024;

const gzipped = (text: string) => gzipSync(text, { level: 9 }).length;

describe('the web console’s built assets', () => {
  it(`fit the budget: ${CONSOLE_BUDGET_GZIP_BYTES / 1024} KB gzipped in all`, () => {
    const sizes = Object.fromEntries([
      ['page', gzipped(assets.page)],
      ...Object.entries(assets.files).map(([name, file]) => [name, gzipped(file.body)]),
    ]);
    const total = Object.values(sizes).reduce((sum: number, n) => sum + Number(n), 0);
    console.info(`[console] gzipped bytes: ${JSON.stringify(sizes)}, total ${total}`);
    expect(total).toBeLessThanOrEqual(CONSOLE_BUDGET_GZIP_BYTES);
  });

  it('the page loads only files of its own, by path on this origin, and has no inline script or style', () => {
    const urls = [...assets.page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(
      urls
        .filter((url) => url.startsWith('/console/'))
        .map((url) => url.slice('/console/'.length))
        .sort(),
    ).toEqual(Object.keys(assets.files).sort());
    expect(urls.filter((url) => !url.startsWith('/'))).toEqual([]);
    expect(assets.page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    // Nothing the CSP would refuse: no eval, and no address but the XML namespaces Preact creates elements in.
    const script = Object.entries(assets.files).find(([name]) => name.endsWith('.js'))![1].body;
    expect(/\beval\(|new Function\(/.test(script)).toBe(false);
    expect([...new Set(script.match(/https?:\/\/[^"'`\s]+/g))].filter((url) => !url.startsWith('http://www.w3.org/'))).toEqual([]);
  });

  it('GET /console answers the page under a CSP that allows nothing but this origin', async () => {
    const response = await getConsole(httpEvent({ method: 'GET', path: '/console', authorization: null }), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Content-Type']).toMatch(/^text\/html/);
    const csp = String(response.headers?.['Content-Security-Policy']);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "require-trusted-types-for 'script'",
      "frame-ancestors 'none'",
    ])
      expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-|https?:|\*/);
  });

  it('GET /console/{asset}: hashed files cached for good, unknown names 404', async () => {
    const get = (asset: string) =>
      getConsoleAsset(
        httpEvent({ method: 'GET', path: `/console/${asset}`, pathParameters: { asset }, authorization: null }),
        lambdaContext(),
      );
    const script = Object.keys(assets.files).find((name) => name.endsWith('.js'))!;
    const response = await get(script);
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Content-Type']).toMatch(/^text\/javascript/);
    expect(response.headers?.['Cache-Control']).toContain('immutable');
    expect((await get('icon.svg')).headers?.['Content-Type']).toBe('image/svg+xml');
    const missing = await get('console-OLDBUILD.js');
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body!).error.code).toBe('ASSET_NOT_FOUND');
    expect((await get('..%2Fserverless.yml')).statusCode).toBe(400);
  });

  it('has words for every error code the API documents or throws', () => {
    const codes = new Set<string>();
    const document = JSON.stringify(openApiDocument());
    for (const match of document.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b(?:UNAUTHORIZED|FORBIDDEN|TIMEOUT)\b/g)) codes.add(match[0]);
    const sources = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(join(ROOT, dir, file), 'utf8'));
    for (const source of [...sources('shared'), ...sources('functions')])
      for (const match of source.matchAll(/(?:Error\(\s*|code: )'([A-Z][A-Z0-9_]+)'/g)) codes.add(match[1]!);
    codes.delete('CORS_ALLOWED_ORIGINS'); // an environment variable named in a description, not an error
    expect([...codes].filter((code) => !(code in ERROR_WORDS)).sort()).toEqual([]);
  });
});

describe('the console page, as getConsole serves it', () => {
  it('tells the console which claim holds the customer id and which scope makes an admin, as the API reads them', async () => {
    const { getConfig } = await import('../../shared/config.js');
    const response = await getConsole(httpEvent({ method: 'GET', path: '/console', authorization: null }), lambdaContext());
    const content = /<meta name="ecommerce-console-auth" content="([^"]*)"/.exec(String(response.body))?.[1];
    expect(content, 'the page carries the API’s auth rules').toBeDefined();
    const rules = JSON.parse(content!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    expect(rules).toEqual({ customerClaim: getConfig().auth.customerClaim, adminScope: getConfig().auth.adminScope });
  });
});

describe('the admin dashboard’s benchmark trend', () => {
  it('takes the median of a run’s ratios as the benchmarks do (an even count: the mean of the middle two)', async () => {
    const { medianRatio } = await import('../../web/admin.js');
    const row = (ratio: number) => ({ bench: 'btree', metric: `m${ratio}`, ours: ratio, reference: 1, ratio, unit: 'ms' });
    expect(medianRatio([1, 2, 3, 4].map(row) as never, 'btree')).toBe(2.5);
    expect(medianRatio([3, 1, 2].map(row) as never, 'btree')).toBe(2);
    expect(medianRatio([], 'btree')).toBeUndefined();
  });
});
