import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { createTokenVerifier, ForbiddenError, type Principal } from '../auth/tokens.js';
import { discardClientsAfterTimeout } from '../clients/abandon.js';
import { getConfig } from '../config.js';
import { AppError, type ErrorDetail, ServiceUnavailableError, ValidationError } from '../errors.js';
import { describeError, logger, MAX_LOGGED_PATH_LENGTH, truncated } from '../logger.js';
import { countError, publishMetrics } from '../metrics.js';
import corsPolicy from './cors-policy.json' with { type: 'json' };
import { renderError, toAppError, unsupportedMediaType } from './error-response.js';
import { correlationIdOf } from './headers.js';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Answer 503 this long before the Lambda timeout if the function has not finished (a dependency that
 * stopped answering without closing the connection): the client gets a clean, retryable error instead
 * of API Gateway's bare 503/504 or serverless-offline's 200 + errorMessage.
 */
export const TIMEOUT_MARGIN_MS = 1_000;

/** Milliseconds left before the stack answers 503 TIMEOUT for this invocation (its backstop). */
export function timeLeftBeforeAnswer(context: Pick<Context, 'getRemainingTimeInMillis'>): () => number {
  return () => context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS;
}

/**
 * Who may call a route:
 * - `public`: anyone (no token needed);
 * - `signed-in`: any valid token; the function decides what the caller may see (an order is visible to
 *   its customer and to admins, and to anyone else answers as if it did not exist);
 * - `admin`: a valid token with the admin scope;
 * - `{ customer }`: a valid token whose subject is the customer the request acts for (as returned by
 *   the function, read from the validated request), or an admin.
 */
// biome-ignore lint/suspicious/noExplicitAny: each route types its own request; the stack checks the result only.
export type Access = 'public' | 'signed-in' | 'admin' | { customer: (request: { body: any; path: any; query: any }) => number };

export interface RouteSchemas {
  body?: z.ZodType;
  path?: z.ZodType;
  query?: z.ZodType;
  access?: Access;
  /**
   * The Content-Security-Policy of a route that serves a page (the API reference) instead of JSON, whose
   * policy is `default-src 'none'`: what the page may load, and from where (always our own origin).
   */
  contentSecurityPolicy?: Record<string, string | false>;
  /**
   * Parts of the request the route takes whatever they hold, unread: a page's or a file's query string (a
   * campaign tag, a cache buster — as a static web server would), anything sent to the catch-all route.
   * Every other route refuses a part it does not declare.
   */
  ignored?: ReadonlyArray<'query' | 'body'>;
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
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (a page, a script, a style sheet), with the Content-Type given in `headers`. */
  text?: string;
  headers?: Record<string, string>;
}

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResponse = APIGatewayProxyStructuredResultV2;

/** At most this many problems are listed in one 400 (a 64 KB body of unknown keys must not make a 500 KB answer). */
export const MAX_VALIDATION_DETAILS = 100;

/** Turns zod issues into `details` naming each bad field (`items.0.quantity`). */
export function validationDetails(where: string, error: z.ZodError): ErrorDetail[] {
  const details: ErrorDetail[] = error.issues.slice(0, MAX_VALIDATION_DETAILS).map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const more = error.issues.length - details.length;
  if (more > 0) details.push({ field: where, message: `${more} more problems not listed` });
  return details;
}

/**
 * API Gateway (and serverless-offline) join the values of a repeated query parameter with commas, which a
 * schema could take for one value (`attr.colour=red&attr.colour=blue` as the colour "red,blue"). No route
 * takes a parameter twice: the raw query string tells a repeat from a comma, and a repeat is a 400.
 */
function rejectRepeatedQueryParameters(rawQueryString: string | undefined): void {
  if (!rawQueryString) return;
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of new URLSearchParams(rawQueryString).keys()) (seen.has(name) ? repeated : seen).add(name);
  if (repeated.size > 0) {
    throw new ValidationError(
      'Invalid request query.',
      [...repeated].map((name) => ({ field: `query.${name}`, message: 'given more than once' })),
    );
  }
}

const LONE_SURROGATE = /\p{Surrogate}/u;

function parsePart(where: string, schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) {
    // Strict there too: a route that takes no body / query parameters rejects them instead of ignoring them.
    const present =
      typeof value === 'string' ? value.length > 0 : typeof value === 'object' && value !== null && Object.keys(value).length > 0;
    if (present && where !== 'path') {
      throw new ValidationError(`This route takes no request ${where}.`, [{ field: where, message: `not allowed on this route` }]);
    }
    return undefined;
  }
  // A parameter named __proto__ would vanish in validation (assigning that key to an object sets its
  // prototype), and a route that refuses unknown parameters must refuse it too.
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    throw new ValidationError(`Invalid request ${where}.`, [{ field: `${where}.__proto__`, message: 'Unknown parameter.' }]);
  }
  // As in a body (jsonReviver): a direct invocation's parameters were never through a URL decoder, which
  // would have made such a character U+FFFD.
  if (typeof value === 'object' && value !== null) {
    const unpaired = Object.entries(value).filter(
      ([key, text]) => LONE_SURROGATE.test(key) || (typeof text === 'string' && LONE_SURROGATE.test(text)),
    );
    if (unpaired.length > 0) {
      throw new ValidationError(
        `Invalid request ${where}.`,
        unpaired.map(([key]) => ({ field: `${where}.${key}`, message: 'holds a lone UTF-16 surrogate, which no store keeps intact' })),
      );
    }
  }
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
      const bytes = Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
      if (bytes > maxBytes) {
        throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The request body must be at most ${maxBytes} bytes.`);
      }
    },
  };
}

const invalidEncoding = () =>
  new ValidationError('The request body must be valid UTF-8.', [{ field: 'body', message: 'must be valid UTF-8' }]);

/**
 * Rejects bodies that are not valid UTF-8. A base64 body (binary passthrough) is decoded strictly; a text
 * body has already been decoded by API Gateway / serverless-offline, which turn invalid bytes into U+FFFD,
 * so a literal U+FFFD in the raw text is refused as the trace of invalid input (a client that really
 * means U+FFFD can send the JSON escape `\ufffd`). Lone surrogates written as JSON escapes are refused
 * by the parser's reviver (jsonReviver).
 */
function utf8Body(): middy.MiddlewareObj<HttpEvent> {
  const strict = new TextDecoder('utf-8', { fatal: true });
  return {
    before: ({ event }) => {
      if (event.body === undefined || event.body === null) return;
      if (event.isBase64Encoded) {
        try {
          strict.decode(Buffer.from(event.body, 'base64'));
        } catch {
          throw invalidEncoding();
        }
      } else if (event.body.includes('\uFFFD')) {
        throw invalidEncoding();
      }
    },
  };
}

/** `application/json` or a `+json` type such as `application/problem+json`, in any case. */
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json$/i;

/**
 * A body must be JSON (415), checked before its bytes: the media type is what comes before the first `;`,
 * spaces around it allowed (RFC 9110, 8.3.1), parameters such as charset ignored.
 */
function jsonContentType(): middy.MiddlewareObj<HttpEvent> {
  return {
    before: ({ event }) => {
      const header = event.headers?.['content-type'] ?? event.headers?.['Content-Type'] ?? '';
      if (!JSON_MEDIA_TYPE.test(header.split(';', 1)[0]!.trim())) {
        throw unsupportedMediaType();
      }
    },
  };
}

/** JSON.parse reviver: no key or string may hold a lone surrogate (`"\ud800"`), which no store keeps intact. */
function jsonReviver(key: string, value: unknown): unknown {
  if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
    throw new Error('the body holds a lone UTF-16 surrogate');
  }
  return value;
}

/** Per-invocation facts the access log reports (keyed by the event object, which lives as long as the invocation). */
interface Invocation {
  startedAt: number;
  correlationId?: string;
  principal?: Principal;
  appError?: AppError;
  cause?: unknown;
}

const invocations = new WeakMap<object, Invocation>();

/** Never lets an error escape: serverless-offline would answer an escaped one with 200 + errorMessage. */
function errorMapper(): middy.MiddlewareObj<HttpEvent, HttpResponse> {
  return {
    onError: (request) => {
      const appError = toAppError(request.error);
      const invocation = invocations.get(request.event);
      if (invocation) {
        invocation.appError = appError;
        invocation.cause = request.error;
      }
      request.response = renderError(appError);
    },
  };
}

/**
 * Responses that must not be stored by a browser or a shared cache: everything but a public route's
 * success (per-customer carts and orders, admin data, errors — a cached 503 would outlive the outage).
 */
function noStore(isPublic: boolean): middy.MiddlewareObj<HttpEvent, HttpResponse> {
  const apply = (request: middy.Request<HttpEvent, HttpResponse>) => {
    const response = request.response;
    if (!response || typeof response !== 'object') return;
    const status = response.statusCode ?? 200;
    if (isPublic && status < 400) return;
    const headers = (response.headers ??= {});
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'cache-control')) headers['Cache-Control'] = 'no-store';
  };
  return { after: apply, onError: apply };
}

function outcome(status: number): 'success' | 'rejected' | 'denied' | 'failed' {
  if (status >= 500) return 'failed';
  if (status === 401 || status === 403) return 'denied';
  if (status >= 400) return 'rejected';
  return 'success';
}

/**
 * Exactly one log line per request (the Powertools logger adds the Lambda request id, function name and
 * cold start): route and path, status, outcome, latency, who called (token subject, never the token) and, for an
 * error, its code — plus, for a 5xx an error caused, that error's name, message and stack. Never the body, the
 * headers or the query string.
 */
function accessLog(name: string): middy.MiddlewareObj<HttpEvent, HttpResponse> {
  const log = (request: middy.Request<HttpEvent, HttpResponse>) => {
    try {
      const invocation = invocations.get(request.event);
      const status = request.response?.statusCode ?? 500;
      const principal = invocation?.principal;
      const fields = {
        function: name,
        method: request.event.requestContext?.http?.method,
        route: request.event.routeKey,
        // The path names only ids (never the query string, which may carry anything); the catch-all's is
        // whatever a client sent, so at most MAX_LOGGED_PATH_LENGTH characters of it.
        path: truncated(request.event.rawPath, MAX_LOGGED_PATH_LENGTH),
        status,
        outcome: outcome(status),
        latencyMs: invocation ? Math.round((performance.now() - invocation.startedAt) * 100) / 100 : undefined,
        apiRequestId: request.event.requestContext?.requestId,
        caller: principal ? (principal.isAdmin ? 'admin' : 'customer') : 'anonymous',
        ...(principal ? { subject: principal.subject } : {}),
        ...(invocation?.appError ? { code: invocation.appError.code } : {}),
      };
      if (invocation?.appError) countError(status, invocation.appError.code);
      publishMetrics(name);
      if (status >= 500 && invocation?.appError) {
        logger.error('request failed', { ...fields, error: describeError(invocation.cause, { stack: true }) });
      } else if (status >= 500) {
        // A 5xx the function chose (GET /health reporting a store down): nothing threw, its body says why.
        logger.warn('request answered unavailable', fields);
      } else if (status === 401 || status === 403) {
        logger.warn('request denied', fields);
      } else if (status >= 400) {
        logger.info('request rejected', fields);
      } else {
        logger.info('request', fields);
      }
    } catch {
      // Logging must never turn an answer into an escaped error.
    }
  };
  // Every line of the request (the domain's too) carries its correlation id, and the answer returns it.
  const correlate = (request: middy.Request<HttpEvent, HttpResponse>) => {
    const correlationId = invocations.get(request.event)?.correlationId;
    if (correlationId && request.response) request.response.headers = { ...request.response.headers, 'X-Correlation-Id': correlationId };
  };
  return {
    before: (request) => {
      // Header names are not normalised yet: this runs first, so that every later line is correlated.
      const headers = Object.fromEntries(Object.entries(request.event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
      const correlationId = correlationIdOf(headers, request.event.requestContext?.requestId);
      invocations.set(request.event, { startedAt: performance.now(), ...(correlationId ? { correlationId } : {}) });
      if (correlationId) logger.appendKeys({ correlationId });
    },
    after: (request) => {
      correlate(request);
      log(request);
    },
    onError: (request) => {
      correlate(request);
      log(request);
    },
  };
}

/**
 * A request answered 503 TIMEOUT may still be running: its work is not cancelled, only its connections are
 * dropped (so it usually fails), and in Lambda it resumes, if ever, during a later invocation of the container.
 * Its end is logged with its own correlation id (a line's correlationId is then the current request's), and
 * whether it ended in an answer or an error: a write sent before the drop may still have been applied.
 */
function logWhenAbandonedEnds(
  name: string,
  abandoned: { work: Promise<HttpResponse>; correlationId: string | undefined; startedAt: number },
) {
  const fields = () => ({
    function: name,
    ...(abandoned.correlationId ? { abandonedCorrelationId: abandoned.correlationId } : {}),
    ms: Math.round(performance.now() - abandoned.startedAt),
  });
  // Logging must never end the process: a throw here would be an unhandled rejection.
  const warn = (message: string, extra: Record<string, unknown>) => {
    try {
      logger.warn(message, { ...fields(), ...extra });
    } catch {}
  };
  abandoned.work.then(
    (response) => warn('abandoned request ended after its 503 TIMEOUT', { outcome: 'answered', status: response.statusCode }),
    (error: unknown) => {
      // A refusal (409 INSUFFICIENT_STOCK…) is an answer, which changed nothing.
      const status = toAppError(error).status;
      if (status < 500) warn('abandoned request ended after its 503 TIMEOUT', { outcome: 'answered', status });
      else
        warn('abandoned request ended after its 503 TIMEOUT (a write sent before its connection was dropped may stand)', {
          outcome: 'failed',
          error: describeError(error),
        });
    },
  );
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
  const allowedOrigins = new Set(config.cors.allowedOrigins.map((origin) => origin.toLowerCase()));
  // Once per container: the HS256 key or the JWKS client (which caches the provider's keys).
  const verifyToken = (schemas.access ?? 'public') === 'public' ? undefined : createTokenVerifier(config.auth);
  const core = async (event: HttpEvent, context: Context): Promise<HttpResponse> => {
    const headers = (event.headers ?? {}) as Record<string, string | undefined>;
    // After the middlewares' checks of the body's bytes (413 size, 415 type, 400 malformed JSON or UTF-8), which
    // read no credentials: authentication (401), then the admin check (403), then validation (400), then ownership (403).
    const principal = verifyToken ? await verifyToken(headers.authorization) : undefined;
    const invocation = invocations.get(event);
    if (invocation && principal) invocation.principal = principal;
    if (schemas.access === 'admin' && !principal?.isAdmin) throw new ForbiddenError('This route is for administrators.');
    const ignored = new Set(schemas.ignored);
    if (!ignored.has('query')) rejectRepeatedQueryParameters(event.rawQueryString);
    const request = {
      body: ignored.has('body') ? undefined : parsePart('body', schemas.body, event.body),
      path: parsePart('path', schemas.path, event.pathParameters),
      query: ignored.has('query') ? undefined : parsePart('query', schemas.query, event.queryStringParameters),
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
      body: result.text ?? (result.body === undefined ? '' : JSON.stringify(result.body)),
    };
  };

  // middy aborts `signal` when its backstop answers 503 TIMEOUT: the work of this invocation is abandoned then.
  const tracked = (event: HttpEvent, context: Context, { signal }: { signal: AbortSignal }): Promise<HttpResponse> => {
    const work = core(event, context);
    const abandoned = { work, correlationId: invocations.get(event)?.correlationId, startedAt: performance.now() };
    signal.addEventListener('abort', () => logWhenAbandonedEnds(name, abandoned), { once: true });
    return work;
  };

  const handler = middy<HttpEvent, HttpResponse>({
    timeoutEarlyInMillis: TIMEOUT_MARGIN_MS,
    timeoutEarlyResponse: () => {
      discardClientsAfterTimeout();
      throw new ServiceUnavailableError('TIMEOUT', 'The request took too long; retry shortly.');
    },
  })
    // Request id, function name, cold start on every line; never the event (logEvent: false even if
    // POWERTOOLS_LOGGER_LOG_EVENT is set: the event holds the Authorization header and the body).
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(accessLog(name))
    .use(httpHeaderNormalizer())
    .use(
      httpCors({
        origins: config.cors.allowedOrigins,
        // Exact match against the allow-list (middy's default normalises the incoming origin first, so
        // "http://a.example/" or "HTTP://A.EXAMPLE" would be answered as if they were "http://a.example").
        getOrigin: (incoming: string | undefined) => {
          if (allowedOrigins.has('*')) return '*';
          return incoming !== undefined && allowedOrigins.has(incoming) ? incoming : null;
        },
        // The same policy API Gateway answers preflights with (scripts/serverless/http-api-cors.cjs).
        methods: corsPolicy.allowedMethods.join(','),
        headers: corsPolicy.allowedHeaders.join(','),
        exposeHeaders: corsPolicy.exposedResponseHeaders.join(','),
        maxAge: corsPolicy.maxAge,
      }),
    )
    .use(
      httpSecurityHeaders({
        // A JSON API: nothing may be loaded, framed or run in its name (the middy default adds
        // report-sample/report-to directives meant for HTML pages). A page route names its own policy.
        contentSecurityPolicy: { ...(schemas.contentSecurityPolicy ?? { 'default-src': "'none'" }), 'report-to': '' },
      }),
    )
    .use(noStore((schemas.access ?? 'public') === 'public'))
    .use(errorMapper())
    .use(bodyLimit(MAX_BODY_BYTES));
  if (schemas.body) {
    handler
      .use(jsonContentType())
      .use(utf8Body())
      .use(httpJsonBodyParser({ reviver: jsonReviver, disableContentTypeCheck: true }));
  }
  return handler.handler(tracked);
}
