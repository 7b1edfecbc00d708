import { routeHandler } from '../shared/http/route-handler.js';
import { getOpenApiRoute, openApiDocument } from '../shared/http/routes.js';

/** The document, generated once per container; each answer puts the origin it was asked through first. */
let document: Record<string, unknown> | undefined;

/** GET /openapi.json — the OpenAPI 3.1 document, generated from the route declarations; this API first among its servers. */
export const handler = routeHandler(getOpenApiRoute, async ({ headers }) => {
  const host = headers.host ?? '';
  // Only a plain host name (and port) becomes a server URL: the Host header is the client's to write.
  const origin = /^[a-z0-9.-]+(:\d{1,5})?$/i.test(host)
    ? `${headers['x-forwarded-proto'] === 'http' || host.startsWith('127.0.0.1') || host.startsWith('localhost') ? 'http' : 'https'}://${host}`
    : '';
  document ??= openApiDocument();
  const servers = document.servers as unknown[];
  const body = origin ? { ...document, servers: [{ url: origin, description: 'this API' }, ...servers] } : document;
  return { statusCode: 200, body, headers: { 'Cache-Control': 'public, max-age=300' } };
});
