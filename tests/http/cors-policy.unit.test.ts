import { describe, expect, it } from 'vitest';
import corsPolicy from '../../shared/http/cors-policy.json' with { type: 'json' };
import { openApiDocument } from '../../shared/http/routes.js';

/** Response headers a page's script can always read (Fetch's CORS-safelisted response-header names). */
const SAFELISTED = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma']);

type Operation = { responses?: Record<string, { headers?: Record<string, unknown> }> };

describe('the CORS policy', () => {
  it('exposes every response header the API describes, so a shop front on an allowed origin can read it', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, Operation>>;
    const described = new Set<string>();
    for (const operations of Object.values(paths)) {
      for (const operation of Object.values(operations)) {
        for (const response of Object.values(operation.responses ?? {})) {
          for (const name of Object.keys(response.headers ?? {})) described.add(name);
        }
      }
    }
    expect(described.size).toBeGreaterThan(0);
    const exposed = new Set(corsPolicy.exposedResponseHeaders.map((name) => name.toLowerCase()));
    expect([...described].filter((name) => !SAFELISTED.has(name.toLowerCase()) && !exposed.has(name.toLowerCase()))).toEqual([]);
  });
});
