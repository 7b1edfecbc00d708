import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_LIMITS, AttributesSchema } from '../../shared/carts/schemas.js';
import { openApiDocument } from '../../shared/http/routes.js';
import { IdempotencyKeySchema } from '../../shared/orders/schemas.js';

/**
 * What the OpenAPI document promises a client, against what the handlers' own schemas and HTTP stack do: a
 * request the document allows must not be refused, and an answer the stack can give must be declared.
 */
const document = openApiDocument() as any;
const operations = Object.entries(
  document.paths as Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>,
).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, ...operation })));
const headerParameter = (path: string, method: string, name: string) =>
  (document.paths[path][method].parameters as Array<{ name: string; in: string; schema: { pattern?: string; enum?: string[] } }>).find(
    (parameter) => parameter.in === 'header' && parameter.name === name,
  );

describe('the OpenAPI document against the handlers', () => {
  it('an Idempotency-Key matches the published pattern exactly when the handlers accept it (POST /orders and checkout)', () => {
    for (const [path, method] of [
      ['/orders', 'post'],
      ['/carts/{customerId}/checkout', 'post'],
    ] as const) {
      const pattern = headerParameter(path, method, 'Idempotency-Key')?.schema.pattern;
      expect(pattern, `${method} ${path}`).toBeDefined();
      const published = new RegExp(pattern!, 'u');
      const agrees = (key: string) => {
        expect(published.test(key), `${JSON.stringify(key)} on ${method} ${path}`).toBe(IdempotencyKeySchema.safeParse(key).success);
      };
      for (const key of ['order-1', 'cart:web:42', 'order,1', 'cart:', 'Cart:x', 'x'.repeat(128), 'x'.repeat(129), '', 'a b', 'é'])
        agrees(key);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 140 }),
            fc.string({ unit: fc.constantFrom('c', 'a', 'r', 't', ':', ',', 'x', ' '), maxLength: 12 }),
          ),
          (key) => agrees(key),
        ),
      );
    }
  });

  it('a cart line’s attributes are published as the bounded object the handlers accept, not as any JSON', () => {
    for (const name of ['SaveCartRequest', 'Cart']) {
      const attributes = document.components.schemas[name].properties.items.items.properties.attributes;
      expect(attributes, name).toMatchObject({
        type: 'object',
        maxProperties: ATTRIBUTE_LIMITS.maxKeys,
        propertyNames: { minLength: 1, maxLength: ATTRIBUTE_LIMITS.maxKeyLength },
      });
      const keyPattern = new RegExp(attributes.propertyNames.pattern, 'u');
      for (const key of ['colour', 'gift-wrap', 'size_EU']) {
        expect(keyPattern.test(key), key).toBe(true);
        expect(AttributesSchema.safeParse({ [key]: 1 }).success, key).toBe(true);
      }
      for (const key of ['$set', 'a.b']) {
        expect(keyPattern.test(key), key).toBe(false);
        expect(AttributesSchema.safeParse({ [key]: 1 }).success, key).toBe(false);
      }
      expect(attributes.description).toContain(`${ATTRIBUTE_LIMITS.maxDepth} levels`);
    }
    expect(AttributesSchema.safeParse('gift-wrap').success).toBe(false);
  });

  it('If-None-Match is published as the one value the handlers accept: *', () => {
    expect(headerParameter('/carts/{customerId}', 'put', 'If-None-Match')?.schema).toMatchObject({ type: 'string', enum: ['*'] });
  });

  it('every operation declares 413 (the body limit applies to every route) and 429 (API Gateway’s throttle, in its own body)', () => {
    for (const { path, method, responses } of operations) {
      expect(Object.keys(responses), `${method} ${path}`).toEqual(expect.arrayContaining(['413', '429']));
      expect(responses['429'], `${method} ${path}`).toMatchObject({
        content: { 'application/json': { schema: { $ref: '#/components/schemas/GatewayError' } } },
      });
    }
    expect(document.components.schemas.GatewayError).toMatchObject({ type: 'object', required: ['message'] });
  });

  it('every answer declares the X-Correlation-Id the stack sends with it', () => {
    for (const { path, method, responses } of operations) {
      for (const [status, response] of Object.entries(responses)) {
        if (status === '429') continue; // API Gateway's own answer: the function never ran
        expect((response as { headers?: Record<string, unknown> }).headers, `${method} ${path} ${status}`).toHaveProperty(
          'X-Correlation-Id',
        );
      }
    }
  });

  it('GET /health’s 503 may be the report or the stack’s own TIMEOUT error', () => {
    const schema = document.paths['/health'].get.responses['503'].content['application/json'].schema;
    expect(schema.oneOf ?? schema.anyOf).toEqual(
      expect.arrayContaining([{ $ref: '#/components/schemas/Health' }, { $ref: '#/components/schemas/Error' }]),
    );
  });
});
