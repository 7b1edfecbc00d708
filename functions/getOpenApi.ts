import { routeHandler } from '../shared/http/route-handler.js';
import { getOpenApiRoute, openApiDocument } from '../shared/http/routes.js';

let document: Record<string, unknown> | undefined;

/** GET /openapi.json — the OpenAPI 3.1 document, generated (once per container) from the route declarations. */
export const handler = routeHandler(getOpenApiRoute, async () => {
  document ??= openApiDocument();
  return { statusCode: 200, body: document, headers: { 'Cache-Control': 'public, max-age=300' } };
});
