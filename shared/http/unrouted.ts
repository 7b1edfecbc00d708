import { AppError } from '../errors.js';
import { MAX_LOGGED_PATH_LENGTH, truncated } from '../logger.js';
import type { RouteDefinition } from './route.js';

/** A route path as API Gateway matches it: `{name}` stands for one whole segment. */
function pathPattern(template: string): RegExp {
  const segments = template
    .split('/')
    .map((segment) => (/^\{[^/{}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}$`);
}

/** The methods of the routes whose path template matches `path`, sorted. */
export function allowedMethods(path: string, routes: ReadonlyArray<Pick<RouteDefinition, 'method' | 'path'>>): string[] {
  return [...new Set(routes.filter((route) => pathPattern(route.path).test(path)).map((route) => route.method))].sort();
}

/**
 * The answer to a request no route matched (the catch-all route, `$default`): 405 METHOD_NOT_ALLOWED with
 * the methods the path takes (`allow`, from allowedMethods) when some route has the path, else 404 NOT_FOUND — in the API's
 * error shape, as every other error, instead of the gateway's own `{"message":"Not Found"}`.
 */
export function unroutedError(method: string, path: string, allow: readonly string[]): AppError {
  const shown = truncated(path, MAX_LOGGED_PATH_LENGTH);
  if (allow.length === 0) return new AppError(404, 'NOT_FOUND', `No route answers ${method} ${shown}.`, { method, path: shown });
  return new AppError(
    405,
    'METHOD_NOT_ALLOWED',
    `${shown} takes ${allow.join(', ')}, not ${method}.`,
    { method, path: shown, allow },
    { Allow: allow.join(', ') },
  );
}
