/**
 * npm run openapi -- [file]
 *
 * Writes the OpenAPI 3.1 document (generated from the route declarations, shared/http/routes.ts) to a
 * file, or prints it. `npm run package` writes it next to the template: .serverless/openapi.json.
 * serverless-offline and the deployed API serve the same document at GET /openapi.json.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openApiDocument } from '../shared/http/routes.js';

export async function writeOpenApiDocument(directory: string): Promise<string> {
  const path = join(directory, 'openapi.json');
  writeFileSync(path, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  return path;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const target = process.argv[2];
  const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
  if (target) {
    const path = resolve(process.env.INIT_CWD ?? process.cwd(), target);
    writeFileSync(path, text);
    console.error(`openapi: wrote ${path}`);
  } else {
    process.stdout.write(text);
  }
}
