import { routeHandler } from '../shared/http/route-handler.js';
import { getApiDocsRoute } from '../shared/http/routes.js';

/**
 * GET /docs — the API reference: Swagger UI over GET /openapi.json. Its files come from GET /docs/{asset}
 * (getApiDocsAsset, bundled from npm), so the page loads nothing from another origin.
 */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>ecommerce-pipeline API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

const CACHED = 'public, max-age=3600';

export const handler = routeHandler(getApiDocsRoute, async () => ({
  statusCode: 200,
  text: PAGE,
  headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': CACHED },
}));
