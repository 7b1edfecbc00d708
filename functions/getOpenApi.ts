import { routeHandler } from '../shared/http/route-handler.js';
import { getOpenApiRoute, openApiDocument } from '../shared/http/routes.js';

/** The document per origin it is served from (generated once per container and origin). */
const documents = new Map<string, Record<string, unknown>>();

/** GET /openapi.json — the OpenAPI 3.1 document, generated from the route declarations; this API first among its servers. */
export const handler = routeHandler(getOpenApiRoute, async ({ headers }) => {
  const host = headers.host ?? '';
  // Only a plain host name (and port) becomes a server URL: the Host header is the client's to write.
  const origin = /^[a-z0-9.-]+(:\d{1,5})?$/i.test(host)
    ? `${headers['x-forwarded-proto'] === 'http' || host.startsWith('127.0.0.1') || host.startsWith('localhost') ? 'http' : 'https'}://${host}`
    : '';
  let document = documents.get(origin);
  if (!document) {
    document = openApiDocument(origin ? [{ url: origin, description: 'this API' }] : []);
    documents.set(origin, document);
  }
  return { statusCode: 200, body: document, headers: { 'Cache-Control': 'public, max-age=300' } };
});
