import * as z from 'zod';
import { defineRoute, ErrorEnvelopeSchema } from './route.js';

/**
 * The web console (web/, docs/console.md): a page and its files, built from web/ by esbuild and served by
 * two functions, so it is same-origin with the API everywhere (serverless-offline, API Gateway) and calls
 * only the public HTTP routes. The page may load, run and call nothing but this origin; no inline script
 * or style (trusted types on, no eval).
 */
export const CONSOLE_PAGE_POLICY = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self'",
  'connect-src': "'self'",
  'form-action': "'none'",
  sandbox: 'allow-scripts allow-same-origin allow-forms',
  'upgrade-insecure-requests': false,
} as const;

/** The meta element through which the page tells the console how the API reads a token (web/session.ts). */
export const CONSOLE_AUTH_META = 'ecommerce-console-auth';

/**
 * The page with the API's token rules in it: which claim holds the customer id and which scope (or Cognito
 * group) makes an admin, so that the console shows who the API will take the caller for, whatever the
 * stage's AUTH_CUSTOMER_CLAIM and AUTH_ADMIN_SCOPE. A meta element, not a script: the page runs none inline.
 */
export function consolePage(page: string, auth: { customerClaim?: string; adminScope: string }): string {
  const rules = JSON.stringify({ customerClaim: auth.customerClaim ?? 'sub', adminScope: auth.adminScope });
  const attribute = rules.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return page.replace('<head>', `<head>\n    <meta name="${CONSOLE_AUTH_META}" content="${attribute}" />`);
}

/** A file the page asks for: content-hashed names (console-3F2A….js) and the icon. */
export const ConsoleAssetName = z.string().regex(/^[A-Za-z0-9_-]{1,64}\.(js|css|svg)$/, 'must be a file of the console');

export const getConsoleRoute = defineRoute({
  function: 'getConsole',
  method: 'GET',
  path: '/console',
  summary: 'The web console, in a browser',
  description:
    'The shop (catalog, cart, checkout, order history) and the admin dashboard (sales, cache, benchmarks) over this API’s public routes, every file from this origin.',
  tags: ['meta'],
  request: { access: 'public', contentSecurityPolicy: CONSOLE_PAGE_POLICY, ignored: ['query'] },
  responses: { 200: { description: 'The page (text/html).' } },
});

export const getConsoleAssetRoute = defineRoute({
  function: 'getConsoleAsset',
  method: 'GET',
  path: '/console/{asset}',
  summary: 'A file of the web console',
  description: 'The console’s script and style sheet (named by their content hash: cached for good) and its icon.',
  tags: ['meta'],
  request: {
    path: z.strictObject({ asset: ConsoleAssetName }),
    access: 'public',
    contentSecurityPolicy: CONSOLE_PAGE_POLICY,
    ignored: ['query'],
  },
  example: { path: { asset: 'icon.svg' } },
  responses: {
    200: { description: 'The file (JavaScript, CSS or SVG).' },
    404: { description: 'ASSET_NOT_FOUND: no such file (an older build’s, say).', schema: ErrorEnvelopeSchema },
  },
});
