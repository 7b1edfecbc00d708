/**
 * node --import tsx bench/lib/child.ts <module>[:<export>] <context.json> <output.json> [arg]
 * Runs `export(ctx, arg)` of bench/<module>.ts (default export name: run) in this fresh process and writes
 * what it returns (see runChild in process.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { exit } from '../../scripts/lib/env.js';
import type { SuiteContext } from './context.js';

const [target, contextFile, outputFile, arg] = process.argv.slice(2);
if (!target || !contextFile || !outputFile) exit(2, 'usage: bench/lib/child.ts <module>[:<export>] <context.json> <output.json> [arg]');
// Node exits with 13 when the event loop empties while the top-level await below is still pending:
// a promise that can never settle (e.g. a driver that lost a connection without rejecting the query).
process.on('exit', (code) => {
  if (code === 13) console.error(`bench ${target}: it never settled (the event loop emptied while it was pending)`);
});

try {
  const [module, name = 'run'] = target.split(':');
  const ctx = JSON.parse(readFileSync(contextFile, 'utf8')) as SuiteContext;
  const fn = ((await import(`../${module}.js`)) as Record<string, (ctx: SuiteContext, arg?: string) => Promise<unknown>>)[name];
  if (!fn) throw new Error(`bench/${module}.ts exports no ${name}()`);
  writeFileSync(outputFile, JSON.stringify(await fn(ctx, arg)));
  process.exit(0);
} catch (error) {
  writeFileSync(outputFile, JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  exit(1, error instanceof Error ? (error.stack ?? error.message) : String(error));
}
