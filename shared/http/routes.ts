import * as z from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import * as analytics from '../analytics/routes.js';
import * as benchmarks from '../benchmarks/routes.js';
import * as carts from '../carts/routes.js';
import * as health from '../health/routes.js';
import * as orders from '../orders/routes.js';
import * as products from '../products/routes.js';
import { getConsoleAssetRoute, getConsoleRoute } from './console-routes.js';
import { buildOpenApi, type OpenApiInfo } from './openapi.js';
import { defineRoute, type RouteDefinition } from './route.js';

export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.literal('3.1.0'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
    components: z.record(z.string(), z.unknown()),
  })
  .meta({ title: 'OpenApiDocument' });

export const getOpenApiRoute = defineRoute({
  function: 'getOpenApi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This API description (OpenAPI 3.1)',
  description: 'Generated from the schemas the handlers validate with, so it cannot drift from what the API accepts.',
  tags: ['meta'],
  // A query string is ignored, as for the pages: a cache buster, a tool's own parameters.
  request: { access: 'public', ignored: ['query'] },
  responses: { 200: { description: 'The OpenAPI 3.1 document.', schema: OpenApiDocumentSchema } },
});

/** The assets of the API reference, by the name the page asks for them under. */
export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js'] as const;

/** The page loads only what this origin serves; Swagger UI draws its icons as data: images. */
const DOCS_PAGE_POLICY = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  sandbox: 'allow-scripts allow-same-origin allow-forms allow-popups allow-downloads',
  'require-trusted-types-for': '',
  'upgrade-insecure-requests': false,
} as const;

export const getApiDocsRoute = defineRoute({
  function: 'getApiDocs',
  method: 'GET',
  path: '/docs',
  summary: 'The API reference, in a browser',
  description: 'Swagger UI over GET /openapi.json, served from this origin (no CDN): every route, with an example request to try.',
  tags: ['meta'],
  request: { access: 'public', contentSecurityPolicy: DOCS_PAGE_POLICY, ignored: ['query'] },
  responses: { 200: { description: 'The page (text/html).' } },
});

export const getApiDocsAssetRoute = defineRoute({
  function: 'getApiDocsAsset',
  method: 'GET',
  path: '/docs/{asset}',
  summary: 'A file of the API reference page',
  description: 'The Swagger UI script and style sheet, and the script that starts it, as the page asks for them.',
  tags: ['meta'],
  request: {
    path: z.strictObject({ asset: z.enum(DOCS_ASSETS) }),
    access: 'public',
    contentSecurityPolicy: DOCS_PAGE_POLICY,
    ignored: ['query'],
  },
  example: { path: { asset: 'init.js' } },
  responses: { 200: { description: 'The file (JavaScript or CSS).' } },
});

const isRoute = (value: unknown): value is RouteDefinition =>
  typeof value === 'object' && value !== null && 'function' in value && 'method' in value && 'path' in value && 'responses' in value;

/**
 * Every HTTP route of the API: every route a domain declares in its routes.ts, and this module's own. A
 * function serving a route not found here fails tests/deploy/openapi.e2e.test.ts.
 */
export const ROUTES: readonly RouteDefinition[] = [
  ...[orders, products, carts, analytics, benchmarks, health].flatMap((domain) => Object.values(domain).filter(isRoute)),
  getOpenApiRoute,
  getApiDocsRoute,
  getApiDocsAssetRoute,
  getConsoleRoute,
  getConsoleAssetRoute,
];

const TAGS: OpenApiInfo['tags'] = {
  orders: 'Orders in PostgreSQL: one transaction each, never oversold, idempotent with a key.',
  products: 'The catalog and the best sellers (Redis, PostgreSQL behind it).',
  carts: 'Carts as versioned MongoDB documents, and their checkout.',
  customers: "A customer's own data: their order history.",
  analytics: 'Sales figures for the shop owner (admins).',
  benchmarks: 'Measured index and cache speedups (admins).',
  meta: 'This API: its description, its reference page, its web console, its health.',
};

/** The document, with the servers it is served from first (GET /openapi.json adds its own origin). */
export function openApiDocument(servers: OpenApiInfo['servers'] = []): Record<string, unknown> {
  return buildOpenApi(ROUTES, {
    title: 'ecommerce-pipeline',
    version: packageJson.version,
    description:
      'Orders on PostgreSQL, best sellers from Redis, carts on MongoDB. Errors always come back as `{"error": {"code", "message", "details"}}`, ' +
      'but for the answers API Gateway gives without running a function (a 429 throttle), which carry `{"message"}`. ' +
      'A request no route matches is answered 404 `NOT_FOUND`, or 405 `METHOD_NOT_ALLOWED` with `Allow` when its path takes other methods. ' +
      'Authenticated routes take a bearer JWT: a customer may act for themselves, an admin (scope `admin`) for anyone. ' +
      'Locally, `npm run --silent token -- --sub 1` prints a token for customer 1 (`--admin` for an admin).',
    license: { name: 'MIT', identifier: 'MIT' },
    contact: { name: 'ecommerce-pipeline maintainers' },
    servers: [...servers, { url: 'http://127.0.0.1:3000', description: 'npm start (serverless-offline)' }],
    tags: TAGS,
  });
}
