import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/getApiDocsAsset.js';
import { httpEvent, lambdaContext } from '../../scripts/lib/lambda-events.js';

/** The API reference's files, in process: the handler holds their text (an esbuild text import; `?raw` under vitest). */
describe('GET /docs/{asset} in process', () => {
  it('serves Swagger UI’s style sheet and script as text, without their source map references', async () => {
    for (const [asset, type, start] of [
      ['swagger-ui.css', /^text\/css/, /^\.swagger-ui|^@charset|^\S/],
      ['swagger-ui-bundle.js', /^text\/javascript/, /^\S/],
    ] as const) {
      const response = await handler(httpEvent({ method: 'GET', path: `/docs/${asset}`, pathParameters: { asset } }), lambdaContext());
      expect(response.statusCode, asset).toBe(200);
      expect(response.headers?.['Content-Type'], asset).toMatch(type);
      expect(response.body!.length, asset).toBeGreaterThan(100_000);
      expect(response.body, asset).toMatch(start);
      expect(response.body, asset).not.toContain('sourceMappingURL');
    }
  });
});
