import assets from 'web-console:assets';
import { getConfig } from '../shared/config.js';
import { consolePage, getConsoleRoute } from '../shared/http/console-routes.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /console — the web console's page (web/): it loads its content-hashed script and style sheet from /console/{asset}. */
export const handler = routeHandler(getConsoleRoute, async () => ({
  statusCode: 200,
  text: consolePage(assets.page, getConfig().auth),
  // Always asked again (it is small), so a new build's file names are seen at once.
  headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' },
}));
