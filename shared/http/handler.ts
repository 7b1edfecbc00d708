import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { createTokenVerifier, ForbiddenError, type Principal } from '../auth/tokens.js';
import { getConfig } from '../config.js';
import { AppError, ValidationError, type ErrorDetail } from '../errors.js';
import { logger } from '../logger.js';
import { errorResponse } from './error-response.js';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Who may call a route:
 * - `public`: anyone (no token needed);
 * - `admin`: a valid token with the admin scope;
 * - `{ customer }`: a valid token whose subject is the customer the request acts for (as returned by
 *   the function, read from the validated request), or an admin.
 */
export type Access =
  | 'public'
  | 'admin'
  | { customer: (request: { body: any; path: any; query: any }) => number };

export interface RouteSchemas {
  body?: z.ZodType;
  path?: z.ZodType;
  query?: z.ZodType;
  access?: Access;
}

type Parsed<S, K extends 'body' | 'path' | 'query'> = S extends Record<K, infer T extends z.ZodType> ? z.output<T> : undefined;

export interface HttpRequest<S extends RouteSchemas> {
  body: Parsed<S, 'body'>;
  path: Parsed<S, 'path'>;
  query: Parsed<S, 'query'>;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  requestId: string;
  /** The authenticated caller; undefined on public routes. */
  principal: Principal | undefined;
  event: APIGatewayProxyEventV2;
}

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResponse = APIGatewayProxyStructuredResultV2;

/** Turns zod issues into `details` naming each bad field (`items.0.quantity`). */
export function validationDetails(where: string, error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

function parsePart(where: string, schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new ValidationError(`Invalid request ${where}.`, validationDetails(where, result.error));
  }
  return result.data;
}

/** Rejects oversized bodies before they are decoded or parsed. */
function bodyLimit(maxBytes: number): middy.MiddlewareObj<HttpEvent> {
  return {
    before: ({ event }) => {
      if (event.body === undefined || event.body === null) return;
      const bytes = event.isBase64Encoded ? Math.floor((event.body.length * 3) / 4) : Buffer.byteLength(event.body);
      if (bytes > maxBytes) {
        throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The request body must be at most ${maxBytes} bytes.`);
      }
    },
  };
}

/** Never lets an error escape: serverless-offline would answer an escaped one with 200 + errorMessage. */
function errorMapper(): middy.MiddlewareObj<HttpEvent, HttpResponse> {
  return {
    onError: (request) => {
      request.response = errorResponse(request.error);
    },
  };
}

/** One access-log line per request: route, status, latency. Never the body or the headers. */
function accessLog(name: string): middy.MiddlewareObj<HttpEvent, HttpResponse> {
  let startedAt = 0;
  const log = (request: middy.Request<HttpEvent, HttpResponse>) => {
    logger.info('request', {
      function: name,
      method: request.event.requestContext?.http?.method,
      route: request.event.routeKey,
      status: request.response?.statusCode,
      latencyMs: Math.round((performance.now() - startedAt) * 100) / 100,
    });
  };
  return {
    before: () => {
      startedAt = performance.now();
    },
    after: log,
    onError: log,
  };
}

/**
 * Builds a thin HTTP Lambda handler: header normalisation, CORS, security headers, body size limit,
 * JSON parsing, schema validation (strict), one error mapping. The function receives typed, validated
 * input and returns `{ statusCode, body, headers }`; bodies are serialised to JSON here.
 */
export function httpHandler<S extends RouteSchemas>(
  name: string,
  schemas: S,
  fn: (request: HttpRequest<S>, context: Context) => Promise<HttpResult>,
) {
  const config = getConfig();
  // Once per container: the HS256 key or the JWKS client (which caches the provider's keys).
  const verifyToken = (schemas.access ?? 'public') === 'public' ? undefined : createTokenVerifier(config.auth);
  const core = async (event: HttpEvent, context: Context): Promise<HttpResponse> => {
    const headers = (event.headers ?? {}) as Record<string, string | undefined>;
    // Authentication first (401), then the admin check (403), then validation (400), then ownership (403).
    const principal = verifyToken ? await verifyToken(headers.authorization) : undefined;
    if (schemas.access === 'admin' && !principal?.isAdmin) throw new ForbiddenError('This route is for administrators.');
    const request = {
      body: parsePart('body', schemas.body, event.body),
      path: parsePart('path', schemas.path, event.pathParameters),
      query: parsePart('query', schemas.query, event.queryStringParameters),
      headers,
      requestId: context.awsRequestId,
      principal,
      event,
    } as HttpRequest<S>;
    if (typeof schemas.access === 'object' && !principal?.isAdmin) {
      const customerId = schemas.access.customer(request);
      if (principal?.customerId !== customerId) {
        throw new ForbiddenError(`This token may not act for customer ${customerId}.`);
      }
    }
    const result = await fn(request, context);
    return {
      statusCode: result.statusCode,
      headers: {
        ...(result.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...result.headers,
      },
      body: result.body === undefined ? '' : JSON.stringify(result.body),
    };
  };

  const handler = middy<HttpEvent, HttpResponse>()
    .use(accessLog(name))
    .use(httpHeaderNormalizer())
    .use(
      httpCors({
        origins: config.cors.allowedOrigins,
        headers: 'Authorization,Content-Type,Idempotency-Key,If-Match',
        exposeHeaders: 'X-Cache,Idempotent-Replayed,ETag,Retry-After',
        maxAge: 600,
      }),
    )
    .use(httpSecurityHeaders())
    .use(errorMapper())
    .use(bodyLimit(MAX_BODY_BYTES));
  if (schemas.body) handler.use(httpJsonBodyParser());
  return handler.handler(core);
}
