/**
 * npm run openapi writes the OpenAPI 3.1 document (generated from the route declarations, shared/http/routes.ts) to a
 * file, or prints it. `npm run package` writes it next to the template: .serverless/openapi.json.
 * serverless-offline and the deployed API serve the same document at GET /openapi.json.
 */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../shared/http/routes.js';
import { exit, parseCommandLine, pathFromCommandLine } from './lib/env.js';

const USAGE = 'usage: npm run openapi -- [file]   (without a file: on stdout)';
const { positionals } = parseCommandLine(USAGE, { options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
if (positionals.length > 1) exit(2, USAGE);
const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
if (positionals[0]) {
  const path = pathFromCommandLine(positionals[0]);
  writeFileSync(path, text);
  console.error(`openapi: wrote ${path}`);
} else {
  process.stdout.write(text);
}
