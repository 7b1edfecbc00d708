// TEMPORARY stub (item 7 replaces it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export async function writeOpenApiDocument(dir: string): Promise<string> {
  const path = join(dir, 'openapi.json');
  writeFileSync(path, '{}\n');
  return path;
}
