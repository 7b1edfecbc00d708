import type { Context } from 'aws-lambda';
import { type HttpRequest, type HttpResult, httpHandler, type RouteSchemas } from './handler.js';
import type { RouteDefinition } from './route.js';

/**
 * httpHandler for a declared route: validation uses exactly the route's schemas (the ones the OpenAPI
 * document is generated from), and the handler carries its route so tests can check the pairing.
 */
export function routeHandler<S extends RouteSchemas>(
  route: RouteDefinition<S>,
  fn: (request: HttpRequest<S>, context: Context) => Promise<HttpResult>,
) {
  return Object.assign(httpHandler(route.function, route.request, fn), { route: route as RouteDefinition });
}
