import * as z from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { getAnalyticsSummaryRoute } from '../analytics/routes.js';
import { getLatestBenchmarkRoute } from '../benchmarks/routes.js';
import { checkoutCartRoute, deleteCartRoute, getCartRoute, saveCartRoute } from '../carts/routes.js';
import { getHealthRoute } from '../health/routes.js';
import { createOrderRoute } from '../orders/routes.js';
import { getTopProductsRoute } from '../products/routes.js';
import { buildOpenApi } from './openapi.js';
import { defineRoute, type RouteDefinition } from './route.js';

export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.literal('3.1.0'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
    components: z.record(z.string(), z.unknown()),
  })
  .meta({ title: 'OpenApiDocument' });

export const getOpenApiRoute = defineRoute({
  function: 'getOpenApi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This API description (OpenAPI 3.1)',
  description: 'Generated from the schemas the handlers validate with.',
  tags: ['meta'],
  request: { access: 'public' },
  responses: { 200: { description: 'The OpenAPI 3.1 document.', schema: OpenApiDocumentSchema } },
});

/** Every HTTP route of the API. A function serving a route not listed here fails tests/deploy/openapi.test.ts. */
export const ROUTES: readonly RouteDefinition[] = [
  createOrderRoute,
  getTopProductsRoute,
  saveCartRoute,
  getCartRoute,
  deleteCartRoute,
  checkoutCartRoute,
  getLatestBenchmarkRoute,
  getAnalyticsSummaryRoute,
  getOpenApiRoute,
  getHealthRoute,
];

export function openApiDocument(): Record<string, unknown> {
  return buildOpenApi(ROUTES, {
    title: 'ecommerce-pipeline',
    version: packageJson.version,
    description:
      'Orders on PostgreSQL, best sellers from Redis, carts on MongoDB. Errors always come back as `{"error": {"code", "message", "details"}}`. ' +
      'Authenticated routes take a bearer JWT: a customer may act for themselves, an admin (scope `admin`) for anyone.',
  });
}
