import * as z from 'zod';
import { ErrorEnvelopeSchema, type RouteDefinition } from './route.js';

/**
 * The OpenAPI 3.1 document, generated from the route declarations (shared/http/route.ts) with
 * `z.toJSONSchema`: the request schemas are the ones the handlers validate with, so the document cannot
 * drift from what the API accepts. There is no hand-written copy.
 */
// biome-ignore lint/suspicious/noExplicitAny: JSON Schema and OpenAPI objects, built and read field by field.
type Json = Record<string, any>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
  license: { name: string; identifier: string };
  contact: { name: string };
  servers: Array<{ url: string; description: string }>;
  /** Every tag a route uses, described. */
  tags: Record<string, string>;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** zod → JSON Schema tweaks shared by every conversion. */
function override(ctx: { zodSchema: unknown; jsonSchema: Json }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; catchall?: { _zod?: { def?: { type?: string } } } } } })._zod?.def;
  // A catch-all that accepts nothing (z.custom(() => false)): unknown fields are refused.
  if (def?.type === 'object' && def.catchall?._zod?.def?.type === 'custom') ctx.jsonSchema.additionalProperties = false;
}

function clean(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** Converts a set of named schemas at once (so shared ones become $refs between components). */
function components(named: Map<z.ZodType, string>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override,
  }) as { schemas: Record<string, Json> };
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, clean(schema)]));
}

/**
 * Query / path parameters: one per property of the object schema. Each is described by what it means
 * once parsed (`limit`: an integer 1–100, default 10) — its output form — unless that form is opaque (a
 * transform), in which case by what is sent (`plans`: "true" or "false").
 */
function parameters(schema: z.ZodType | undefined, location: 'query' | 'path'): Json[] {
  if (!schema) return [];
  const input = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override }) as Json;
  const output = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', override }) as Json;
  const required = new Set<string>(input.required ?? []);
  return Object.entries((input.properties ?? {}) as Record<string, Json>).map(([name, sent]) => {
    const parsed = (output.properties?.[name] ?? {}) as Json;
    const opaque = !('type' in parsed) && !('enum' in parsed) && !('anyOf' in parsed) && !('const' in parsed);
    const property = opaque ? { ...sent, ...('default' in parsed ? { default: parsed.default } : {}) } : parsed;
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** Sent with every answer of the functions (a client's own X-Correlation-Id, or the request id). */
const CORRELATION_HEADER = { 'X-Correlation-Id': { $ref: '#/components/headers/X-Correlation-Id' } };

const errorResponse = (description: string, headers?: Record<string, string>): Json => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  headers: {
    ...CORRELATION_HEADER,
    ...Object.fromEntries(Object.entries(headers ?? {}).map(([name, text]) => [name, { description: text, schema: { type: 'string' } }])),
  },
});

/** The body of an answer API Gateway gives itself, without running the function (a throttle's 429). */
const GATEWAY_ERROR: Json = {
  type: 'object',
  properties: { message: { type: 'string', examples: ['Too Many Requests'] } },
  required: ['message'],
};

/** The answers every route can give, whatever it does (the HTTP stack in shared/http/handler.ts). */
function commonResponses(route: RouteDefinition): Record<string, Json> {
  const responses: Record<string, Json> = {
    400: errorResponse('VALIDATION_ERROR: the request does not match this description; `details` names each bad field.'),
    500: errorResponse('INTERNAL_ERROR: an unexpected error (logged; no internals in the answer).'),
    503: errorResponse('A store is unavailable or the request took too long (DATABASE_UNAVAILABLE, DATABASE_BUSY, TIMEOUT, …); retry.', {
      'Retry-After': 'Seconds to wait before retrying.',
    }),
  };
  if ((route.request.access ?? 'public') !== 'public') {
    responses[401] = errorResponse('UNAUTHORIZED: no bearer token, or an invalid or expired one.', {
      'WWW-Authenticate': 'Bearer challenge naming the problem.',
    });
    if (route.request.access !== 'signed-in') {
      responses[403] = errorResponse(
        route.request.access === 'admin'
          ? 'FORBIDDEN: the token lacks the admin scope.'
          : 'FORBIDDEN: the token acts for another customer (admins may act for any).',
      );
    }
  }
  // The body limit holds on every route, one that takes no body included.
  responses[413] = errorResponse('PAYLOAD_TOO_LARGE: the body is over 64 KB.');
  if (route.request.body) responses[415] = errorResponse('UNSUPPORTED_MEDIA_TYPE: the body must be application/json.');
  responses[429] = {
    description:
      'Too many requests: API Gateway’s throttle, before the function runs, so in its own body (`{"message": "Too Many Requests"}`); retry with backoff.',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/GatewayError' } } },
  };
  return responses;
}

export function buildOpenApi(routes: readonly RouteDefinition[], info: OpenApiInfo): Json {
  const requests = new Map<z.ZodType, string>();
  const responses = new Map<z.ZodType, string>([[ErrorEnvelopeSchema, 'Error']]);
  const responseName = (schema: z.ZodType, fallback: string) => {
    const existing = responses.get(schema);
    if (existing) return existing;
    const described = (z.globalRegistry.get(schema) as { title?: string } | undefined)?.title;
    const name = described && ![...responses.values()].includes(described) ? described : fallback;
    responses.set(schema, name);
    return name;
  };

  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const operationId = route.function;
    const operation: Json = {
      operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security: (route.request.access ?? 'public') === 'public' ? [] : [{ bearerAuth: [] }],
    };
    // A parameter is described by what it means once parsed (an integer id), so its example is too.
    const example = (location: 'path' | 'query') => (param: Json) => {
      const value = route.example?.[location]?.[param.name];
      if (value === undefined) return param;
      const type = param.schema?.type;
      return { ...param, example: type === 'integer' || type === 'number' ? Number(value) : type === 'boolean' ? value === 'true' : value };
    };
    const params = [
      ...parameters(route.request.path, 'path').map(example('path')),
      ...parameters(route.request.query, 'query').map(example('query')),
      ...(route.headers ?? []).map((header) => ({
        name: header.name,
        in: 'header',
        required: header.required ?? false,
        description: header.description,
        schema: clean(z.toJSONSchema(header.schema ?? z.string(), { io: 'input', unrepresentable: 'any' }) as Json),
      })),
    ];
    if (params.length > 0) operation.parameters = params;
    if (route.request.body) {
      const name = `${pascal(operationId)}Request`;
      requests.set(route.request.body, name);
      operation.requestBody = {
        required: true,
        content: {
          'application/json': {
            schema: { $ref: `#/components/schemas/${name}` },
            ...(route.example?.body === undefined ? {} : { example: route.example.body }),
          },
        },
      };
    }
    const answers: Record<string, Json> = commonResponses(route);
    for (const [status, spec] of Object.entries(route.responses)) {
      const headers = {
        headers: {
          ...CORRELATION_HEADER,
          ...Object.fromEntries(
            Object.entries(spec.headers ?? {}).map(([name, text]) => [name, { description: text, schema: { type: 'string' } }]),
          ),
        },
      };
      if (!spec.schema) {
        answers[status] = { description: spec.description, ...headers };
        continue;
      }
      const name = spec.schema === ErrorEnvelopeSchema ? 'Error' : responseName(spec.schema, `${pascal(operationId)}${status}Response`);
      const schema = { $ref: `#/components/schemas/${name}` };
      answers[status] = {
        description: spec.description,
        ...headers,
        // A route's own 503 body (the health report) is not the only one: the stack's backstop answers 503 TIMEOUT.
        content: {
          'application/json': {
            schema: status === '503' && name !== 'Error' ? { oneOf: [schema, { $ref: '#/components/schemas/Error' }] } : schema,
          },
        },
      };
    }
    operation.responses = Object.fromEntries(Object.entries(answers).sort(([a], [b]) => Number(a) - Number(b)));
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }

  const requestSchemas = components(requests, 'input');
  const responseSchemas = components(responses, 'output');
  for (const id of Object.keys(requestSchemas)) {
    if (id in responseSchemas) throw new Error(`OpenAPI: component ${id} is both a request and a response schema`);
  }
  const used = new Set(routes.flatMap((route) => route.tags));
  const undescribed = [...used].filter((tag) => !(tag in info.tags));
  if (undescribed.length > 0) throw new Error(`OpenAPI: tags without a description: ${undescribed.join(', ')}`);
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description, license: info.license, contact: info.contact },
    servers: info.servers,
    tags: Object.entries(info.tags)
      .filter(([name]) => used.has(name))
      .map(([name, description]) => ({ name, description })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: Object.fromEntries(
        Object.entries({ ...requestSchemas, ...responseSchemas, GatewayError: GATEWAY_ERROR }).sort(([a], [b]) => a.localeCompare(b)),
      ),
      headers: {
        'X-Correlation-Id': {
          description: 'The id every log line of this request carries: the X-Correlation-Id sent, or the request id.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A JWT from the identity provider (locally: `npm run --silent token`).',
        },
      },
    },
  };
}
