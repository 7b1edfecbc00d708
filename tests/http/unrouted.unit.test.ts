import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../shared/http/routes.js';
import { allowedMethods, unroutedError } from '../../shared/http/unrouted.js';

describe('a request no route matches (the catch-all)', () => {
  it('finds the methods of a path as API Gateway matches it: a {parameter} is one whole segment', () => {
    expect(allowedMethods('/carts/7', ROUTES)).toEqual(['DELETE', 'GET', 'PUT']);
    expect(allowedMethods('/carts/7/checkout', ROUTES)).toEqual(['POST']);
    // A literal segment and a parameter at the same place: both routes' methods.
    expect(allowedMethods('/products/top', ROUTES)).toEqual(['GET']);
    for (const path of ['/carts', '/carts/', '/carts/7/', '/carts/7/checkout/x', '/nope', '/', '/openapi.json/x', '/openapi_json'])
      expect([path, allowedMethods(path, ROUTES)]).toEqual([path, []]);
  });

  it('is a 404 for a path the API lacks, a 405 with Allow for a method its path does not take', () => {
    expect(unroutedError('GET', '/nope', [])).toMatchObject({ status: 404, code: 'NOT_FOUND', details: { method: 'GET', path: '/nope' } });
    expect(unroutedError('PATCH', '/carts/7', ['DELETE', 'GET', 'PUT'])).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      details: { method: 'PATCH', path: '/carts/7', allow: ['DELETE', 'GET', 'PUT'] },
      headers: { Allow: 'DELETE, GET, PUT' },
    });
  });

  it('echoes at most 200 characters of a path', () => {
    const long = `/${'a'.repeat(5_000)}`;
    const error = unroutedError('GET', long, []);
    expect((error.details as { path: string }).path).toHaveLength(201);
    expect(error.message.length).toBeLessThan(260);
  });
});
