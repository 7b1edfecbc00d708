import { httpHandler } from '../shared/http/handler.js';
import { ROUTES } from '../shared/http/routes.js';
import { allowedMethods, unroutedError } from '../shared/http/unrouted.js';

/**
 * The catch-all route (`$default`): any request no other route matches — a path the API does not have
 * (404), or a method its path does not take (405 with Allow). Its query and body are never read.
 */
export const handler = httpHandler('notFound', { access: 'public', ignored: ['query', 'body'] }, async ({ event }) => {
  const { method } = event.requestContext.http;
  const allow = allowedMethods(event.rawPath, ROUTES);
  // $default also takes OPTIONS, so a browser's CORS preflight may land here: answered as one (2xx, with the
  // stack's CORS headers) for a path the API has, as an OPTIONS request asks, with the methods it takes.
  if (method === 'OPTIONS' && allow.length > 0) return { statusCode: 204, headers: { Allow: allow.join(', ') } };
  throw unroutedError(method, event.rawPath, allow);
});
