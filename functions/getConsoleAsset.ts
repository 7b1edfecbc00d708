import assets from 'web-console:assets';
import { NotFoundError } from '../shared/errors.js';
import { getConsoleAssetRoute } from '../shared/http/console-routes.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /console/{asset} — a file of the web console: named by its content hash, so cached for good. */
export const handler = routeHandler(getConsoleAssetRoute, async ({ path }) => {
  const file = Object.hasOwn(assets.files, path.asset) ? assets.files[path.asset] : undefined;
  if (!file) throw new NotFoundError('ASSET_NOT_FOUND', `The console has no file ${path.asset}.`);
  const immutable = /-[A-Z0-9]{8,}\.(js|css)$/.test(path.asset);
  return {
    statusCode: 200,
    text: file.body,
    headers: { 'Content-Type': file.type, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600' },
  };
});
