import * as z from 'zod';
import type { RouteSchemas } from './handler.js';

/**
 * One HTTP route, declared once: the handler validates requests with `request` (routeHandler passes it
 * to httpHandler) and the OpenAPI document (shared/http/openapi.ts) is generated from the very same
 * schemas, plus the documented responses. A route module imports zod and its domain's schemas only — no
 * driver — so the document can be built anywhere (the getOpenApi function, `npm run package`, tests).
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ResponseSpec {
  description: string;
  /** The JSON body (none for 204). */
  schema?: z.ZodType;
  /** Response headers worth documenting: name → description. */
  headers?: Record<string, string>;
}

export interface HeaderSpec {
  name: string;
  description: string;
  required?: boolean;
  schema?: z.ZodType;
}

export interface RouteDefinition<S extends RouteSchemas = RouteSchemas> {
  /** The function in serverless.yml that serves the route. */
  function: string;
  method: Method;
  /** As in serverless.yml's httpApi event: `/carts/{customerId}`. */
  path: string;
  summary: string;
  description: string;
  tags: string[];
  /** What the handler validates (body, path, query) and who may call (access). */
  request: S;
  /**
   * A request that works (on the `npm start` data set): the API reference shows it and its "try it" uses
   * it. Required when the route takes a body, path or query parameters (tests/deploy/openapi test).
   */
  example?: { path?: Record<string, string>; query?: Record<string, string>; body?: unknown };
  /** Request headers the handler reads (Authorization is implied by a non-public access). */
  headers?: HeaderSpec[];
  /** The route's own answers; the errors every route shares are added by the generator. */
  responses: Record<number, ResponseSpec>;
}

export function defineRoute<const S extends RouteSchemas>(route: RouteDefinition<S>): RouteDefinition<S> {
  return route;
}

/** The error envelope every error answer uses (shared/http/error-response.ts). */
export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error: a stable machine-readable code, a message for humans, optional details.' });

/** Amounts are decimal strings with two places ("59.80"), never floats. */
export const Money = z
  .string()
  .regex(/^-?\d+\.\d{2}$/)
  .meta({ description: 'Decimal string with two places, e.g. "59.80".' });

/** ISO 8601 UTC timestamps with milliseconds, as `Date.prototype.toISOString` writes them. */
export const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC.' });

/** Compile-time check that a response schema has exactly the fields of the type the handler returns. */
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
export function assertType<T extends true>(_check?: T): void {}
