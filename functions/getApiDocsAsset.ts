import styles from 'swagger-ui-dist/swagger-ui.css' with { type: 'text' };
import bundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'text' };
import { routeHandler } from '../shared/http/route-handler.js';
import { getApiDocsAssetRoute } from '../shared/http/routes.js';

/** GET /docs/{asset} — the files of the API reference page (GET /docs): Swagger UI from npm, and its start. */
const START = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: true, persistAuthorization: true });\n`;

// The published files name source maps that are not served: without the reference, browsers do not ask.
const withoutMap = (text: string) => text.replace(/\n\/[/*]# sourceMappingURL=[^\n]*\s*$/, '\n');

const ASSETS = {
  'swagger-ui.css': { text: withoutMap(styles), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { text: withoutMap(bundle), type: 'text/javascript; charset=utf-8' },
  'init.js': { text: START, type: 'text/javascript; charset=utf-8' },
} as const;

export const handler = routeHandler(getApiDocsAssetRoute, async ({ path }) => {
  const asset = ASSETS[path.asset];
  return { statusCode: 200, text: asset.text, headers: { 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=3600' } };
});
